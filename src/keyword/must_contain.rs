//! `must_contain`: terms or quoted phrases that every hit's text must contain verbatim.
//!
//! Each item is split like a query ([`super::lexer`]): bare words separated by whitespace are
//! separate needles, a quoted phrase is one needle (inner spaces kept). Needles and texts are
//! compared in simplified script ([`crate::corpus::to_simplified`] on the needle; the caller
//! passes the paragraph's simplified text), as exact, case-sensitive substrings: no
//! segmentation, no stemming, so 两业融合 matches inside 推动两业融合发展 and traditional
//! 專精特新 matches simplified 专精特新.

use super::lexer::split_pieces;
use super::KeywordError;
use crate::corpus::to_simplified;

/// Most `must_contain` needles per request.
pub const MAX_NEEDLES: usize = 16;
/// Longest needle, in characters.
pub const MAX_NEEDLE_CHARS: usize = 100;

/// A validated `must_contain` list; empty accepts everything. Each needle is a group of
/// alternatives (one unless a glossary bridged it): a text passes when it holds one of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MustContain {
    groups: Vec<Vec<String>>,
}

impl MustContain {
    /// Parses the request's items. Errors (the message names the item) when an item has no
    /// text, or when there are more than [`MAX_NEEDLES`] needles or one is longer than
    /// [`MAX_NEEDLE_CHARS`].
    pub fn parse(items: &[String]) -> Result<MustContain, KeywordError> {
        Self::parse_bridged(items, |_| Vec::new())
    }

    /// Like [`MustContain::parse`], but an item that `bridge` knows as a whole (a glossary
    /// phrase, quoted or not) is one needle that also accepts the other-language terms `bridge`
    /// returns for it.
    pub fn parse_bridged(items: &[String], bridge: impl Fn(&str) -> Vec<String>) -> Result<MustContain, KeywordError> {
        // raw items are bounded too: 10,000 copies of one term are 10,000 items to read
        if items.len() > MAX_NEEDLES {
            return Err(KeywordError::InvalidArgument(format!(
                "must_contain has {} items, above the limit of {MAX_NEEDLES}; give each term once",
                items.len()
            )));
        }
        let mut groups: Vec<Vec<String>> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let whole: String = to_simplified(item).chars().filter(|c| !super::lexer::is_quote(*c)).collect();
            let whole = whole.trim();
            let others = if whole.is_empty() { Vec::new() } else { bridge(whole) };
            if !others.is_empty() {
                let mut group = vec![whole.to_string()];
                group.extend(
                    others.into_iter().map(|o| to_simplified(&o)).filter(|o| !o.is_empty() && o.chars().count() <= MAX_NEEDLE_CHARS),
                );
                group.dedup();
                if !groups.contains(&group) {
                    groups.push(group);
                }
                continue;
            }
            let pieces = split_pieces(&to_simplified(item));
            if pieces.is_empty() {
                return Err(KeywordError::InvalidArgument(format!("must_contain[{i}] is empty; give a term or a quoted phrase")));
            }
            for p in pieces {
                if p.text.chars().count() > MAX_NEEDLE_CHARS {
                    return Err(KeywordError::InvalidArgument(format!(
                        "must_contain[{i}] has a term of {} characters, above the limit of {MAX_NEEDLE_CHARS}",
                        p.text.chars().count()
                    )));
                }
                let group = vec![p.text];
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
        }
        if groups.len() > MAX_NEEDLES {
            return Err(KeywordError::InvalidArgument(format!(
                "must_contain has {} terms, above the limit of {MAX_NEEDLES}",
                groups.len()
            )));
        }
        Ok(MustContain { groups })
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The needles, simplified, without duplicates, in request order: each a group of
    /// alternatives, of which a text must hold one.
    pub fn groups(&self) -> &[Vec<String>] {
        &self.groups
    }

    /// The first alternative of each needle (the text the caller wrote).
    pub fn needles(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g[0].as_str()).collect()
    }

    /// True when `simplified_text` contains one alternative of every needle.
    pub fn matches(&self, simplified_text: &str) -> bool {
        self.groups.iter().all(|g| g.iter().any(|n| simplified_text.contains(n.as_str())))
    }

    /// Character spans of every occurrence of every alternative in `simplified_text`, merged.
    pub fn spans(&self, simplified_text: &str) -> Vec<super::Span> {
        let mut spans = Vec::new();
        for needle in self.groups.iter().flatten() {
            let len = needle.chars().count() as u32;
            for (byte, _) in simplified_text.match_indices(needle.as_str()) {
                let start = simplified_text[..byte].chars().count() as u32;
                spans.push(super::Span { start, end: start + len });
            }
        }
        super::highlight::merge_spans(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mc(items: &[&str]) -> Result<MustContain, KeywordError> {
        MustContain::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn traditional_needles_match_simplified_text() {
        let m = mc(&["專精特新", "“小巨人”企業"]).unwrap();
        assert_eq!(m.needles(), ["专精特新", "小巨人", "企业"]);
        assert!(m.matches("培育专精特新“小巨人”企业"));
        assert!(!m.matches("培育专精特新中小企业"));
        assert!(MustContain::default().matches("anything") && MustContain::default().is_empty());
    }

    #[test]
    fn quoted_phrases_keep_spaces_and_match_exactly() {
        let m = mc(&["\"digital economy\""]).unwrap();
        assert_eq!(m.needles(), ["digital economy"]);
        assert!(m.matches("the digital economy grows"));
        assert!(!m.matches("digital and economy"));
        assert!(!m.matches("Digital Economy"));
    }

    #[test]
    fn spans_are_characters() {
        let m = mc(&["融合"]).unwrap();
        let text = "数实融合与两业融合";
        let s = m.spans(text);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].start, s[0].end, s[1].start, s[1].end), (2, 4, 7, 9));
    }

    #[test]
    fn bad_items() {
        for items in [vec![" "], vec!["\"\""], vec!["ok", ""]] {
            let err = mc(&items).unwrap_err().to_string();
            assert!(err.contains("empty"), "{err}");
        }
        let long = "长".repeat(MAX_NEEDLE_CHARS + 1);
        assert!(mc(&[&long]).unwrap_err().to_string().contains("limit"));
        let many: Vec<String> = (0..MAX_NEEDLES + 1).map(|i| format!("t{i}")).collect();
        assert!(MustContain::parse(&many).is_err());
        let same: Vec<String> = vec!["同一".into(); 10_000];
        let err = MustContain::parse(&same).unwrap_err().to_string();
        assert!(err.contains("10000 items") && err.contains("give each term once"), "{err}");
        // Syntax characters are text, not errors.
        assert_eq!(mc(&["a*(b:"]).unwrap().needles(), ["a*(b:"]);
    }

    #[test]
    fn a_bridged_item_accepts_its_other_language_terms() {
        let bridge = |t: &str| if t == "supply-side structural reform" { vec!["供給側結構性改革".to_string()] } else { Vec::new() };
        let items = ["\"supply-side structural reform\"".to_string(), "钢铁 去产能".to_string()];
        let m = MustContain::parse_bridged(&items, bridge).unwrap();
        assert_eq!(m.groups()[0], ["supply-side structural reform", "供给侧结构性改革"]);
        assert_eq!(m.needles(), ["supply-side structural reform", "钢铁", "去产能"]);
        assert!(m.matches("推进供给侧结构性改革，钢铁行业去产能"));
        assert!(m.matches("supply-side structural reform: 钢铁去产能"));
        assert!(!m.matches("推进供给侧结构性改革"), "the other needles still apply");
        assert_eq!(m.spans("推进供给侧结构性改革").len(), 1);
        // unbridged items split as usual
        assert_eq!(MustContain::parse_bridged(&["supply side".to_string()], bridge).unwrap().needles(), ["supply", "side"]);
    }
}
