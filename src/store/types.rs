//! Records returned by the store.

/// Result of [`super::Store::insert_document`].
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
        /// Ids assigned to the chunks, in paragraph then chunk order (the
        /// order of the `chunk_vectors` argument).
        chunk_ids: Vec<i64>,
    },
    /// A document with this id already exists; nothing was changed.
    AlreadyPresent {
        /// Id of the existing document.
        document_id: String,
    },
}

/// What [`super::Store::delete_document`] removed.
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
    /// Ids of the removed chunks (to drop from the vector index), ascending. Backends whose
    /// chunk ids are not integers leave this empty.
    pub chunk_ids: Vec<i64>,
}

/// A stored document (without its paragraphs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    /// Document id (hex prefix of the sha256 of the raw text).
    pub id: String,
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

/// A stored chunk (its vector is fetched separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRecord {
    /// Chunk id (never reused); the key used in the vector index.
    pub id: i64,
    /// Owning paragraph.
    pub paragraph_id: i64,
    /// 0-based index of the chunk within its paragraph.
    pub ordinal: u32,
    /// Start offset in characters into the paragraph's `text`.
    pub start: u32,
    /// End offset (exclusive) in characters into the paragraph's `text`.
    pub end: u32,
    /// Simplified text of the span (what was embedded).
    pub text: String,
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

/// Corpus totals from [`super::Store::stats`].
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
    /// Models known to the store (including ones with no chunks left).
    pub models: Vec<ModelStats>,
    /// Current [`super::Store::corpus_version`].
    pub corpus_version: u64,
}
