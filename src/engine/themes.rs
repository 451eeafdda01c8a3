//! Themes over the stored paragraphs: gathers paragraph vectors (normalised mean of their
//! chunks), runs [`crate::themes`], and caches results per (corpus version, parameters).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::embed::normalize;
use crate::store::ParagraphRecord;
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
}

/// Upper bound of cached results (oldest parameters are not tracked: the cache is simply
/// cleared when full).
const CACHE_CAPACITY: usize = 32;

impl From<ThemesError> for EngineError {
    fn from(e: ThemesError) -> Self {
        match e {
            ThemesError::InvalidArgument(m) | ThemesError::NoData(m) => EngineError::InvalidArgument(m),
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
    /// Themes for `query`, from the cache when the corpus has not changed. Blocking.
    /// Returns the run and whether it came from the cache.
    pub fn themes(&self, query: &ThemeQuery) -> Result<(Arc<ThemesRun>, bool), EngineError> {
        query.filter.validate()?;
        if query.params.keywords_per_theme > 50 {
            return Err(EngineError::InvalidArgument("keywords must be at most 50".into()));
        }
        let version = self.store().corpus_version()?;
        let id = result_id(version, query);
        {
            let mut c = self.themes_cache.lock().unwrap_or_else(|p| p.into_inner());
            if c.version != Some(version) {
                c.version = Some(version);
                c.runs.clear();
            }
            if let Some(run) = c.runs.get(&id) {
                return Ok((Arc::clone(run), true));
            }
        }
        let started = Instant::now();
        let (inputs, records) = self.theme_inputs(&query.filter)?;
        if inputs.is_empty() {
            return Err(EngineError::InvalidArgument("no stored paragraph matches the filter; ingest documents or widen the filter".into()));
        }
        if let Some(k) = query.params.target_themes {
            if k > inputs.len() {
                return Err(EngineError::InvalidArgument(format!(
                    "target_themes {k} is more than the {} paragraphs to cluster",
                    inputs.len()
                )));
            }
        }
        let result = cluster_themes(&inputs, &query.params)?;
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

    /// Paragraphs passing `filter`, with their vectors (normalised mean of chunk vectors),
    /// in paragraph-id order.
    fn theme_inputs(&self, filter: &ParagraphFilter) -> Result<(Vec<ThemeInput>, HashMap<i64, ParagraphRecord>), EngineError> {
        let store = self.store();
        let paragraphs: Vec<ParagraphRecord> = store
            .all_paragraphs()?
            .into_iter()
            .filter(|p| filter.accepts(&p.document_id, p.year, &p.tags))
            .collect();
        let vectors = store.all_chunk_vectors(self.model_name())?;
        drop(store);
        let catalog = self.catalog();
        let mut sums: HashMap<i64, Vec<f32>> = HashMap::with_capacity(paragraphs.len());
        for (chunk, v) in &vectors {
            let Some(owner) = catalog.owner(*chunk as u64) else { continue };
            let s = sums.entry(owner.paragraph).or_insert_with(|| vec![0.0; v.len()]);
            s.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        drop(catalog);
        let mut inputs = Vec::with_capacity(paragraphs.len());
        let mut records = HashMap::with_capacity(paragraphs.len());
        for p in paragraphs {
            let Some(mut vector) = sums.remove(&p.id) else { continue };
            normalize(&mut vector);
            inputs.push(ThemeInput { id: p.id, year: p.year, text: p.text.clone(), simplified: p.simplified.clone(), vector });
            records.insert(p.id, p);
        }
        Ok((inputs, records))
    }
}
