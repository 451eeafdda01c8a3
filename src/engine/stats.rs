//! Corpus, model and index figures for the Stats RPC and `simtheme stats`.

use std::sync::atomic::Ordering;

use crate::index::IndexParams;
use crate::store::StoreStats;

use super::{Engine, EngineError};

/// A snapshot of the engine's state.
#[derive(Debug, Clone)]
pub struct EngineStats {
    /// Store counts (documents, paragraphs, chunks, duplicates, years).
    pub store: StoreStats,
    /// Model name.
    pub model: String,
    /// Vector dimension.
    pub dim: usize,
    /// HNSW parameters.
    pub index_params: IndexParams,
    /// Live vectors in the index.
    pub index_points: usize,
    /// Tombstoned vectors still in the graph.
    pub index_tombstones: usize,
    /// Corpus version (changes with every ingestion or deletion).
    pub corpus_version: u64,
    /// Embedding requests served by the queue since start.
    pub embed_requests: u64,
    /// Embedder calls the queue made for them.
    pub embed_batches: u64,
}

impl Engine {
    /// Collects the current figures.
    pub fn stats(&self) -> Result<EngineStats, EngineError> {
        let store = self.store();
        let stats = store.stats()?;
        let corpus_version = store.corpus_version()?;
        drop(store);
        let index = self.index();
        Ok(EngineStats {
            store: stats,
            model: self.model_name().to_string(),
            dim: self.dim(),
            index_params: *index.params(),
            index_points: index.len(),
            index_tombstones: index.tombstones(),
            corpus_version,
            embed_requests: self.queue().stats().jobs.load(Ordering::Relaxed),
            embed_batches: self.queue().stats().batches.load(Ordering::Relaxed),
        })
    }
}
