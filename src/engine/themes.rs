//! Themes over the stored paragraphs: applies the defaults and limits of a [`ThemeRequest`],
//! gathers paragraph vectors (normalised mean of their chunks), runs [`crate::themes`], and
//! caches results per (corpus version, parameters); the period comparison, shares over time
//! and theme routing on top of a run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::backend::{ParagraphRecord, ParagraphVector};
use crate::embed::Mode;
use crate::themes::grid::{bucket_size, presence_share};
use crate::themes::period::check_distinct;
use crate::themes::time::YearThemeKeywords;
use crate::themes::{self, cluster_themes, Method, Period, ShareGrid, ThemeInput, ThemeParams, ThemesError, ThemesResult, YearComparison};

use super::search::check_text;
use super::{Engine, EngineError, ParagraphFilter, QueryInput};

/// Most keywords per theme a request may ask for.
pub const MAX_KEYWORDS: usize = 50;
/// Most themes [`Engine::assign_theme`] may return.
pub const MAX_ASSIGN_TOP: usize = 50;
/// Themes [`Engine::assign_theme`] returns when the request names no number.
pub const DEFAULT_ASSIGN_TOP: usize = 3;

/// What to cluster and how, as a caller asks for it: `None` (or 0 from the wire) takes the
/// default of [`ThemeParams::default`] (seed 42, themes of at least 3, 10 keywords, the
/// number of themes chosen automatically).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThemeRequest {
    /// Number of themes wanted; `None`: automatic. At most the number of paragraphs.
    pub target_themes: Option<usize>,
    /// Themes smaller than this become outliers; `None`: 3.
    pub min_theme_size: Option<usize>,
    /// Seed of every random choice; `None`: 42.
    pub seed: Option<u64>,
    /// Clustering algorithm.
    pub method: Method,
    /// Keywords per theme; `None`: 10; at most [`MAX_KEYWORDS`].
    pub keywords: Option<usize>,
    /// Which paragraphs take part.
    pub filter: ParagraphFilter,
}

/// A request with its defaults applied and its limits checked (the cache key).
#[derive(Debug, Clone)]
pub(crate) struct ThemeQuery {
    pub(crate) params: ThemeParams,
    pub(crate) filter: ParagraphFilter,
}

impl ThemeRequest {
    /// The request with its defaults applied; `InvalidArgument` naming the limit when a
    /// value is out of range.
    pub(crate) fn resolve(&self) -> Result<ThemeQuery, EngineError> {
        let d = ThemeParams::default();
        let keywords = self.keywords.unwrap_or(d.keywords_per_theme);
        if keywords > MAX_KEYWORDS {
            return Err(EngineError::InvalidArgument(format!("keywords = {keywords} is above the maximum of {MAX_KEYWORDS}")));
        }
        self.filter.validate()?;
        Ok(ThemeQuery {
            params: ThemeParams {
                target_themes: self.target_themes,
                min_theme_size: self.min_theme_size.unwrap_or(d.min_theme_size).max(1),
                seed: self.seed.unwrap_or(d.seed),
                method: self.method,
                keywords_per_theme: keywords.max(1),
                ..d
            },
            filter: self.filter.clone(),
        })
    }
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

/// Theme shares over time: one entry per theme and bucket, and the grid the life cycles
/// and charts are read from.
#[derive(Debug)]
pub struct ThemesOverTime {
    /// Share of each theme per bucket (buckets where the theme has members).
    pub entries: Vec<YearThemeKeywords>,
    /// Shares per theme and bucket, with the buckets.
    pub grid: ShareGrid,
    /// Share of a bucket's paragraphs from which a theme counts as present.
    pub presence: f32,
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
    /// Themes for `request`, from the cache when the corpus has not changed. The clustering
    /// runs on the blocking pool. Returns the run and whether it came from the cache.
    pub async fn themes(&self, request: &ThemeRequest) -> Result<(Arc<ThemesRun>, bool), EngineError> {
        let query = &request.resolve()?;
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
        let (inputs, records) = self.theme_inputs(&query.filter, query.params.target_themes).await?;
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
    /// Compares periods `a` and `b` (single years or year ranges; disjoint, each inside the
    /// corpus) in the themes of `request`. The periods are checked before any clustering.
    pub async fn compare_periods(
        &self,
        request: &ThemeRequest,
        a: Period,
        b: Period,
    ) -> Result<(Arc<ThemesRun>, Vec<YearComparison>), EngineError> {
        check_distinct(&a, &b, ["period_a", "period_b"])?;
        let (run, _) = self.themes(request).await?;
        let comparisons = themes::compare_periods(&run.result, &run.inputs, a, b)?;
        Ok((run, comparisons))
    }

    /// The shares of the themes of `request` per bucket of `bucket_years` years (0: 1; at
    /// most [`themes::grid::MAX_BUCKET_YEARS`]) and each theme's life cycle, a theme being
    /// present in a bucket from `presence` of its paragraphs (0: the default share).
    pub async fn themes_over_time(
        &self,
        request: &ThemeRequest,
        bucket_years: u32,
        presence: f32,
    ) -> Result<(Arc<ThemesRun>, ThemesOverTime), EngineError> {
        let bucket_years = bucket_size(bucket_years)?;
        let presence = presence_share(presence)?;
        let (run, _) = self.themes(request).await?;
        let entries = themes::themes_over_time(&run.result, &run.inputs, bucket_years)?;
        let grid = ShareGrid::new(&run.result.themes, &run.inputs, bucket_years)?;
        Ok((run, ThemesOverTime { entries, grid, presence }))
    }

    /// The themes of `request` closest to a text (embedded as a passage) or a stored
    /// paragraph, best first: up to `top` (0: [`DEFAULT_ASSIGN_TOP`]; at most
    /// [`MAX_ASSIGN_TOP`]) `(theme id, cosine to its centre)`.
    pub async fn assign_theme(
        &self,
        request: &ThemeRequest,
        query: QueryInput,
        top: usize,
    ) -> Result<(Arc<ThemesRun>, Vec<(u32, f32)>), EngineError> {
        let top = match top {
            0 => DEFAULT_ASSIGN_TOP,
            n if n > MAX_ASSIGN_TOP => {
                return Err(EngineError::InvalidArgument(format!("top = {n} is above the maximum of {MAX_ASSIGN_TOP}")));
            }
            n => n,
        };
        request.resolve()?;
        let vector = match query {
            QueryInput::Text(t) => {
                check_text("text", &t, self.config().max_query_chars, "--max-query-chars")?;
                self.embedder().embed(vec![t], Mode::Passage).await?.remove(0).vector
            }
            QueryInput::Paragraph(id) => self.backend().paragraph_vector(id).await?.vector,
        };
        let (run, _) = self.themes(request).await?;
        let scores = themes::assign_theme(&run.result, &vector, top);
        Ok((run, scores))
    }
}

impl Engine {
    /// The stored paragraphs passing `filter` (at most `max_theme_paragraphs`, a fixed sample
    /// above) as clustering inputs, with their records by id. `InvalidArgument` when none, or
    /// when `target_themes` asks for more themes than there are paragraphs.
    pub(crate) async fn theme_inputs(
        &self,
        filter: &ParagraphFilter,
        target_themes: Option<usize>,
    ) -> Result<(Vec<ThemeInput>, HashMap<i64, ParagraphRecord>), EngineError> {
        let limit = self.config().max_theme_paragraphs;
        let paragraphs = self.backend().paragraph_vectors(filter.clone(), limit).await?;
        if paragraphs.is_empty() {
            return Err(EngineError::InvalidArgument(
                "no stored paragraph matches the filter; ingest documents or widen the filter".into(),
            ));
        }
        if let Some(k) = target_themes {
            if k > paragraphs.len() {
                return Err(EngineError::InvalidArgument(format!(
                    "target_themes {k} is more than the {} paragraphs to cluster",
                    paragraphs.len()
                )));
            }
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
