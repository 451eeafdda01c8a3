//! Corpus, model, index and queue figures for the Stats RPC.

use std::sync::atomic::Ordering;

use crate::backend::{BackendInfo, IndexStats, KeywordIndexStats, StoreStats};

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
    /// Vector index parameters and size.
    pub index: IndexStats,
    /// Which backend holds the corpus, and where.
    pub backend: BackendInfo,
    /// Corpus version (changes with every ingestion or deletion).
    pub corpus_version: u64,
    /// Embedding requests served by the queue since start.
    pub embed_requests: u64,
    /// Embedder calls the queue made for them.
    pub embed_batches: u64,
    /// Keyword index figures (`None` when the backend has no keyword index).
    pub keyword: Option<KeywordIndexStats>,
    /// The bilingual glossary in use.
    pub glossary: super::GlossaryStatus,
}

impl Engine {
    /// Collects the current figures.
    pub async fn stats(&self) -> Result<EngineStats, EngineError> {
        let s = self.backend().stats().await?;
        Ok(EngineStats {
            corpus_version: s.store.corpus_version,
            store: s.store,
            model: self.model_name().to_string(),
            dim: self.dim(),
            index: s.index,
            backend: self.backend().info(),
            embed_requests: self.embedder().stats().jobs.load(Ordering::Relaxed),
            embed_batches: self.embedder().stats().batches.load(Ordering::Relaxed),
            keyword: self.backend().keyword_stats().await?,
            glossary: self.glossary_status(),
        })
    }
}
