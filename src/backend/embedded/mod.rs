//! The embedded backend, the zero-setup default: a SQLite store ([`store`]) and an
//! in-process HNSW index ([`index`]) in the data directory, plus an in-memory catalog
//! (chunk -> paragraph -> document, with the metadata filters need).
//!
//! Writes go to SQLite first (one transaction per document), then to the catalog and the
//! index, all under the write-order lock so concurrent writes reach them in the same order;
//! searches read through their own SQLite connection and wait for no write (see `write`). The
//! index is derived state: it is dumped to `data_dir/index` on checkpoints and rebuilt from the
//! stored vectors when the dump is missing or stale. The keyword index (`data_dir/keyword`,
//! see [`keyword`]) is derived state too, committed with every write and reconciled with the
//! store at open.

pub mod backup;
mod catalog;
pub mod index;
#[cfg(test)]
mod keys_tests;
mod keyword;
mod read;
mod search;
pub mod store;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use async_trait::async_trait;

use super::{
    Backend, BackendError, BackendInfo, BackendStats, DeletedDocument, DenseHits, DenseQuery, DocumentRecord, DocumentRef,
    ExportedDocument, InsertOutcome, KeywordHits, KeywordIndexStats, KeywordSearch, ParagraphFilter, ParagraphRecord, ParagraphVector,
};
use crate::corpus::PreparedDocument;
use crate::keyword::KeywordIndex;
use index::{ChunkIndex, IndexParams};
use store::{Store, StoreError};

pub use catalog::{Catalog, DocInfo};
pub use read::sample_key;

/// Settings of the embedded backend.
#[derive(Debug, Clone)]
pub struct EmbeddedSettings {
    /// Directory of the SQLite store and the index dump.
    pub data_dir: PathBuf,
    /// Model the vectors come from (vectors of other models in the store are ignored).
    pub model: String,
    /// Vector dimension of that model.
    pub dim: usize,
    /// HNSW parameters.
    pub index: IndexParams,
    /// Below this many chunks every search is an exact scan.
    pub exact_search_below: usize,
    /// What answers searches at or above `exact_search_below` chunks.
    pub large_search: crate::backend::LargeSearch,
}

/// SQLite + hnsw_rs in the data directory. Cheap to clone (shared state).
#[derive(Clone)]
pub struct EmbeddedBackend {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    settings: EmbeddedSettings,
    /// Held by every write (and the index dump) from its SQLite transaction to its last index
    /// update, so writes reach store, catalog, vector index and keyword index in one order,
    /// while searches only wait for the short steps that touch what they read.
    writes: Mutex<()>,
    store: Mutex<Store>,
    /// A read-only connection for searches and reads: with SQLite's WAL they do not wait for
    /// a page's write transaction on `store`.
    reader: Mutex<Store>,
    index: RwLock<ChunkIndex>,
    catalog: RwLock<Catalog>,
    /// Held shared by every search from its first look at the catalog to its last store read;
    /// a replacement takes it exclusively (and lets go at once) after its catalog swap, to know
    /// that no search still reads the version it is about to delete.
    search_gate: RwLock<()>,
    /// Set when the index changed since it was last written to disk.
    index_dirty: Mutex<bool>,
    /// BM25 index of the chunk texts (`data_dir/keyword`), committed with every write.
    keyword: KeywordIndex,
    /// Documents re-indexed or removed at open to agree with the store.
    keyword_reconciled: u64,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend").field("data_dir", &self.inner.settings.data_dir).finish()
    }
}

impl EmbeddedBackend {
    /// Opens the store under `settings.data_dir` (creating it), builds the catalog, and loads
    /// the index dump or rebuilds the index from the stored vectors. Blocking.
    pub fn open(settings: EmbeddedSettings) -> Result<Self, BackendError> {
        let mut store = Store::open(&settings.data_dir)?;
        // Versions replaced by a newer one of their key but not deleted yet: a replacement
        // was interrupted after its SQLite commit. The new version is whole; finish the job.
        for old in store.replaced_documents()? {
            tracing::warn!(document = %old, "deleting a version replaced before the last stop");
            store.delete_document(&old)?;
        }
        let catalog = build_catalog(&store)?;
        let index = load_or_build_index(&settings, &store)?;
        let (keyword, keyword_reconciled) = keyword::open_keyword_index(&settings.data_dir, &store)?;
        let reader = Store::open_reader(&settings.data_dir)?;
        let inner = Inner {
            settings,
            writes: Mutex::new(()),
            reader: Mutex::new(reader),
            store: Mutex::new(store),
            index: RwLock::new(index),
            catalog: RwLock::new(catalog),
            search_gate: RwLock::new(()),
            index_dirty: Mutex::new(false),
            keyword,
            keyword_reconciled,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Runs blocking work on the shared state off the async runtime.
    async fn blocking<T, F>(&self, f: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, BackendError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }
}

impl Inner {
    /// The write-order lock (see [`Inner::writes`]); taken before any other lock.
    pub(crate) fn write_order(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The read-only connection (see [`Inner::reader`]'s field): for reads that must not
    /// wait for a write transaction.
    pub(crate) fn reader(&self) -> MutexGuard<'_, Store> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn index(&self) -> RwLockReadGuard<'_, ChunkIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, ChunkIndex> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn catalog_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The search gate, shared (see [`Inner::search_gate`]'s field): taken once per search,
    /// at its outermost call, never twice by one thread.
    pub(crate) fn search_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.search_gate.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once every search that started before this call has finished. The caller
    /// holds no lock a search takes.
    pub(crate) fn wait_for_searches_before_now(&self) {
        drop(self.search_gate.write().unwrap_or_else(|p| p.into_inner()));
    }

    pub(crate) fn mark_index_dirty(&self) {
        *self.index_dirty.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Writes the index dump if it changed since the last one.
    fn persist_index(&self) -> Result<bool, BackendError> {
        // No write between the store's fingerprint and the index it describes.
        let _writes = self.write_order();
        let mut dirty = self.index_dirty.lock().unwrap_or_else(|p| p.into_inner());
        if !*dirty {
            return Ok(false);
        }
        let fingerprint = fingerprint(&self.settings, &self.store())?;
        self.index().save(&index_dir(&self.settings.data_dir), &fingerprint)?;
        *dirty = false;
        Ok(true)
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { kind: "embedded", location: self.inner.settings.data_dir.display().to_string() }
    }

    async fn put_document(&self, doc: Arc<PreparedDocument>, vectors: Arc<Vec<Vec<f32>>>) -> Result<InsertOutcome, BackendError> {
        // Ingestion's storing runs below the searches' priority: it holds no lock a search
        // waits for longer than a vector copy (see `write`).
        let inner = Arc::clone(&self.inner);
        crate::priority::in_background(move || inner.put_document(&doc, &vectors)).await?
    }

    async fn contains_document(&self, id: &str) -> Result<bool, BackendError> {
        let id = id.to_string();
        self.blocking(move |i| Ok(i.reader().contains_document(&id)?)).await
    }

    async fn missing_documents(&self, ids: &[String]) -> Result<Vec<String>, BackendError> {
        let ids = ids.to_vec();
        self.blocking(move |i| Ok(i.reader().missing_documents(&ids)?)).await
    }

    async fn export_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<ExportedDocument>, BackendError> {
        self.blocking(move |i| {
            let reader = i.reader();
            let mut out = Vec::new();
            for d in reader.list_documents(after.as_deref(), limit)? {
                match reader.export_document(&d.id) {
                    Ok(e) => out.push(e),
                    // Deleted since the listing: not part of the corpus any more.
                    Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_document(&self, id: &str) -> Result<DeletedDocument, BackendError> {
        let id = id.to_string();
        self.blocking(move |i| {
            let deleted = i.delete_document(&id)?;
            if let Err(e) = i.persist_index() {
                tracing::warn!("could not write the index dump: {e}");
            }
            Ok(deleted)
        })
        .await
    }

    async fn list_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<DocumentRecord>, BackendError> {
        self.blocking(move |i| Ok(i.reader().list_documents(after.as_deref(), limit)?)).await
    }

    async fn document(&self, by: DocumentRef) -> Result<Option<DocumentRecord>, BackendError> {
        self.blocking(move |i| {
            let reader = i.reader();
            let id = match by {
                DocumentRef::Id(id) => id,
                DocumentRef::Key(key) => match reader.document_id_by_key(&key)? {
                    Some(id) => id,
                    None => return Ok(None),
                },
            };
            match reader.document(&id) {
                Ok(d) => Ok(Some(d)),
                Err(StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn paragraph(&self, id: i64) -> Result<ParagraphRecord, BackendError> {
        self.blocking(move |i| Ok(i.reader().paragraph(id)?)).await
    }

    async fn paragraph_vector(&self, id: i64) -> Result<ParagraphVector, BackendError> {
        self.blocking(move |i| i.paragraph_vector(id)).await
    }

    async fn nearest(&self, query: DenseQuery) -> Result<DenseHits, BackendError> {
        self.blocking(move |i| {
            let _gate = i.search_gate();
            i.nearest(&query)
        })
        .await
    }

    async fn paragraph_vectors(&self, filter: ParagraphFilter, limit: usize) -> Result<Vec<ParagraphVector>, BackendError> {
        self.blocking(move |i| {
            let _gate = i.search_gate();
            i.paragraph_vectors(&filter, limit)
        })
        .await
    }

    async fn corpus_version(&self) -> Result<u64, BackendError> {
        self.blocking(|i| Ok(i.reader().corpus_version()?)).await
    }

    async fn is_empty(&self) -> Result<bool, BackendError> {
        self.blocking(|i| Ok(i.reader().is_empty()?)).await
    }

    async fn stats(&self) -> Result<BackendStats, BackendError> {
        self.blocking(|i| i.stats()).await
    }

    async fn keyword(&self, query: KeywordSearch) -> Result<KeywordHits, BackendError> {
        self.blocking(move |i| {
            let _gate = i.search_gate();
            i.keyword_search(&query)
        })
        .await
    }

    async fn keyword_stats(&self) -> Result<Option<KeywordIndexStats>, BackendError> {
        self.blocking(|i| i.keyword_stats().map(Some)).await
    }

    async fn checkpoint(&self) -> Result<(), BackendError> {
        self.blocking(|i| i.persist_index().map(drop)).await
    }
}

/// The model and dimension of the vectors stored in `data_dir`; `None` when there is no store
/// or it holds no vectors. `Incompatible` when vectors of several models are stored.
pub(crate) fn stored_model(data_dir: &Path) -> Result<Option<(String, usize)>, BackendError> {
    if !data_dir.join(store::DB_FILE_NAME).exists() {
        return Ok(None);
    }
    let models: Vec<_> = Store::open(data_dir)?.stats()?.models.into_iter().filter(|m| m.chunks > 0).collect();
    match models.as_slice() {
        [] => Ok(None),
        [m] => Ok(Some((m.model_id.clone(), m.dim as usize))),
        _ => Err(BackendError::Incompatible(format!(
            "the store in {} holds vectors of several models ({}); a backend holds one model",
            data_dir.display(),
            models.iter().map(|m| m.model_id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}

/// Identifies the stored vectors the index was built from: model, dimension, corpus version
/// and HNSW parameters. A dump with another fingerprint is stale and gets rebuilt.
fn fingerprint(settings: &EmbeddedSettings, store: &Store) -> Result<String, BackendError> {
    let p = &settings.index;
    Ok(format!("model={} dim={} corpus={} m={} efc={}", settings.model, settings.dim, store.corpus_version()?, p.m, p.ef_construction))
}

fn load_or_build_index(settings: &EmbeddedSettings, store: &Store) -> Result<ChunkIndex, BackendError> {
    let fp = fingerprint(settings, store)?;
    let started = Instant::now();
    let dir = index_dir(&settings.data_dir);
    // The graph is kept only where it answers searches (`--large-search hnsw`).
    let graph = settings.large_search == crate::backend::LargeSearch::Hnsw;
    if let Some(mut index) = ChunkIndex::load_with_graph(&dir, &fp, graph)? {
        index.set_ef_search(settings.index.ef_search);
        tracing::info!(points = index.len(), ms = started.elapsed().as_millis() as u64, "index loaded from dump");
        return Ok(index);
    }
    let vectors = store.all_chunk_vectors(&settings.model)?;
    let mut index = if graph {
        ChunkIndex::new(settings.dim, settings.index, vectors.len())
    } else {
        ChunkIndex::without_graph(settings.dim, settings.index, vectors.len())
    };
    let items: Vec<(u64, &[f32])> = vectors.iter().map(|(id, v)| (*id as u64, v.as_slice())).collect();
    index.insert(&items)?;
    if !vectors.is_empty() {
        index.save(&dir, &fp)?;
    }
    tracing::info!(points = index.len(), ms = started.elapsed().as_millis() as u64, "index rebuilt from stored vectors");
    Ok(index)
}

fn build_catalog(store: &Store) -> Result<Catalog, BackendError> {
    let mut catalog = Catalog::default();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_documents(after.as_deref(), 500)?;
        if page.is_empty() {
            break;
        }
        for d in &page {
            catalog.set_document(&d.id, DocInfo { year: d.year, tags: d.tags.clone() });
        }
        after = page.last().map(|d| d.id.clone());
    }
    for (chunk, paragraph, document) in store.chunk_catalog()? {
        catalog.add_chunk(chunk, paragraph, &document);
    }
    Ok(catalog)
}
