//! The records a [`super::Backend`] takes and returns. They mean the same for every backend:
//! no SQLite row ids beyond the paragraph ids every backend keeps stable, no HNSW parameter
//! that a backend would have to make up.

use super::ParagraphFilter;
use crate::corpus::PreparedDocument;

/// Result of [`super::Backend::put_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The document was stored.
    Inserted {
        /// Id of the stored document.
        document_id: String,
        /// Number of paragraphs stored.
        paragraphs: u32,
        /// Number of chunks (and vectors) stored.
        chunks: u32,
        /// Number of duplicate occurrences recorded.
        duplicates: u32,
        /// Ids of the stored paragraphs, in document order.
        paragraph_ids: Vec<i64>,
        /// The document that held the same key before and was removed, if any.
        replaced: Option<String>,
    },
    /// A document with this id already exists (for a keyed document: the key holds the same
    /// text already); nothing was changed.
    AlreadyPresent {
        /// Id of the existing document.
        document_id: String,
    },
}

/// How a caller names a stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentRef {
    /// By document id.
    Id(String),
    /// By the caller's key.
    Key(String),
}

/// What [`super::Backend::delete_document`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedDocument {
    /// Id of the deleted document.
    pub document_id: String,
    /// Number of paragraphs removed.
    pub paragraphs: u32,
    /// Ids of the removed paragraphs, ascending.
    pub paragraph_ids: Vec<i64>,
    /// Number of chunks (vectors) removed.
    pub chunks: u32,
}

/// A stored document read back whole, as it was prepared, with its paragraph ids and vectors:
/// what [`super::Backend::export_documents`] returns and [`super::Backend::put_exported`] stores
/// (copying a corpus between backends without embedding anything again).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedDocument {
    /// The document, paragraphs in position order, chunks in ordinal order.
    pub document: PreparedDocument,
    /// Stored id of each paragraph, in the order of `document.paragraphs`.
    pub paragraph_ids: Vec<i64>,
    /// One vector per chunk, paragraph then chunk order.
    pub vectors: Vec<Vec<f32>>,
    /// Insertion time, unix seconds.
    pub created_at: i64,
}

/// A stored document (without its paragraphs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    /// Document id (hex prefix of the sha256 of the raw text, or of key and text).
    pub id: String,
    /// The caller's key, if it was added with one (unique among stored documents).
    pub key: Option<String>,
    /// Where the text came from.
    pub origin: String,
    /// Title, if known.
    pub title: Option<String>,
    /// Source / publisher, if known.
    pub source: Option<String>,
    /// Publication date (`YYYY-MM-DD` or a prefix), if known.
    pub date: Option<String>,
    /// Publication year, if known.
    pub year: Option<i32>,
    /// Caller tags.
    pub tags: Vec<String>,
    /// Number of stored paragraphs.
    pub paragraphs: u32,
    /// Number of stored chunks.
    pub chunks: u32,
    /// Number of recorded duplicate occurrences.
    pub duplicates: u32,
    /// Insertion time, unix seconds.
    pub created_at: i64,
}

/// A stored paragraph with the metadata of its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParagraphRecord {
    /// Paragraph id (never reused).
    pub id: i64,
    /// Owning document.
    pub document_id: String,
    /// 0-based position in the document.
    pub position: u32,
    /// Nearest heading above the paragraph.
    pub heading: Option<String>,
    /// Text in its original script.
    pub text: String,
    /// Simplified-Chinese form of `text`.
    pub simplified: String,
    /// Title of the document.
    pub doc_title: Option<String>,
    /// Source of the document.
    pub doc_source: Option<String>,
    /// Date of the document.
    pub doc_date: Option<String>,
    /// Year of the document.
    pub year: Option<i32>,
    /// Tags of the document.
    pub tags: Vec<String>,
}

/// Documents and paragraphs of one publication year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCount {
    /// The year.
    pub year: i32,
    /// Documents of that year.
    pub documents: u64,
    /// Paragraphs of documents of that year.
    pub paragraphs: u64,
}

/// Chunks stored for one embedding model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStats {
    /// Model identifier given at insert time.
    pub model_id: String,
    /// Vector dimension of that model.
    pub dim: u32,
    /// Number of chunks embedded with it.
    pub chunks: u64,
}

/// Corpus totals of a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// Number of documents.
    pub documents: u64,
    /// Number of paragraphs.
    pub paragraphs: u64,
    /// Number of chunks.
    pub chunks: u64,
    /// Number of recorded duplicate paragraph occurrences.
    pub duplicates: u64,
    /// Years present, ascending, with document and paragraph counts.
    pub years: Vec<YearCount>,
    /// Documents without a year.
    pub undated_documents: u64,
    /// Paragraphs of documents without a year.
    pub undated_paragraphs: u64,
    /// Models known to the backend (the embedded store includes ones with no chunks left).
    pub models: Vec<ModelStats>,
    /// Current [`super::Backend::corpus_version`].
    pub corpus_version: u64,
}

/// Paragraph / document excluded from a search (the query's own, for paragraph queries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exclusions {
    /// Exclude this paragraph.
    pub paragraph: Option<i64>,
    /// Exclude every paragraph of this document.
    pub document: Option<String>,
}

/// A filtered nearest-paragraph search for a ready query vector.
#[derive(Debug, Clone)]
pub struct DenseQuery {
    /// Unit-length query vector of the backend's dimension.
    pub vector: Vec<f32>,
    /// Paragraphs wanted (already validated, >= 1).
    pub k: usize,
    /// Candidate restrictions.
    pub filter: ParagraphFilter,
    /// Paragraph / document left out.
    pub exclude: Exclusions,
    /// Paragraphs scoring below this cosine are dropped; <= -1 keeps everything.
    pub min_score: f32,
    /// Force an exact (brute-force) scan instead of the approximate index.
    pub exact: bool,
    /// Terms every paragraph must contain (a filter like the others: applied before ranking).
    pub must_contain: crate::keyword::MustContain,
}

/// One ranked paragraph.
#[derive(Debug, Clone)]
pub struct ParagraphHit {
    /// The paragraph and its document metadata.
    pub paragraph: ParagraphRecord,
    /// Cosine similarity of its best chunk.
    pub score: f32,
    /// Character span of the best chunk within `paragraph.text`.
    pub span: (u32, u32),
}

/// Result of a [`DenseQuery`].
#[derive(Debug, Clone)]
pub struct DenseHits {
    /// Hits, best first, ties by paragraph id.
    pub hits: Vec<ParagraphHit>,
    /// Which search path answered: `"exact"`, `"shortlist"`, `"hnsw"` (embedded) or `"qdrant"`.
    pub path: &'static str,
}

/// A stored paragraph with its vector: the normalised mean of its chunk vectors.
#[derive(Debug, Clone)]
pub struct ParagraphVector {
    /// The paragraph and its document metadata.
    pub paragraph: ParagraphRecord,
    /// Unit-length paragraph vector.
    pub vector: Vec<f32>,
}

/// State of the vector index behind a backend, with only what the backend really knows.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexStats {
    /// What answers approximate searches: `"hnsw"` (the embedded hnsw_rs graph), `"shortlist"`
    /// (the embedded sign-code shortlist, no graph kept) or `"qdrant"`
    /// (the server's own per-segment HNSW indexes).
    pub kind: &'static str,
    /// Live vectors.
    pub points: usize,
    /// Deleted vectors still held by the index (0 where deletions are physical or the backend
    /// does not report them).
    pub tombstones: usize,
    /// Graph parameters, when the index is an HNSW graph whose parameters are known.
    pub hnsw: Option<HnswStats>,
}

/// Parameters of an HNSW graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswStats {
    /// Max links per node.
    pub m: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to k when k is larger); `None` when the
    /// server chooses it per query.
    pub ef_search: Option<usize>,
}

/// Corpus and index figures of a backend.
#[derive(Debug, Clone)]
pub struct BackendStats {
    /// Counts of documents, paragraphs, chunks, duplicates, years and models.
    pub store: StoreStats,
    /// Vector index state.
    pub index: IndexStats,
}

/// What a backend is and where its data lives, for logs, Stats and the ready line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// `"embedded"` or `"qdrant"`.
    pub kind: &'static str,
    /// The data directory, or the server URL and collection.
    pub location: String,
}
