//! Storage backends: where documents, paragraphs and chunk vectors live, and how nearest
//! chunks are found. The engine talks to one [`Backend`] and never to a database or an index
//! directly, so the embedded default ([`embedded::EmbeddedBackend`]: SQLite + hnsw_rs in the
//! data directory) and a shared vector database can serve the same RPCs with the same answers.
//!
//! Data flows one way: service -> engine -> backend. A backend knows nothing of gRPC or of the
//! model; it stores what it is given and answers filtered vector searches at paragraph level
//! (a paragraph scores as its best chunk).

pub mod embedded;
mod error;
mod filter;
mod keyword_search;
pub mod qdrant;

use std::sync::Arc;

use async_trait::async_trait;

use crate::corpus::PreparedDocument;

pub use crate::store::{DeletedDocument, DocumentRecord, InsertOutcome, ModelStats, ParagraphRecord, StoreStats, YearCount};
pub use error::BackendError;
pub use filter::{ParagraphFilter, YearFilter};
pub use keyword_search::{KeywordHits, KeywordIndexStats, KeywordParagraphHit, KeywordSearch};

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
    /// Which search path answered: `"exact"`, `"hnsw"` (embedded) or `"qdrant"`.
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

/// State of the vector index behind a backend.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexStats {
    /// Max links per node of the HNSW graph.
    pub m: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching.
    pub ef_search: usize,
    /// Live vectors.
    pub points: usize,
    /// Deleted vectors still held by the graph (0 where deletions are physical).
    pub tombstones: usize,
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

/// What the engine needs from storage. Implementations are shared between requests
/// (`Arc<dyn Backend>`); every method may be called concurrently.
///
/// Contract shared by all implementations (the end-to-end tests run against each):
/// * a document is stored whole or not at all, and storing the same document id again changes
///   nothing ([`InsertOutcome::AlreadyPresent`]);
/// * paragraph ids are stable while their document is stored;
/// * [`Backend::corpus_version`] changes with every stored or deleted document;
/// * searches apply filters and exclusions before ranking, never after truncation.
#[async_trait]
pub trait Backend: Send + Sync {
    /// What this backend is and where its data lives.
    fn info(&self) -> BackendInfo;

    /// Stores a prepared document and one vector per chunk (paragraph then chunk order).
    async fn put_document(&self, doc: Arc<PreparedDocument>, vectors: Arc<Vec<Vec<f32>>>) -> Result<InsertOutcome, BackendError>;

    /// True when a document with this id is stored.
    async fn contains_document(&self, id: &str) -> Result<bool, BackendError>;

    /// Deletes a document with its paragraphs and vectors; `NotFound` when it is not stored.
    async fn delete_document(&self, id: &str) -> Result<DeletedDocument, BackendError>;

    /// Up to `limit` documents ordered by id, strictly after `after`.
    async fn list_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<DocumentRecord>, BackendError>;

    /// One paragraph with its document's metadata; `NotFound` when unknown.
    async fn paragraph(&self, id: i64) -> Result<ParagraphRecord, BackendError>;

    /// One paragraph with its vector; `NotFound` when unknown.
    async fn paragraph_vector(&self, id: i64) -> Result<ParagraphVector, BackendError>;

    /// The `k` paragraphs nearest to a query vector that pass the filter and exclusions.
    async fn nearest(&self, query: DenseQuery) -> Result<DenseHits, BackendError>;

    /// Every paragraph passing `filter` with its vector, in paragraph-id order, at most
    /// `limit` of them (a deterministic sample when more pass).
    async fn paragraph_vectors(&self, filter: ParagraphFilter, limit: usize) -> Result<Vec<ParagraphVector>, BackendError>;

    /// A number that changes whenever a document is stored or deleted (for caches).
    async fn corpus_version(&self) -> Result<u64, BackendError>;

    /// True when no document is stored.
    async fn is_empty(&self) -> Result<bool, BackendError>;

    /// Corpus and index figures.
    async fn stats(&self) -> Result<BackendStats, BackendError>;

    /// Makes derived state durable (e.g. writes the index dump) so the next start is fast.
    /// Every acknowledged write is already durable without it.
    async fn checkpoint(&self) -> Result<(), BackendError> {
        Ok(())
    }

    /// The `k` paragraphs with the best BM25 score for a keyword query that pass the filter,
    /// exclusions and `must_contain`. Backends without a keyword index answer `Incompatible`.
    async fn keyword(&self, query: KeywordSearch) -> Result<KeywordHits, BackendError> {
        let _ = query;
        Err(BackendError::Incompatible(format!(
            "the {} backend has no keyword index; use mode DENSE",
            self.info().kind
        )))
    }

    /// Figures of the keyword index; `None` when the backend has none.
    async fn keyword_stats(&self) -> Result<Option<KeywordIndexStats>, BackendError> {
        Ok(None)
    }

    /// `Ok` when the backend can answer now; `Unavailable` naming what is down otherwise.
    async fn health(&self) -> Result<(), BackendError> {
        Ok(())
    }
}
