//! The library core: one `Engine` owns the embedder queue, the store, the chunk index and the
//! catalog, and offers every operation the gRPC service and the CLI expose. Blocking work
//! (storage, index) runs on the caller's thread: async callers wrap it in `spawn_blocking`.
//! Embedding goes through the shared [`EmbedQueue`], which batches concurrent requests.

mod catalog;
mod error;
pub mod filter;
mod ingest;
mod search;
mod seeds;
mod stats;
mod themes;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use crate::config::Config;
use crate::embed::{EmbedQueue, Embedder};
use crate::index::ChunkIndex;
use crate::store::Store;

pub use catalog::{Catalog, DocInfo, Exclusions};
pub use error::EngineError;
pub use filter::{ParagraphFilter, YearFilter};
pub use ingest::{Format, IngestInput, IngestResult, IngestStatus};
pub use search::{ParagraphHit, QueryInput, SearchRequest, SearchResponse};
pub use seeds::SEED_DOCUMENTS;
pub use stats::EngineStats;
pub use themes::{ThemeQuery, ThemesCache, ThemesRun};

/// The running state of one simtheme instance.
pub struct Engine {
    config: Config,
    queue: EmbedQueue,
    store: Mutex<Store>,
    index: RwLock<ChunkIndex>,
    catalog: RwLock<Catalog>,
    /// Set when the index changed since it was last written to disk.
    index_dirty: Mutex<bool>,
    /// Themes results of the current corpus version.
    themes_cache: Mutex<ThemesCache>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("data_dir", &self.config.data_dir).finish()
    }
}

impl Engine {
    /// Loads the model, opens the store under `config.data_dir`, loads the index dump or
    /// rebuilds it from the stored vectors. Blocking (seconds: the model load dominates).
    pub fn open(config: Config) -> Result<Arc<Engine>, EngineError> {
        let embedder = Embedder::load(&config.embedder).map_err(|e| EngineError::Internal(e.to_string()))?;
        Self::with_embedder(config, Arc::new(embedder))
    }

    /// Like [`Engine::open`] with an already loaded embedder (tests share one).
    pub fn with_embedder(config: Config, embedder: Arc<Embedder>) -> Result<Arc<Engine>, EngineError> {
        let queue = EmbedQueue::start(embedder, config.queue_capacity, config.queue_batch_tokens);
        let store = Store::open(&config.data_dir)?;
        let catalog = build_catalog(&store)?;
        let index = load_or_build_index(&config, &store, queue.embedder())?;
        Ok(Arc::new(Engine {
            config,
            queue,
            store: Mutex::new(store),
            index: RwLock::new(index),
            catalog: RwLock::new(catalog),
            index_dirty: Mutex::new(false),
            themes_cache: Mutex::new(ThemesCache::default()),
        }))
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The shared embedding queue.
    pub fn queue(&self) -> &EmbedQueue {
        &self.queue
    }

    /// Model name.
    pub fn model_name(&self) -> &str {
        self.queue.embedder().name()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.queue.embedder().dim()
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
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

    pub(crate) fn mark_index_dirty(&self) {
        *self.index_dirty.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Writes the index dump if it changed, so the next start need not rebuild it.
    pub fn persist_index(&self) -> Result<bool, EngineError> {
        let mut dirty = self.index_dirty.lock().unwrap_or_else(|p| p.into_inner());
        if !*dirty {
            return Ok(false);
        }
        let fingerprint = fingerprint(&self.config, &self.store(), self.queue.embedder())?;
        self.index().save(&index_dir(&self.config), &fingerprint)?;
        *dirty = false;
        Ok(true)
    }

    /// Ingests the shipped seed documents when the store is empty (and the config allows it).
    /// Returns the results, empty when nothing was done.
    pub fn seed_if_empty(self: &Arc<Self>) -> Result<Vec<IngestResult>, EngineError> {
        if !self.config.seed_when_empty || !self.store().is_empty()? {
            return Ok(Vec::new());
        }
        let inputs = SEED_DOCUMENTS
            .iter()
            .map(|(name, text)| IngestInput { text: text.to_string(), name: format!("seeds/{name}"), ..Default::default() })
            .collect();
        let results = self.ingest_blocking(inputs);
        self.persist_index()?;
        Ok(results)
    }
}

fn index_dir(config: &Config) -> PathBuf {
    config.data_dir.join("index")
}

/// Identifies the stored vectors the index was built from: model, dimension, corpus version
/// and HNSW parameters. A dump with another fingerprint is stale and gets rebuilt.
fn fingerprint(config: &Config, store: &Store, embedder: &Embedder) -> Result<String, EngineError> {
    let p = &config.index;
    Ok(format!(
        "model={} dim={} corpus={} m={} efc={}",
        embedder.name(),
        embedder.dim(),
        store.corpus_version()?,
        p.m,
        p.ef_construction
    ))
}

fn load_or_build_index(config: &Config, store: &Store, embedder: &Embedder) -> Result<ChunkIndex, EngineError> {
    let fp = fingerprint(config, store, embedder)?;
    let started = Instant::now();
    if let Some(mut index) = ChunkIndex::load(&index_dir(config), &fp)? {
        index.set_ef_search(config.index.ef_search);
        tracing::info!(points = index.len(), ms = started.elapsed().as_millis() as u64, "index loaded from dump");
        return Ok(index);
    }
    let vectors = store.all_chunk_vectors(embedder.name())?;
    let mut index = ChunkIndex::new(embedder.dim(), config.index, vectors.len());
    let items: Vec<(u64, &[f32])> = vectors.iter().map(|(id, v)| (*id as u64, v.as_slice())).collect();
    index.insert(&items)?;
    if !vectors.is_empty() {
        index.save(&index_dir(config), &fp)?;
    }
    tracing::info!(points = index.len(), ms = started.elapsed().as_millis() as u64, "index rebuilt from stored vectors");
    Ok(index)
}

fn build_catalog(store: &Store) -> Result<Catalog, EngineError> {
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
