//! Records only the SQLite store has: chunk rows and the chunk ids of inserts and deletes (the
//! embedded backend keys its vector index by them). Backend-neutral records are in
//! [`crate::backend`].

/// Result of [`super::Store::insert_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreInsert {
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
        /// Ids assigned to the paragraphs, in document order.
        paragraph_ids: Vec<i64>,
        /// Ids assigned to the chunks, in paragraph then chunk order (the
        /// order of the `chunk_vectors` argument).
        chunk_ids: Vec<i64>,
        /// The document that held the key before (now marked replaced, see
        /// [`super::Store::replaced_documents`]), if any.
        replaced: Option<String>,
    },
    /// A document with this id already exists; nothing was changed.
    AlreadyPresent {
        /// Id of the existing document.
        document_id: String,
    },
}

/// What [`super::Store::delete_document`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDelete {
    /// Id of the deleted document.
    pub document_id: String,
    /// Number of paragraphs removed.
    pub paragraphs: u32,
    /// Ids of the removed paragraphs, ascending.
    pub paragraph_ids: Vec<i64>,
    /// Number of chunks (vectors) removed.
    pub chunks: u32,
    /// Ids of the removed chunks (to drop from the vector index), ascending.
    pub chunk_ids: Vec<i64>,
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
