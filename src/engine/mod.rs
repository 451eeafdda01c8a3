//! The library core: one `Engine` owns an embedder and a storage [`Backend`], and offers every
//! operation the gRPC service and the CLI expose. It validates every request and applies every
//! default (the callers only convert their types), so each limit and default has one home.
//! Embedding goes through a [`TextEmbedder`]: in production the shared [`EmbedQueue`], which
//! batches concurrent requests in front of the model; in tests possibly a
//! [`crate::embed::FakeEmbedder`]. Storage and search go through the backend, which is the
//! embedded SQLite + hnsw_rs pair unless the configuration names another.

mod documents;
mod embedding;
mod error;
mod glossary;
mod hybrid;
mod ingest;
mod reuse;
mod search;
mod seeds;
mod stats;
mod theme_tree;
mod themes;

use std::sync::{Arc, Mutex, RwLock};

use crate::backend::Backend;
use crate::config::Config;
use crate::embed::{EmbedQueue, Embedder, TextEmbedder};
use crate::glossary::Glossary;

pub use crate::backend::{DocumentRef, Exclusions, ParagraphFilter, ParagraphHit, YearFilter};
pub use crate::config::SearchMode;
pub use documents::{DocumentPage, ParagraphPage, DEFAULT_PAGE_SIZE, DEFAULT_PARAGRAPH_PAGE, MAX_PAGE_SIZE};
pub use embedding::{EmbedOutput, Similarity, DEFAULT_EMBED_MODE};
pub use error::EngineError;
pub use glossary::{BridgeUsed, GlossaryStatus};
pub use ingest::{
    Format, IngestInput, IngestResult, IngestStatus, IngestTimings, MAX_KEY_CHARS, MAX_NAME_CHARS, MAX_SOURCE_CHARS, MAX_TAGS,
    MAX_TAG_CHARS, MAX_TITLE_CHARS,
};
pub use reuse::{ReuseQuery, ReuseScope};
pub use search::{Provenance, QueryInput, SearchHit, SearchRequest, SearchResponse, DEFAULT_K};
pub use seeds::SEED_DOCUMENTS;
pub use stats::EngineStats;
pub use theme_tree::{
    policy_limit, year_examples_count, ThemeTreeQuery, ThemeTreeRun, DEFAULT_POLICIES, MAX_POLICIES, MAX_TREE_LEVELS, MAX_YEAR_EXAMPLES,
};
pub use themes::{ThemeRequest, ThemesCache, ThemesOverTime, ThemesRun, DEFAULT_ASSIGN_TOP, MAX_ASSIGN_TOP, MAX_KEYWORDS};

/// The running state of one simtheme instance.
pub struct Engine {
    config: Config,
    embedder: Arc<dyn TextEmbedder>,
    backend: Arc<dyn Backend>,
    /// Themes results of the current corpus version.
    themes_cache: Mutex<ThemesCache>,
    /// The bilingual glossary in use (swapped whole on reload).
    glossary: RwLock<Arc<Glossary>>,
    /// Why the last glossary reload failed ("" when it did not).
    glossary_error: Mutex<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("backend", &self.backend.info()).finish()
    }
}

impl Engine {
    /// Loads the model and opens the configured backend through [`crate::backend::open`].
    /// Seconds: the model load dominates.
    pub async fn open(config: Config) -> Result<Arc<Engine>, EngineError> {
        let embedder_config = config.embedder.clone();
        let embedder = tokio::task::spawn_blocking(move || Embedder::load(&embedder_config))
            .await
            .map_err(|e| EngineError::Internal(format!("model loading task failed: {e}")))?
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        Self::with_embedder(config, Arc::new(embedder)).await
    }

    /// Like [`Engine::open`] with an already loaded embedder (tests share one).
    pub async fn with_embedder(config: Config, embedder: Arc<Embedder>) -> Result<Arc<Engine>, EngineError> {
        let backend = crate::backend::open(&config.backend, embedder.name(), embedder.dim()).await?;
        Ok(Self::with_backend(config, embedder, backend))
    }

    /// An engine over a backend the caller opened; the model runs behind a new
    /// [`EmbedQueue`] configured by `config.queue`.
    pub fn with_backend(config: Config, embedder: Arc<Embedder>, backend: Arc<dyn Backend>) -> Arc<Engine> {
        let queue = EmbedQueue::start_with(embedder, config.queue.clone());
        Self::new(config, Arc::new(queue), backend)
    }

    /// An engine over any [`TextEmbedder`] (e.g. [`crate::embed::FakeEmbedder`]), opening the
    /// configured backend for its model name and dimension.
    pub async fn with_text_embedder(config: Config, embedder: Arc<dyn TextEmbedder>) -> Result<Arc<Engine>, EngineError> {
        let backend = crate::backend::open(&config.backend, embedder.name(), embedder.dim()).await?;
        Ok(Self::new(config, embedder, backend))
    }

    /// An engine over an embedder and a backend the caller made.
    pub fn new(config: Config, embedder: Arc<dyn TextEmbedder>, backend: Arc<dyn Backend>) -> Arc<Engine> {
        Arc::new(Engine {
            config,
            embedder,
            backend,
            themes_cache: Mutex::new(ThemesCache::default()),
            glossary: RwLock::new(Arc::new(Glossary::shipped())),
            glossary_error: Mutex::new(String::new()),
        })
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The embedder (in production the shared embedding queue; its counters in `stats()`).
    pub fn embedder(&self) -> &dyn TextEmbedder {
        self.embedder.as_ref()
    }

    /// The storage backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Model name.
    pub fn model_name(&self) -> &str {
        self.embedder.name()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.embedder.dim()
    }

    /// Makes the backend's derived state durable (the index dump) so the next start is fast.
    pub async fn checkpoint(&self) -> Result<(), EngineError> {
        Ok(self.backend.checkpoint().await?)
    }

    /// `Ok` when storage answers; `Unavailable` naming what is down otherwise.
    pub async fn health(&self) -> Result<(), EngineError> {
        Ok(self.backend.health().await?)
    }

    /// Ingests the shipped seed documents when the store is empty (and the config allows it).
    /// Returns the results, empty when nothing was done.
    pub async fn seed_if_empty(self: &Arc<Self>) -> Result<Vec<IngestResult>, EngineError> {
        if !self.config.seed_when_empty || !self.backend.is_empty().await? {
            return Ok(Vec::new());
        }
        let inputs = SEED_DOCUMENTS
            .iter()
            .map(|(name, text)| IngestInput { text: text.to_string(), name: format!("seeds/{name}"), ..Default::default() })
            .collect();
        let results = self.ingest(inputs).await;
        Ok(results)
    }
}

#[cfg(test)]
mod tests;
