//! Corpus preparation: cleaning, script normalisation, segmentation, de-duplication and
//! metadata detection for noisy scraped web pages (mostly Chinese).
//!
//! The entry point is [`prepare_document`]; the helpers it is built from are public too.

mod chunk;
mod clean;
mod dating;
mod dedup;
mod front_matter;
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
pub use dating::{date_from_name, DateSource, NAME_YEARS};
pub use front_matter::{date_part, split_front_matter, FrontMatter};
pub use gloss::remove_pinyin_glosses;
pub use html::strip_html;
pub use meta::{detect_date, detect_source, detect_title, validate_date};
pub(crate) use script::is_cjk_ideograph;
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
    /// The front matter's `date:` is not `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a time may follow).
    #[error("document `{0}`: front matter date `{1}` is not YYYY, YYYY-MM or YYYY-MM-DD; fix it, or give the date explicitly (--date, the date field or column)")]
    FrontMatterDate(String, String),
}

/// True when the input contains NUL bytes or is dominated by control characters.
fn is_binary(raw: &str) -> bool {
    let total = raw.chars().count().max(1);
    let control = raw.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}')).count();
    raw.contains('\0') || control * 10 > total
}

/// Stable document id: the first 16 hex chars of the sha256 of the raw input, or of the key,
/// a NUL and the raw input for a keyed document (so two keys may hold the same text, and one
/// key's unchanged text keeps its id).
pub fn document_id(raw: &str, key: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    if let Some(key) = key {
        hasher.update(key.as_bytes());
        hasher.update([0u8]);
    }
    hasher.update(raw.as_bytes());
    let mut id = hex::encode(hasher.finalize());
    id.truncate(16);
    id
}

/// Cleans, segments, de-duplicates and chunks one raw page.
///
/// Same as [`prepare_document_dated`] with the date of `origin`'s file name as the last resort.
pub fn prepare_document(raw: &str, origin: &str, meta: &DocumentMeta, cfg: &SegmentConfig) -> Result<PreparedDocument, CorpusError> {
    prepare_document_dated(raw, origin, meta, date_from_name(origin), cfg).map(|(doc, _)| doc)
}

/// Where a prepared document's date came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dating {
    /// The source of the date (`None` when undated).
    pub source: Option<DateSource>,
    /// A page-header date set aside because its year differs from the file name's (the file
    /// name's date is used).
    pub overruled_header_date: Option<String>,
}

/// Cleans, segments, de-duplicates and chunks one raw page; also says where its date came from.
///
/// `origin` is informative (file name or caller label). A front matter block at the top
/// ([`split_front_matter`]) is removed from the text and gives title, source, date and tags.
/// Precedence for each field: `meta` (the caller) > front matter > detection in the page; the
/// date then falls back to `name_date` (the file name's, see [`date_from_name`]; `None` to not
/// use one), which also wins over a header date of another year ([`Dating`] reports it). Front matter tags are added to `meta.tags`. `meta.date` must be `YYYY`, `YYYY-MM`
/// or `YYYY-MM-DD`. HTML input is converted with [`strip_html`] first. Errors when the input is
/// not text, is empty after cleaning, has no body paragraph, or a date used is malformed.
/// Never panics.
pub fn prepare_document_dated(
    raw: &str,
    origin: &str,
    meta: &DocumentMeta,
    name_date: Option<String>,
    cfg: &SegmentConfig,
) -> Result<(PreparedDocument, Dating), CorpusError> {
    if is_binary(raw) {
        return Err(CorpusError::NotText(origin.to_string()));
    }
    let given_date = meta.date.as_deref().map(meta::validate_date).transpose()?;
    let (front, body) = match split_front_matter(raw) {
        Some((fm, at)) => (fm, &raw[at..]),
        None => (FrontMatter::default(), raw),
    };
    let front_date = match (&given_date, &front.date) {
        (None, Some(d)) => {
            Some(meta::validate_date(front_matter::date_part(d)).map_err(|_| CorpusError::FrontMatterDate(origin.to_string(), d.clone()))?)
        }
        _ => None,
    };
    let text = if html::looks_like_html(body) { strip_html(body) } else { body.to_string() };
    let cleaned = clean_text(&text);
    if cleaned.trim().is_empty() {
        return Err(CorpusError::Empty(origin.to_string()));
    }
    let title = meta.title.clone().or(front.title).or_else(|| detect_title(body));
    let source = meta.source.clone().or(front.source).or_else(|| detect_source(&text));
    let name_date = name_date.and_then(|d| meta::validate_date(&d).ok());
    let mut overruled = None;
    let (date, date_source) = if let Some(d) = given_date {
        (Some(d), Some(DateSource::Given))
    } else if let Some(d) = front_date {
        (Some(d), Some(DateSource::FrontMatter))
    } else {
        match (detect_date(&text), name_date) {
            // A header date of another year than the file name's is most often the date an
            // archive re-posted the page (e.g. `1995.txt` headed 2006-02-16): the name the
            // user gave the file wins, and the overruled date is reported.
            (Some(h), Some(n)) if meta::year_of(&h) != meta::year_of(&n) => {
                overruled = Some(h);
                (Some(n), Some(DateSource::FileName))
            }
            (Some(h), _) => (Some(h), Some(DateSource::Header)),
            (None, Some(n)) => (Some(n), Some(DateSource::FileName)),
            (None, None) => (None, None),
        }
    };
    let year = date.as_deref().and_then(meta::year_of);
    let mut tags = meta.tags.clone();
    for t in front.tags {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }

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
    let doc = PreparedDocument {
        id: document_id(raw, meta.key.as_deref()),
        key: meta.key.clone(),
        origin: origin.to_string(),
        title,
        source,
        date,
        year,
        tags,
        paragraphs,
        duplicates,
    };
    Ok((doc, Dating { source: date_source, overruled_header_date: overruled }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "中央企業加速傳統產業轉型升級,提升核心競爭力,筑牢現代化產業體系基底。一是傳統產業向高端化躍升。";

    #[test]
    fn id_is_sha256_prefix() {
        let doc = prepare_document(BODY, "t", &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        assert_eq!(doc.id.len(), 16);
        assert_eq!(doc.id, document_id(BODY, None));
        assert_ne!(doc.id, document_id("other", None));
        assert_eq!(document_id("abc", None), "ba7816bf8f01cfea");
    }

    #[test]
    fn keyed_id_covers_key_and_text() {
        let meta = DocumentMeta { key: Some("https://x/1".into()), ..DocumentMeta::default() };
        let doc = prepare_document(BODY, "t", &meta, &SegmentConfig::default()).unwrap();
        assert_eq!(doc.key.as_deref(), Some("https://x/1"));
        assert_eq!(doc.id, document_id(BODY, Some("https://x/1")));
        assert_ne!(doc.id, document_id(BODY, None), "a key gives its own id");
        assert_ne!(doc.id, document_id(BODY, Some("https://x/2")), "two keys may hold one text");
        // The NUL keeps key and text apart: ("ab", "c") is not ("a", "bc").
        assert_ne!(document_id("c", Some("ab")), document_id("bc", Some("a")));
    }

    #[test]
    fn meta_overrides_detection() {
        let raw = format!("文章來源:經濟網 發布時間:2024-08-01\n{BODY}");
        let meta = DocumentMeta {
            title: Some("T".into()),
            source: Some("S".into()),
            date: Some("2020-05".into()),
            tags: vec!["x".into()],
            key: None,
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
    fn date_precedence_given_front_matter_header_file_name() {
        let cfg = SegmentConfig::default();
        let none = DocumentMeta::default();
        let page = format!("---\ndate: 2019-02-18\ntitle: FM title\nsource: FM source\ntags: [a, b]\n---\n發布時間:2024-08-01\n{BODY}");
        let dated = |raw: &str, meta: &DocumentMeta, name: &str| {
            let (doc, dating) = prepare_document_dated(raw, name, meta, date_from_name(name), &cfg).unwrap();
            (doc.date.clone(), dating.source, doc)
        };
        let (date, src, doc) = dated(&page, &none, "2010.md");
        assert_eq!((date.as_deref(), src), (Some("2019-02-18"), Some(DateSource::FrontMatter)));
        assert_eq!((doc.title.as_deref(), doc.source.as_deref()), (Some("FM title"), Some("FM source")));
        assert_eq!(doc.year, Some(2019));
        assert!(doc.paragraphs.iter().all(|p| !p.text.contains("FM title") && !p.text.contains("date")));
        assert_eq!(doc.id, document_id(&page, None), "the id covers the whole file, front matter included");
        let given = DocumentMeta { date: Some("2001".into()), tags: vec!["b".into(), "c".into()], ..Default::default() };
        let (date, src, doc) = dated(&page, &given, "2010.md");
        assert_eq!((date.as_deref(), src), (Some("2001"), Some(DateSource::Given)));
        assert_eq!(doc.tags, vec!["b".to_string(), "c".into(), "a".into()]);
        let header = format!("發布時間:2024-08-01\n{BODY}");
        let (date, src, _) = dated(&header, &none, "2024.md");
        assert_eq!((date.as_deref(), src), (Some("2024-08-01"), Some(DateSource::Header)), "same year: the precise header date");
        let (date, src, _) = dated(&header, &none, "notes.md");
        assert_eq!((date.as_deref(), src), (Some("2024-08-01"), Some(DateSource::Header)));
        // another year in the file name: an archive's re-posting date loses to the name
        let (doc, dating) = prepare_document_dated(&header, "2010.md", &none, date_from_name("2010.md"), &cfg).unwrap();
        assert_eq!((doc.date.as_deref(), dating.source), (Some("2010"), Some(DateSource::FileName)));
        assert_eq!(dating.overruled_header_date.as_deref(), Some("2024-08-01"));
        let (date, src, _) = dated(BODY, &none, "reports/2010.md");
        assert_eq!((date.as_deref(), src), (Some("2010"), Some(DateSource::FileName)));
        let (date, src, _) = dated(BODY, &none, "v2.md");
        assert_eq!((date, src), (None, None));
        let (doc, dating) = prepare_document_dated(BODY, "2010.md", &none, None, &cfg).unwrap();
        assert_eq!((doc.date, dating.source), (None, None), "no name date when the caller gives none");
        assert_eq!(prepare_document(BODY, "dir/1978年政府工作报告.txt", &none, &cfg).unwrap().year, Some(1978));
    }

    #[test]
    fn bad_front_matter_date_is_an_error_unless_overridden() {
        let cfg = SegmentConfig::default();
        let page = format!("---\ndate: 18/02/2019\n---\n{BODY}");
        let err = prepare_document(&page, "x.md", &DocumentMeta::default(), &cfg).unwrap_err();
        assert!(matches!(&err, CorpusError::FrontMatterDate(o, d) if o == "x.md" && d == "18/02/2019"), "{err}");
        assert!(err.to_string().contains("--date"), "{err}");
        let given = DocumentMeta { date: Some("2019-02".into()), ..Default::default() };
        assert_eq!(prepare_document(&page, "x.md", &given, &cfg).unwrap().date.as_deref(), Some("2019-02"));
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
        let html =
            format!("<html><head><title>頁</title></head><body><h1>文章標題在此</h1><p>{BODY}</p><script>x()</script></body></html>");
        let doc = prepare_document(&html, "h", &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("文章標題在此"));
        assert_eq!(doc.paragraphs.len(), 1);
        assert_eq!(doc.paragraphs[0].text, BODY);
        assert_eq!(doc.paragraphs[0].simplified, to_simplified(BODY));
    }
}
