//! Storage backends: where documents, paragraphs and chunk vectors live, and how nearest
//! chunks are found. The engine talks to one [`Backend`] and never to a database or an index
//! directly, so the embedded default ([`embedded::EmbeddedBackend`]: SQLite + hnsw_rs in the
//! data directory) and a shared vector database can serve the same RPCs with the same answers.
//!
//! Data flows one way: service -> engine -> backend. A backend knows nothing of gRPC or of the
//! model; it stores what it is given and answers filtered vector searches at paragraph level
//! (a paragraph scores as its best chunk).

mod config;
pub mod embedded;
mod error;
mod filter;
mod keyword_search;
pub mod qdrant;
mod types;

use std::sync::Arc;

use async_trait::async_trait;

use crate::corpus::PreparedDocument;

pub use config::{BackendConfig, EmbeddedConfig, LargeSearch, DEFAULT_EXACT_SEARCH_BELOW};
pub use error::BackendError;
pub use filter::{ParagraphFilter, YearFilter};
pub use keyword_search::{KeywordHits, KeywordIndexStats, KeywordParagraphHit, KeywordSearch};
pub use types::{
    BackendInfo, BackendStats, DeletedDocument, DenseHits, DenseQuery, DocumentRecord, DocumentRef, Exclusions, ExportedDocument,
    HnswStats, IndexStats, InsertOutcome, ModelStats, ParagraphHit, ParagraphRecord, ParagraphVector, StoreStats, YearCount,
};

/// The embedding model and dimension of the vectors the backend `config` names holds, read
/// without a model and without creating anything; `None` when it holds no vectors yet.
/// `Incompatible` when an embedded store holds vectors of several models.
pub async fn stored_model(config: &BackendConfig) -> Result<Option<(String, usize)>, BackendError> {
    match config {
        BackendConfig::Embedded(c) => {
            let dir = c.data_dir.clone();
            tokio::task::spawn_blocking(move || embedded::stored_model(&dir)).await?
        }
        BackendConfig::Qdrant(settings) => qdrant::QdrantBackend::stored_model(settings).await,
    }
}

/// Opens the backend `config` names for vectors of `model` (`dim` dimensions): for the embedded
/// one the store in its data directory, the index dump or a rebuild from the stored vectors
/// (blocking work, run off the async runtime); for Qdrant a connection and the collection
/// (created on first use, refused when it holds another model's vectors).
pub async fn open(config: &BackendConfig, model: &str, dim: usize) -> Result<Arc<dyn Backend>, BackendError> {
    match config {
        BackendConfig::Embedded(c) => {
            let settings = embedded::EmbeddedSettings {
                data_dir: c.data_dir.clone(),
                model: model.to_string(),
                dim,
                index: c.index,
                exact_search_below: c.exact_search_below,
                large_search: c.large_search,
            };
            let backend = tokio::task::spawn_blocking(move || embedded::EmbeddedBackend::open(settings)).await??;
            Ok(Arc::new(backend))
        }
        BackendConfig::Qdrant(settings) => Ok(Arc::new(qdrant::QdrantBackend::open(settings.clone(), model, dim).await?)),
    }
}

/// What the engine needs from storage. Implementations are shared between requests
/// (`Arc<dyn Backend>`); every method may be called concurrently.
///
/// Contract shared by all implementations (the end-to-end tests run against each):
/// * a document is stored whole or not at all, and storing the same document id again changes
///   nothing ([`InsertOutcome::AlreadyPresent`]);
/// * a keyed document replaces the stored version of its key ([`InsertOutcome::Inserted`]'s
///   `replaced`); at most one version of a key is stored once the call returns, and a search
///   never returns paragraphs of two versions of one key;
/// * one call answers for many documents where the engine may ask about many
///   ([`Backend::missing_documents`], [`Backend::export_documents`]);
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

    /// Those of `ids` that are not stored, in the order given, each once. One query however
    /// many ids (search filters name up to 1,000 documents).
    async fn missing_documents(&self, ids: &[String]) -> Result<Vec<String>, BackendError>;

    /// Deletes a document with its paragraphs and vectors; `NotFound` when it is not stored.
    async fn delete_document(&self, id: &str) -> Result<DeletedDocument, BackendError>;

    /// One stored document by id or by key; `None` when none is stored under it.
    async fn document(&self, by: DocumentRef) -> Result<Option<DocumentRecord>, BackendError>;

    /// Up to `limit` documents ordered by id, strictly after `after`.
    async fn list_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<DocumentRecord>, BackendError>;

    /// Up to `limit` stored documents read back whole (paragraphs, chunks, vectors, duplicates,
    /// paragraph ids, insertion time), ordered by id, strictly after `after`: pages through the
    /// corpus to copy it into another backend. An empty page means the end.
    async fn export_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<ExportedDocument>, BackendError>;

    /// Stores a document exported from another backend through the normal write path
    /// ([`Backend::put_document`]'s contract), keeping its paragraph ids and insertion time
    /// where the backend can assign ids (Qdrant); the default stores it as a new document
    /// (the embedded store assigns its own paragraph ids).
    async fn put_exported(&self, doc: ExportedDocument) -> Result<InsertOutcome, BackendError> {
        self.put_document(Arc::new(doc.document), Arc::new(doc.vectors)).await
    }

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
        Err(BackendError::Incompatible(format!("the {} backend has no keyword index; use mode DENSE", self.info().kind)))
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
