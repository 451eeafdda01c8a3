//! Data types shared by cleaning, segmentation, storage and the service.

use serde::{Deserialize, Serialize};

/// Metadata a caller may give with a document; every field overrides detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentMeta {
    /// Title of the document; detected from the page when absent.
    pub title: Option<String>,
    /// Publisher or site name (e.g. `經濟網`); detected when absent.
    pub source: Option<String>,
    /// Publication date as `YYYY-MM-DD` (or `YYYY-MM` / `YYYY`); detected when absent.
    pub date: Option<String>,
    /// Free-form tags used for filtering.
    pub tags: Vec<String>,
    /// The caller's key (e.g. a URL): a document added under a key that is stored replaces the
    /// stored version. Part of the document id (see [`PreparedDocument::id`]).
    #[serde(default)]
    pub key: Option<String>,
}

/// A document after cleaning and segmentation, ready to embed and store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedDocument {
    /// Stable id: the first 16 hex chars of the sha256 of the raw input text, or of the key
    /// and the raw text for a keyed document (one key and text always give one id).
    pub id: String,
    /// The caller's key, if any: at most one stored document holds a key.
    #[serde(default)]
    pub key: Option<String>,
    /// Where the text came from (file path or caller-supplied name); informative only.
    pub origin: String,
    /// Title (given, or detected; may be absent).
    pub title: Option<String>,
    /// Source / publisher (given, or detected).
    pub source: Option<String>,
    /// Publication date `YYYY-MM-DD` (or shorter prefix) when known; never invented.
    pub date: Option<String>,
    /// Publication year when known.
    pub year: Option<i32>,
    /// Caller tags.
    pub tags: Vec<String>,
    /// Unique body paragraphs in reading order.
    pub paragraphs: Vec<PreparedParagraph>,
    /// Paragraph occurrences that duplicated an earlier paragraph and were not stored again.
    pub duplicates: Vec<DuplicateOccurrence>,
}

/// One body paragraph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedParagraph {
    /// 0-based position among the document's stored paragraphs.
    pub position: u32,
    /// Nearest heading above this paragraph (original script), if any.
    pub heading: Option<String>,
    /// Cleaned text in its original script, for display.
    pub text: String,
    /// Simplified-Chinese form of `text`, for embedding and keywords.
    pub simplified: String,
    /// Sentence chunks covering the paragraph, each embedded separately.
    pub chunks: Vec<PreparedChunk>,
}

/// A run of whole sentences of a paragraph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedChunk {
    /// Start offset in characters (Unicode scalar values) into the paragraph's `text`.
    pub start: u32,
    /// End offset (exclusive) in characters into the paragraph's `text`.
    pub end: u32,
    /// Simplified text of this span: what gets embedded (with the `passage: ` prefix).
    pub text: String,
}

/// A paragraph occurrence that repeated an earlier one (exactly or nearly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateOccurrence {
    /// Position (in the stored paragraph list) of the paragraph it duplicates.
    pub of_position: u32,
    /// 0-based index of the occurrence among all the page's body blocks.
    pub block_index: u32,
    /// The duplicate's cleaned text, kept for the record.
    pub text: String,
}
