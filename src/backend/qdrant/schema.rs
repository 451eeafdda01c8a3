//! How simtheme lays out a corpus in one Qdrant collection: point kinds, deterministic point
//! ids, payload fields and their indexes.
//!
//! * one **chunk point** per embedded chunk: the dense vector `dense`, the sparse BM25 vector
//!   `keywords` ([`crate::keyword::sparse`]; Qdrant applies IDF), and everything a search hit
//!   needs (paragraph and document metadata, chunk span, the chunk's analysed terms for
//!   required phrases, the paragraph's characters for `must_contain`), so a search is one call;
//! * one **document point** per document (no vector): metadata and counts, listed in id order;
//! * one **duplicate point** per duplicate paragraph occurrence (no vector);
//! * one **meta point**: the model and dimension the collection was built for and the corpus
//!   version every replica reads for its caches.
//!
//! Every id is derived from content (document id, paragraph position, chunk ordinal), never
//! from a per-process counter, so replicas agree on ids and a retried write overwrites itself.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the dense vector of chunk points.
pub const DENSE: &str = "dense";
/// Name of the sparse keyword vector of chunk points (BM25 term weights; Qdrant applies IDF).
pub const KEYWORDS: &str = "keywords";
/// Layout version written into the meta point; a collection with another one is refused.
/// Layout 2 added the keyword vector and the `terms` and `chars` fields.
pub const LAYOUT_VERSION: i64 = 2;
/// Point kinds (`kind` payload field).
pub const KIND_CHUNK: &str = "chunk";
/// See [`KIND_CHUNK`].
pub const KIND_DOCUMENT: &str = "document";
/// See [`KIND_CHUNK`].
pub const KIND_DUPLICATE: &str = "duplicate";
/// See [`KIND_CHUNK`].
pub const KIND_META: &str = "meta";
/// Id of the meta point (a fixed UUID no content hash produces in practice).
pub const META_POINT_ID: &str = "00000000-0000-4000-8000-0000000051a7";

/// Payload fields with an index: `(name, type)`; filters, grouping, facets and counts use them.
pub const INDEXED_FIELDS: &[(&str, IndexedType)] = &[
    ("kind", IndexedType::Keyword),
    ("document_id", IndexedType::Keyword),
    ("key", IndexedType::Keyword),
    ("tags", IndexedType::Keyword),
    ("year", IndexedType::Integer),
    ("paragraph_id", IndexedType::Integer),
    ("sample_key", IndexedType::Integer),
    ("first_chunk", IndexedType::Bool),
    ("pending", IndexedType::Bool),
    ("terms", IndexedType::Keyword),
    ("chars", IndexedType::Phrase),
];

/// Payload index types used by the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedType {
    /// Exact string match.
    Keyword,
    /// Integer match and ranges.
    Integer,
    /// Boolean match.
    Bool,
    /// Full text split on whitespace, case kept, with positions for exact phrase matches.
    Phrase,
}

/// Document metadata carried by chunk and document points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentFields {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Year (absent when undated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The caller's key (absent for unkeyed documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// When this version of the key was written, unix nanoseconds: of two versions of one key,
    /// the one with the larger `(key_version, document_id)` is the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_version: Option<i64>,
}

impl DocumentFields {
    /// The metadata of a prepared document.
    pub fn of(doc: &crate::corpus::PreparedDocument) -> Self {
        DocumentFields {
            title: doc.title.clone(),
            source: doc.source.clone(),
            date: doc.date.clone(),
            year: doc.year,
            tags: doc.tags.clone(),
            key: doc.key.clone(),
            key_version: doc
                .key
                .as_ref()
                .map(|_| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)),
        }
    }
}

/// Payload of a chunk point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPayload {
    /// Always [`KIND_CHUNK`].
    pub kind: String,
    /// Owning document.
    pub document_id: String,
    /// Owning paragraph (stable: derived from document id and position).
    pub paragraph_id: i64,
    /// Position of the paragraph in its document.
    pub position: u32,
    /// Index of the chunk within its paragraph.
    pub ordinal: u32,
    /// True for ordinal 0: one point per paragraph, for counting and paragraph reads.
    pub first_chunk: bool,
    /// Chunk start, characters into the paragraph text.
    pub start: u32,
    /// Chunk end (exclusive), characters into the paragraph text.
    pub end: u32,
    /// Simplified text of the chunk (what was embedded).
    pub chunk_text: String,
    /// Paragraph text in its original script.
    pub text: String,
    /// Simplified form of the paragraph text.
    pub simplified: String,
    /// Heading above the paragraph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// The document's metadata (top-level payload fields, so filters and facets see them).
    #[serde(flatten)]
    pub meta: DocumentFields,
    /// Fixed pseudo-random key of the paragraph, in `[0, 2^63)`, for deterministic sampling.
    pub sample_key: i64,
    /// Distinct analysed terms of the chunk ([`crate::keyword::sparse::chunk_terms`]): a
    /// required phrase's terms must all be here.
    #[serde(default)]
    pub terms: Vec<String>,
    /// The paragraph's simplified text as space-separated characters ([`spaced_chars`]): a
    /// `must_contain` needle is a phrase match here.
    #[serde(default)]
    pub chars: String,
    /// True until every point of the document is written.
    pub pending: bool,
}

/// `text` as one token per character, whitespace dropped: a phrase match of
/// `spaced_chars(needle)` finds exactly the texts containing `needle` (up to whitespace), which
/// Qdrant's whitespace tokenizer can index with positions.
pub fn spaced_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Payload of a document point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentPayload {
    /// Always [`KIND_DOCUMENT`].
    pub kind: String,
    /// Document id (16 hex digits).
    pub document_id: String,
    /// Where the text came from.
    pub origin: String,
    /// Title, source, date, year and tags.
    #[serde(flatten)]
    pub meta: DocumentFields,
    /// Stored paragraphs.
    pub paragraphs: u32,
    /// Stored chunks.
    pub chunks: u32,
    /// Duplicate paragraph occurrences recorded.
    pub duplicates: u32,
    /// Insertion time, unix seconds.
    pub created_at: i64,
    /// True until every point of the document is written.
    pub pending: bool,
}

/// Payload of a duplicate point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePayload {
    /// Always [`KIND_DUPLICATE`].
    pub kind: String,
    /// Document the duplicate occurred in.
    pub document_id: String,
    /// Position of the stored paragraph it repeats.
    pub of_position: u32,
    /// Index of the occurrence among the page's blocks.
    pub block_index: u32,
    /// The duplicate's text.
    pub text: String,
    /// True until every point of the document is written.
    pub pending: bool,
}

/// Payload of the meta point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaPayload {
    /// Always [`KIND_META`].
    pub kind: String,
    /// Model the vectors come from.
    pub model: String,
    /// Vector dimension.
    pub dim: u64,
    /// [`LAYOUT_VERSION`] of the writer.
    pub layout: i64,
    /// Changes with every stored or deleted document.
    pub corpus_version: i64,
    /// Fingerprint of the jieba user dictionaries the keyword vectors were analysed with
    /// ([`crate::keyword::Segmenter::fingerprint`]).
    #[serde(default)]
    pub dictionary: String,
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

/// A UUID (version-4 layout) made from a hash of `parts`.
pub fn uuid_from(parts: &[&str]) -> String {
    let mut b = digest(parts);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b[..16]);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Point id of a chunk.
pub fn chunk_point_id(document_id: &str, position: u32, ordinal: u32) -> String {
    uuid_from(&["chunk", document_id, &position.to_string(), &ordinal.to_string()])
}

/// Point id of a duplicate occurrence.
pub fn duplicate_point_id(document_id: &str, block_index: u32) -> String {
    uuid_from(&["duplicate", document_id, &block_index.to_string()])
}

/// Point id of a document: its 16 hex digits read as a number, so scrolling document points
/// in id order lists documents in id order. `None` for ids of another form.
pub fn document_point_id(document_id: &str) -> Option<u64> {
    (document_id.len() == 16).then(|| u64::from_str_radix(document_id, 16).ok()).flatten()
}

/// The document id of a document point id.
pub fn document_id_of(point: u64) -> String {
    format!("{point:016x}")
}

/// Paragraph id of the paragraph at `position` of a document: positive, 63 bits of a hash.
pub fn paragraph_id(document_id: &str, position: u32) -> i64 {
    let b = digest(&["paragraph", document_id, &position.to_string()]);
    let v = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) >> 1;
    (v.max(1)) as i64
}

/// The sampling key of a paragraph id, in `[0, 2^63)`; orders like the embedded backend's key.
pub fn sample_key(paragraph_id: i64) -> i64 {
    (crate::backend::embedded::sample_key(paragraph_id) >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        assert_eq!(chunk_point_id("0123456789abcdef", 1, 2), chunk_point_id("0123456789abcdef", 1, 2));
        assert_ne!(chunk_point_id("0123456789abcdef", 1, 2), chunk_point_id("0123456789abcdef", 2, 1));
        let u = chunk_point_id("a", 0, 0);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, META_POINT_ID);
        assert!(paragraph_id("a", 0) > 0 && paragraph_id("a", 0) != paragraph_id("a", 1));
        assert!(sample_key(5) >= 0);
    }

    #[test]
    fn spaced_chars_tokenise_every_character() {
        assert_eq!(spaced_chars("两业 融合a"), "两 业 融 合 a");
        assert_eq!(spaced_chars("  "), "");
    }

    #[test]
    fn document_ids_round_trip_in_order() {
        let a = document_point_id("00000000000000ff").unwrap();
        let b = document_point_id("0100000000000000").unwrap();
        assert!(a < b);
        assert_eq!(document_id_of(a), "00000000000000ff");
        assert_eq!(document_point_id("xyz"), None);
        assert_eq!(document_point_id("zzzzzzzzzzzzzzzz"), None);
    }
}
