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

/// A validated `must_contain` list; empty accepts everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MustContain {
    needles: Vec<String>,
}

impl MustContain {
    /// Parses the request's items. Errors (the message names the item) when an item has no
    /// text, or when there are more than [`MAX_NEEDLES`] needles or one is longer than
    /// [`MAX_NEEDLE_CHARS`].
    pub fn parse(items: &[String]) -> Result<MustContain, KeywordError> {
        // raw items are bounded too: 10,000 copies of one term are 10,000 items to read
        if items.len() > MAX_NEEDLES {
            return Err(KeywordError::InvalidArgument(format!(
                "must_contain has {} items, above the limit of {MAX_NEEDLES}; give each term once",
                items.len()
            )));
        }
        let mut needles: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
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
                if !needles.contains(&p.text) {
                    needles.push(p.text);
                }
            }
        }
        if needles.len() > MAX_NEEDLES {
            return Err(KeywordError::InvalidArgument(format!(
                "must_contain has {} terms, above the limit of {MAX_NEEDLES}",
                needles.len()
            )));
        }
        Ok(MustContain { needles })
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// The needles, simplified, without duplicates, in request order.
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// True when `simplified_text` contains every needle.
    pub fn matches(&self, simplified_text: &str) -> bool {
        self.needles.iter().all(|n| simplified_text.contains(n.as_str()))
    }

    /// Character spans of every occurrence of every needle in `simplified_text`, merged.
    pub fn spans(&self, simplified_text: &str) -> Vec<super::Span> {
        let mut spans = Vec::new();
        for needle in &self.needles {
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
}
