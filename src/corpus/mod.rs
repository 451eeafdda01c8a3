//! Corpus preparation: cleaning, script normalisation, segmentation, de-duplication and
//! metadata detection for noisy scraped web pages (mostly Chinese).
//!
//! The entry point is [`prepare_document`]; the helpers it is built from are public too.

mod chunk;
mod clean;
mod dedup;
mod furniture;
mod gloss;
mod html;
mod meta;
mod script;
mod segment;
pub mod types;

#[cfg(test)]
mod seed_tests;

use sha2::{Digest, Sha256};

pub use clean::{clean_line, clean_text};
pub use gloss::remove_pinyin_glosses;
pub use html::strip_html;
pub use meta::{detect_date, detect_source, detect_title};
pub use script::to_simplified;
pub use types::*;

/// Segmentation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentConfig {
    /// Preferred chunk size in characters (default 60: best recall@5 and MRR@10 on the seed
    /// query set, see `benches/retrieval.rs`); whole sentences are packed up to about this size.
    pub chunk_target_chars: usize,
    /// Hard upper bound on a chunk's size in characters (default 300, well inside 510 tokens).
    pub chunk_max_chars: usize,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        Self { chunk_target_chars: 60, chunk_max_chars: 300 }
    }
}

/// Errors of corpus preparation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorpusError {
    /// Nothing is left of the input after cleaning (or it was empty to begin with).
    #[error("document `{0}` is empty after cleaning")]
    Empty(String),
    /// The input does not look like text (binary data, NUL bytes).
    #[error("document `{0}` does not look like text")]
    NotText(String),
    /// Cleaning left only headings, furniture or fragments: no body paragraph.
    #[error("document `{0}` has no body paragraphs")]
    NoBody(String),
    /// A caller-supplied date is not `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    #[error("invalid date `{0}` (expected YYYY, YYYY-MM or YYYY-MM-DD)")]
    InvalidDate(String),
}

/// True when the input contains NUL bytes or is dominated by control characters.
fn is_binary(raw: &str) -> bool {
    let total = raw.chars().count().max(1);
    let control = raw
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}'))
        .count();
    raw.contains('\0') || control * 10 > total
}

/// Stable document id: the first 16 hex chars of the sha256 of the raw input.
fn document_id(raw: &str) -> String {
    let mut id = hex::encode(Sha256::digest(raw.as_bytes()));
    id.truncate(16);
    id
}

/// Cleans, segments, de-duplicates and chunks one raw page.
///
/// `origin` is informative (file name or caller label). Every field of `meta` overrides
/// detection; `meta.date` must be `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. HTML input is converted
/// with [`strip_html`] first. Errors when the input is not text, is empty after cleaning, has
/// no body paragraph, or `meta.date` is malformed. Never panics.
pub fn prepare_document(
    raw: &str,
    origin: &str,
    meta: &DocumentMeta,
    cfg: &SegmentConfig,
) -> Result<PreparedDocument, CorpusError> {
    if is_binary(raw) {
        return Err(CorpusError::NotText(origin.to_string()));
    }
    let given_date = meta.date.as_deref().map(meta::validate_date).transpose()?;
    let text = if html::looks_like_html(raw) { strip_html(raw) } else { raw.to_string() };
    let cleaned = clean_text(&text);
    if cleaned.trim().is_empty() {
        return Err(CorpusError::Empty(origin.to_string()));
    }
    let title = meta.title.clone().or_else(|| detect_title(raw));
    let source = meta.source.clone().or_else(|| detect_source(&text));
    let date = given_date.or_else(|| detect_date(&text));
    let year = date.as_deref().and_then(meta::year_of);

    let mut index = dedup::DupIndex::default();
    let mut paragraphs: Vec<PreparedParagraph> = Vec::new();
    let mut duplicates = Vec::new();
    for (block_index, block) in segment::body_blocks(&cleaned, title.as_deref()).into_iter().enumerate() {
        let block_index = u32::try_from(block_index).unwrap_or(u32::MAX);
        if let Some(of_position) = index.find(&block.text) {
            duplicates.push(DuplicateOccurrence { of_position, block_index, text: block.text });
            continue;
        }
        let position = u32::try_from(paragraphs.len()).unwrap_or(u32::MAX);
        index.insert(&block.text, position);
        let chars: Vec<char> = block.text.chars().collect();
        let chunks = chunk::chunk_spans(&block.text, cfg.chunk_target_chars, cfg.chunk_max_chars)
            .into_iter()
            .map(|(s, e)| PreparedChunk {
                start: u32::try_from(s).unwrap_or(u32::MAX),
                end: u32::try_from(e).unwrap_or(u32::MAX),
                text: to_simplified(&chars[s..e].iter().collect::<String>()),
            })
            .collect();
        paragraphs.push(PreparedParagraph {
            position,
            heading: block.heading,
            simplified: to_simplified(&block.text),
            text: block.text,
            chunks,
        });
    }
    if paragraphs.is_empty() {
        return Err(CorpusError::NoBody(origin.to_string()));
    }
    Ok(PreparedDocument {
        id: document_id(raw),
        origin: origin.to_string(),
        title,
        source,
        date,
        year,
        tags: meta.tags.clone(),
        paragraphs,
        duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "中央企業加速傳統產業轉型升級,提升核心競爭力,筑牢現代化產業體系基底。一是傳統產業向高端化躍升。";

    #[test]
    fn id_is_sha256_prefix() {
        let doc = prepare_document(BODY, "t", &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        assert_eq!(doc.id.len(), 16);
        assert_eq!(doc.id, document_id(BODY));
        assert_ne!(doc.id, document_id("other"));
        assert_eq!(document_id("abc"), "ba7816bf8f01cfea");
    }

    #[test]
    fn meta_overrides_detection() {
        let raw = format!("文章來源:經濟網 發布時間:2024-08-01\n{BODY}");
        let meta = DocumentMeta {
            title: Some("T".into()),
            source: Some("S".into()),
            date: Some("2020-05".into()),
            tags: vec!["x".into()],
        };
        let doc = prepare_document(&raw, "t", &meta, &SegmentConfig::default()).unwrap();
        assert_eq!((doc.title.as_deref(), doc.source.as_deref()), (Some("T"), Some("S")));
        assert_eq!((doc.date.as_deref(), doc.year), (Some("2020-05"), Some(2020)));
        assert_eq!(doc.tags, vec!["x".to_string()]);
        let plain = prepare_document(&raw, "t", &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        assert_eq!((plain.date.as_deref(), plain.year), (Some("2024-08-01"), Some(2024)));
        assert_eq!(plain.source.as_deref(), Some("經濟網"));
    }

    #[test]
    fn errors() {
        let cfg = SegmentConfig::default();
        let none = DocumentMeta::default();
        assert!(matches!(prepare_document("", "e", &none, &cfg), Err(CorpusError::Empty(_))));
        assert!(matches!(prepare_document("編輯:秦云\n分享到:", "e", &none, &cfg), Err(CorpusError::Empty(_))));
        assert!(matches!(prepare_document("a\0b", "e", &none, &cfg), Err(CorpusError::NotText(_))));
        assert!(matches!(prepare_document("短標題行文字內容\n", "e", &none, &cfg), Err(CorpusError::NoBody(_))));
        let bad = DocumentMeta { date: Some("2024-02-30".into()), ..Default::default() };
        assert!(matches!(prepare_document(BODY, "e", &bad, &cfg), Err(CorpusError::InvalidDate(_))));
    }

    #[test]
    fn html_input() {
        let html = format!("<html><head><title>頁</title></head><body><h1>文章標題在此</h1><p>{BODY}</p><script>x()</script></body></html>");
        let doc = prepare_document(&html, "h", &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("文章標題在此"));
        assert_eq!(doc.paragraphs.len(), 1);
        assert_eq!(doc.paragraphs[0].text, BODY);
        assert_eq!(doc.paragraphs[0].simplified, to_simplified(BODY));
    }
}
