//! The Qdrant backend: the corpus lives in one collection of a Qdrant server (single node or a
//! cluster), so any number of stateless `simtheme serve` replicas can share it.
//!
//! Layout and ids: [`schema`]. Writes use `wait=true` and deterministic point ids, so a retried
//! ingestion overwrites itself instead of duplicating anything. A document is written with
//! `pending: true` on all its points and committed by one payload update on its document id;
//! searches, counts and listings skip pending points, so a half-written document (a replica
//! killed mid-write) is never visible and is removed at the next start of any replica.

mod error;
mod export;
mod filter;
mod keyword;
mod read;
pub mod schema;
mod setup;
pub mod snapshots;
mod versions;
mod write;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::Qdrant;

use super::{
    Backend, BackendError, BackendInfo, BackendStats, DeletedDocument, DenseHits, DenseQuery, DocumentRecord, DocumentRef,
    ExportedDocument, InsertOutcome, KeywordHits, KeywordIndexStats, KeywordSearch, ParagraphFilter, ParagraphRecord, ParagraphVector,
};
use crate::corpus::PreparedDocument;

use write::MigratedIds;

/// Where the Qdrant collection is and how to create it.
#[derive(Debug, Clone, PartialEq)]
pub struct QdrantSettings {
    /// gRPC URL of a Qdrant node, e.g. `http://127.0.0.1:6334`.
    pub url: String,
    /// API key of the Qdrant server, if it requires one.
    pub api_key: Option<String>,
    /// Collection name. Default `simtheme`.
    pub collection: String,
    /// Shards of a new collection (ignored when it exists). Default 1.
    pub shards: u32,
    /// Copies of each shard in a new collection (ignored when it exists). Default 1.
    pub replication_factor: u32,
    /// Deadline of one Qdrant call. Default 30 s.
    pub timeout: Duration,
    /// Scalar (int8) quantization of a new collection's chunk vectors, kept in RAM, with every
    /// approximate search rescored on the float vectors (ignored when the collection exists).
    /// Default on: a quarter of the vector memory per search, the float vectors only for the
    /// rescoring.
    pub quantization: bool,
    /// Candidates taken on the int8 vectors per result wanted, then rescored on the floats
    /// (collections with quantization). Default [`DEFAULT_OVERSAMPLING`].
    pub oversampling: f64,
    /// Size of the HNSW candidate list of a search; `None` leaves Qdrant's default (the
    /// collection's ef_construct, 100). Default [`DEFAULT_HNSW_EF`].
    pub hnsw_ef: Option<u64>,
}

/// Qdrant gRPC URL used when none is given (a local server's gRPC port).
pub const DEFAULT_URL: &str = "http://127.0.0.1:6334";
/// Collection used when none is given.
pub const DEFAULT_COLLECTION: &str = "simtheme";
/// Shards of a new collection when not told otherwise.
pub const DEFAULT_SHARDS: u32 = 1;
/// Copies of each shard of a new collection when not told otherwise.
pub const DEFAULT_REPLICATION_FACTOR: u32 = 1;
/// Candidates scored on the int8 vectors per result wanted, then rescored on the floats, when
/// not told otherwise. Chosen at 100,000 realistic vectors around the Singapore budget
/// speeches' chunks: recall@10 0.981 at 2, 0.994 at 3, 0.996 at 4, for the same latency.
pub const DEFAULT_OVERSAMPLING: f64 = 4.0;
/// HNSW candidate list of a Qdrant search when not told otherwise (with oversampling 4:
/// recall@10 0.996 at 100,000 vectors; a margin for larger collections).
pub const DEFAULT_HNSW_EF: u64 = 128;
/// Deadline of one Qdrant call when not told otherwise, seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

impl QdrantSettings {
    /// Settings for `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            api_key: None,
            collection: DEFAULT_COLLECTION.into(),
            shards: DEFAULT_SHARDS,
            replication_factor: DEFAULT_REPLICATION_FACTOR,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            quantization: true,
            oversampling: DEFAULT_OVERSAMPLING,
            hnsw_ef: Some(DEFAULT_HNSW_EF),
        }
    }
}

/// A corpus in a Qdrant collection. Cheap to clone.
#[derive(Clone)]
pub struct QdrantBackend {
    inner: Arc<Inner>,
}

struct Inner {
    client: Qdrant,
    settings: QdrantSettings,
    model: String,
    dim: usize,
}

impl std::fmt::Debug for QdrantBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantBackend").field("url", &self.inner.settings.url).field("collection", &self.inner.settings.collection).finish()
    }
}

impl QdrantBackend {
    /// Connects, creates the collection on first use (cosine, `dim`, payload indexes, meta
    /// point), refuses a collection built for another model or dimension, and removes points
    /// of writes that never committed.
    pub async fn open(settings: QdrantSettings, model: &str, dim: usize) -> Result<Self, BackendError> {
        let client = client(&settings)?;
        let inner = Inner { client, settings, model: model.to_string(), dim };
        setup::ensure_collection(&inner).await?;
        write::remove_stale_pending(&inner).await?;
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The model and dimension recorded in the collection; `None` when it does not exist yet.
    /// Creates nothing (for `simtheme migrate`, which copies vectors without a model).
    pub async fn stored_model(settings: &QdrantSettings) -> Result<Option<(String, usize)>, BackendError> {
        let inner = Inner { client: client(settings)?, settings: settings.clone(), model: String::new(), dim: 0 };
        if !inner.client.collection_exists(inner.collection()).await.map_err(inner.err("checking the collection"))? {
            return Ok(None);
        }
        Ok(setup::read_meta(&inner).await?.map(|m| (m.model, m.dim as usize)))
    }

    /// The connection settings.
    pub fn settings(&self) -> &QdrantSettings {
        &self.inner.settings
    }
}

/// A client for the node at `settings.url`.
fn client(settings: &QdrantSettings) -> Result<Qdrant, BackendError> {
    Qdrant::from_url(&settings.url)
        .api_key(settings.api_key.clone())
        .timeout(settings.timeout)
        .connect_timeout(Duration::from_secs(5))
        .skip_compatibility_check()
        .build()
        .map_err(|e| BackendError::InvalidArgument(format!("Qdrant URL {}: {e}", settings.url)))
}

impl Inner {
    fn url(&self) -> &str {
        &self.settings.url
    }

    fn collection(&self) -> &str {
        &self.settings.collection
    }

    fn err(&self, what: &str) -> impl FnOnce(qdrant_client::QdrantError) -> BackendError + '_ {
        let what = what.to_string();
        move |e| error::map(self.url(), &what, e)
    }
}

#[async_trait]
impl Backend for QdrantBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { kind: "qdrant", location: format!("{} collection {}", self.inner.settings.url, self.inner.settings.collection) }
    }

    async fn put_document(&self, doc: Arc<PreparedDocument>, vectors: Arc<Vec<Vec<f32>>>) -> Result<InsertOutcome, BackendError> {
        write::put(&self.inner, &doc, &vectors, None).await
    }

    /// Keeps the exported paragraph ids (so ids clients kept stay valid) and insertion time.
    async fn put_exported(&self, doc: ExportedDocument) -> Result<InsertOutcome, BackendError> {
        let ids = MigratedIds { paragraph_ids: doc.paragraph_ids, created_at: doc.created_at };
        write::put(&self.inner, &doc.document, &doc.vectors, Some(&ids)).await
    }

    async fn contains_document(&self, id: &str) -> Result<bool, BackendError> {
        Ok(read::document(&self.inner, id).await?.is_some())
    }

    async fn missing_documents(&self, ids: &[String]) -> Result<Vec<String>, BackendError> {
        export::missing_documents(&self.inner, ids).await
    }

    async fn export_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<ExportedDocument>, BackendError> {
        export::export_documents(&self.inner, after.as_deref(), limit).await
    }

    async fn delete_document(&self, id: &str) -> Result<DeletedDocument, BackendError> {
        write::delete(&self.inner, id).await
    }

    async fn document(&self, by: DocumentRef) -> Result<Option<DocumentRecord>, BackendError> {
        match by {
            DocumentRef::Id(id) => read::document_record(&self.inner, &id).await,
            DocumentRef::Key(key) => read::document_by_key(&self.inner, &key).await,
        }
    }

    async fn list_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<DocumentRecord>, BackendError> {
        read::list_documents(&self.inner, after.as_deref(), limit).await
    }

    async fn paragraph(&self, id: i64) -> Result<ParagraphRecord, BackendError> {
        read::paragraph(&self.inner, id).await
    }

    async fn paragraph_vector(&self, id: i64) -> Result<ParagraphVector, BackendError> {
        read::paragraph_vector(&self.inner, id).await
    }

    async fn nearest(&self, query: DenseQuery) -> Result<DenseHits, BackendError> {
        if query.must_contain.is_empty() {
            read::nearest(&self.inner, &query).await
        } else {
            keyword::nearest_containing(&self.inner, &query).await
        }
    }

    async fn paragraph_vectors(&self, filter: ParagraphFilter, limit: usize) -> Result<Vec<ParagraphVector>, BackendError> {
        read::paragraph_vectors(&self.inner, &filter, limit).await
    }

    async fn corpus_version(&self) -> Result<u64, BackendError> {
        Ok(setup::meta(&self.inner).await?.corpus_version.max(0) as u64)
    }

    async fn is_empty(&self) -> Result<bool, BackendError> {
        Ok(read::count(&self.inner, filter::of_kind(schema::KIND_DOCUMENT)).await? == 0)
    }

    async fn stats(&self) -> Result<BackendStats, BackendError> {
        read::stats(&self.inner).await
    }

    async fn keyword(&self, query: KeywordSearch) -> Result<KeywordHits, BackendError> {
        keyword::keyword(&self.inner, &query).await
    }

    async fn keyword_stats(&self) -> Result<Option<KeywordIndexStats>, BackendError> {
        // The keyword vectors live on the chunk points: every committed chunk is indexed.
        let documents = read::count(&self.inner, filter::of_kind(schema::KIND_DOCUMENT)).await?;
        let chunks = read::count(&self.inner, filter::of_kind(schema::KIND_CHUNK)).await?;
        Ok(Some(KeywordIndexStats {
            documents,
            chunks,
            size_bytes: 0,
            reconciled_at_start: 0,
            user_dictionary_words: crate::keyword::shared_segmenter().user_words().len() as u64,
        }))
    }

    async fn health(&self) -> Result<(), BackendError> {
        self.inner.client.health_check().await.map(drop).map_err(self.inner.err("health check"))
    }
}
