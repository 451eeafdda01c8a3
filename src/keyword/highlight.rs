//! Highlight spans: where a keyword query's terms occur in a text, as character offsets.

use super::analyzer::{JiebaTokenizer, TermFilter};
use super::query::KeywordQuery;

/// A highlighted range of a text, in characters (Unicode scalar values), end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// First character.
    pub start: u32,
    /// One past the last character.
    pub end: u32,
}

/// Merges overlapping and touching spans into a sorted list of disjoint spans (so the words
/// of a matched compound, 粮食 + 饭碗, read as one highlight).
pub fn merge_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// Character spans of `text` (simplified script, as indexed) whose analysed terms occur in
/// `query`: scored terms and the words of quoted phrases, stop words excluded. A matched
/// sub-word inside a longer word highlights only the sub-word.
pub fn highlight_spans(tokenizer: &mut JiebaTokenizer, query: &KeywordQuery, text: &str) -> Vec<Span> {
    let wanted = query.highlight_terms();
    let spans = tokenizer
        .analyze_parts_with(text, &TermFilter::new(&wanted))
        .into_iter()
        .filter(|t| wanted.contains(&t.term) && !super::stopwords::is_stop_word(&t.word))
        .map(|t| Span { start: t.char_start as u32, end: t.char_end as u32 })
        .collect();
    merge_spans(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::dictionary::shared_segmenter;

    fn spans_text(text: &str, spans: &[Span]) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        spans.iter().map(|s| chars[s.start as usize..s.end as usize].iter().collect()).collect()
    }

    #[test]
    fn marks_query_terms_by_character() {
        let mut tk = JiebaTokenizer::new(shared_segmenter());
        let q = KeywordQuery::parse("專精特新 融合 digital", &mut tk).unwrap();
        let text = "培育专精特新“小巨人”企业，推动两业融合与Digital economy。";
        let spans = highlight_spans(&mut tk, &q, text);
        assert_eq!(spans_text(text, &spans), ["专精特新", "融合", "Digital"]);
    }

    #[test]
    fn merging() {
        let s = |a, b| Span { start: a, end: b };
        assert_eq!(merge_spans(vec![s(5, 7), s(0, 4), s(2, 3), s(4, 6)]), vec![s(0, 7)]);
        assert_eq!(merge_spans(vec![s(5, 7), s(0, 4)]), vec![s(0, 4), s(5, 7)]);
        assert!(merge_spans(Vec::new()).is_empty());
    }
}
