//! Themes over the stored paragraphs: gathers paragraph vectors (normalised mean of their
//! chunks), runs [`crate::themes`], and caches results per (corpus version, parameters).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::backend::{ParagraphRecord, ParagraphVector};
use crate::themes::{cluster_themes, ThemeInput, ThemeParams, ThemesError, ThemesResult};

use super::{Engine, EngineError, ParagraphFilter};

/// What to cluster and how.
#[derive(Debug, Clone, Default)]
pub struct ThemeQuery {
    /// Clustering parameters.
    pub params: ThemeParams,
    /// Which paragraphs take part.
    pub filter: ParagraphFilter,
}

/// A computed themes result with the inputs it was computed from.
#[derive(Debug)]
pub struct ThemesRun {
    /// Stable id: hash of corpus version, parameters and filter.
    pub result_id: String,
    /// The themes.
    pub result: ThemesResult,
    /// Clustered paragraphs (same order as given to the clustering).
    pub inputs: Vec<ThemeInput>,
    /// Their stored records, by paragraph id.
    pub records: HashMap<i64, ParagraphRecord>,
    /// Corpus version computed on.
    pub corpus_version: u64,
    /// Milliseconds the computation took.
    pub elapsed_ms: f64,
}

/// Cache of themes results; emptied whenever the corpus version moves on.
#[derive(Debug, Default)]
pub struct ThemesCache {
    version: Option<u64>,
    runs: HashMap<String, Arc<ThemesRun>>,
    trees: HashMap<String, Arc<super::theme_tree::ThemeTreeRun>>,
}

impl ThemesCache {
    /// Empties the cache when the corpus moved on from the version it holds.
    pub(crate) fn sync(&mut self, version: u64) {
        if self.version != Some(version) {
            self.version = Some(version);
            self.runs.clear();
            self.trees.clear();
        }
    }

    /// The cached tree `id` of corpus `version`, if any.
    pub(crate) fn tree(&mut self, version: u64, id: &str) -> Option<Arc<super::theme_tree::ThemeTreeRun>> {
        self.sync(version);
        self.trees.get(id).cloned()
    }

    /// Caches a tree computed on `version` (dropped when the corpus moved on meanwhile).
    pub(crate) fn put_tree(&mut self, version: u64, id: String, run: Arc<super::theme_tree::ThemeTreeRun>) {
        if self.version == Some(version) {
            if self.trees.len() >= CACHE_CAPACITY {
                self.trees.clear();
            }
            self.trees.insert(id, run);
        }
    }
}

/// Upper bound of cached results (oldest parameters are not tracked: the cache is simply
/// cleared when full).
const CACHE_CAPACITY: usize = 32;

impl From<ThemesError> for EngineError {
    fn from(e: ThemesError) -> Self {
        match e {
            ThemesError::InvalidArgument(m) => EngineError::InvalidArgument(m),
            ThemesError::NoData(m) => EngineError::NotFound(m),
            ThemesError::Output(m) => EngineError::Internal(m),
        }
    }
}

fn result_id(version: u64, q: &ThemeQuery) -> String {
    let key = format!("v{version}|{:?}|{:?}", q.params, q.filter);
    let mut id = hex::encode(Sha256::digest(key.as_bytes()));
    id.truncate(16);
    id
}

impl Engine {
    /// Themes for `query`, from the cache when the corpus has not changed. The clustering runs
    /// on the blocking pool. Returns the run and whether it came from the cache.
    pub async fn themes(&self, query: &ThemeQuery) -> Result<(Arc<ThemesRun>, bool), EngineError> {
        query.filter.validate()?;
        if query.params.keywords_per_theme > 50 {
            return Err(EngineError::InvalidArgument("keywords must be at most 50".into()));
        }
        let version = self.backend().corpus_version().await?;
        let id = result_id(version, query);
        {
            let mut c = self.themes_cache.lock().unwrap_or_else(|p| p.into_inner());
            c.sync(version);
            if let Some(run) = c.runs.get(&id) {
                return Ok((Arc::clone(run), true));
            }
        }
        let started = Instant::now();
        let (inputs, records) = self.theme_inputs(&query.filter).await?;
        if let Some(k) = query.params.target_themes {
            if k > inputs.len() {
                return Err(EngineError::InvalidArgument(format!(
                    "target_themes {k} is more than the {} paragraphs to cluster",
                    inputs.len()
                )));
            }
        }
        let params = query.params.clone();
        let (result, inputs) = tokio::task::spawn_blocking(move || cluster_themes(&inputs, &params).map(|r| (r, inputs)))
            .await
            .map_err(|e| EngineError::Internal(format!("clustering task failed: {e}")))??;
        let run = Arc::new(ThemesRun {
            result_id: id.clone(),
            result,
            inputs,
            records,
            corpus_version: version,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        });
        let mut c = self.themes_cache.lock().unwrap_or_else(|p| p.into_inner());
        if c.version == Some(version) {
            if c.runs.len() >= CACHE_CAPACITY {
                c.runs.clear();
            }
            c.runs.insert(id, Arc::clone(&run));
        }
        Ok((run, false))
    }
}

impl Engine {
    /// The stored paragraphs passing `filter` (at most `max_theme_paragraphs`, a fixed sample
    /// above) as clustering inputs, with their records by id. `InvalidArgument` when none.
    pub(crate) async fn theme_inputs(&self, filter: &ParagraphFilter) -> Result<(Vec<ThemeInput>, HashMap<i64, ParagraphRecord>), EngineError> {
        let limit = self.config().max_theme_paragraphs;
        let paragraphs = self.backend().paragraph_vectors(filter.clone(), limit).await?;
        if paragraphs.is_empty() {
            return Err(EngineError::InvalidArgument("no stored paragraph matches the filter; ingest documents or widen the filter".into()));
        }
        let mut inputs = Vec::with_capacity(paragraphs.len());
        let mut records = HashMap::with_capacity(paragraphs.len());
        for ParagraphVector { paragraph: p, vector } in paragraphs {
            inputs.push(ThemeInput { id: p.id, year: p.year, text: p.text.clone(), simplified: p.simplified.clone(), vector });
            records.insert(p.id, p);
        }
        Ok((inputs, records))
    }
}
