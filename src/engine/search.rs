//! Nearest-paragraph search: chunk hits from the index, aggregated to paragraphs (a paragraph
//! scores as its best chunk), filtered, ranked with stable ties, and joined with metadata.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::embed::{normalize, Mode};
use crate::store::ParagraphRecord;

use super::{Engine, EngineError, Exclusions, ParagraphFilter};

/// What to search for.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryInput {
    /// A query text (embedded with the `query: ` prefix).
    Text(String),
    /// A stored paragraph (its vector: the normalised mean of its chunks).
    Paragraph(i64),
}

/// A nearest-paragraph request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query.
    pub query: QueryInput,
    /// Results wanted; 0 means 10.
    pub k: usize,
    /// Candidate restrictions.
    pub filter: ParagraphFilter,
    /// Minimum score; results below are dropped.
    pub min_score: f32,
    /// For paragraph queries: skip the query paragraph's document entirely.
    pub exclude_same_document: bool,
    /// Force exact search.
    pub exact: bool,
}

/// One ranked paragraph.
#[derive(Debug, Clone)]
pub struct ParagraphHit {
    /// The paragraph and its document metadata.
    pub paragraph: ParagraphRecord,
    /// Cosine similarity of its best chunk.
    pub score: f32,
    /// Character span of the best chunk within `paragraph.text`.
    pub span: (u32, u32),
}

/// Search results with timings.
#[derive(Debug, Clone)]
pub struct SearchResponse {
    /// Hits, best first, ties by paragraph id.
    pub hits: Vec<ParagraphHit>,
    /// Tokens of the query text (0 for paragraph queries).
    pub query_tokens: usize,
    /// Milliseconds spent embedding.
    pub embed_ms: f64,
    /// Milliseconds spent searching and fetching.
    pub search_ms: f64,
    /// `"hnsw"` or `"exact"`.
    pub path: &'static str,
}

impl Engine {
    fn validate_search(&self, req: &SearchRequest) -> Result<usize, EngineError> {
        let k = if req.k == 0 { 10 } else { req.k };
        if k > self.config().max_k {
            return Err(EngineError::InvalidArgument(format!("k = {k} is above the maximum of {}", self.config().max_k)));
        }
        if req.min_score.is_nan() || req.min_score > 1.0 {
            return Err(EngineError::InvalidArgument(format!("min_score {} is outside [-1, 1]", req.min_score)));
        }
        match &req.query {
            QueryInput::Text(t) if t.trim().is_empty() => {
                return Err(EngineError::InvalidArgument("query text is empty".into()));
            }
            QueryInput::Text(t) if t.chars().count() > self.config().max_query_chars => {
                return Err(EngineError::InvalidArgument(format!(
                    "query text has {} characters, above the limit of {}",
                    t.chars().count(),
                    self.config().max_query_chars
                )));
            }
            _ => {}
        }
        req.filter.validate()?;
        let catalog = self.catalog();
        if let Some(unknown) = req.filter.document_ids.iter().find(|d| !catalog.has_document(d)) {
            return Err(EngineError::NotFound(format!("document '{unknown}' is not stored")));
        }
        Ok(k)
    }

    /// Runs a search end to end (embedding through the shared queue).
    pub async fn search(self: &Arc<Self>, req: SearchRequest) -> Result<SearchResponse, EngineError> {
        let k = self.validate_search(&req)?;
        let started = Instant::now();
        let (vector, tokens, exclude) = match &req.query {
            QueryInput::Text(t) => {
                let e = self.queue().embed(vec![t.clone()], Mode::Query).await?.remove(0);
                (e.vector, e.tokens, Exclusions::default())
            }
            QueryInput::Paragraph(id) => {
                let engine = Arc::clone(self);
                let id = *id;
                let exclude_doc = req.exclude_same_document;
                let (v, p) = tokio::task::spawn_blocking(move || engine.paragraph_vector(id))
                    .await
                    .map_err(|e| EngineError::Internal(e.to_string()))??;
                let exclude = Exclusions { paragraph: Some(id), document: exclude_doc.then_some(p.document_id) };
                (v, 0, exclude)
            }
        };
        let embed_ms = started.elapsed().as_secs_f64() * 1e3;
        let engine = Arc::clone(self);
        let started = Instant::now();
        let (hits, path) = tokio::task::spawn_blocking(move || engine.search_vector(&vector, k, &req, &exclude))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))??;
        Ok(SearchResponse { hits, query_tokens: tokens, embed_ms, search_ms: started.elapsed().as_secs_f64() * 1e3, path })
    }

    /// The vector of a stored paragraph: normalised mean of its chunk vectors.
    pub fn paragraph_vector(&self, id: i64) -> Result<(Vec<f32>, ParagraphRecord), EngineError> {
        let store = self.store();
        let record = store.paragraph(id)?;
        let mut sum = vec![0f32; self.dim()];
        for chunk in store.chunks_of_paragraph(id)? {
            let v = store.chunk_vector(chunk.id)?;
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
        }
        normalize(&mut sum);
        Ok((sum, record))
    }

    /// Blocking search for a ready query vector.
    pub fn search_vector(
        &self,
        vector: &[f32],
        k: usize,
        req: &SearchRequest,
        exclude: &Exclusions,
    ) -> Result<(Vec<ParagraphHit>, &'static str), EngineError> {
        let catalog = self.catalog();
        let index = self.index();
        let live = index.len();
        if live == 0 {
            return Ok((Vec::new(), "exact"));
        }
        let exact = req.exact || live < self.config().exact_search_below || catalog.selectivity(&req.filter) < 0.05;
        let accept = |chunk: u64| catalog.accepts(chunk, &req.filter, exclude);
        let mut fetch = (k * 4 + 16).min(live);
        let best = loop {
            let chunk_hits = if exact {
                index.exact_search(vector, fetch, Some(&accept))?
            } else {
                index.search(vector, fetch, Some(&accept))?
            };
            let mut best: HashMap<i64, (f32, i64)> = HashMap::new();
            for h in &chunk_hits {
                let Some(owner) = catalog.owner(h.id) else { continue };
                let entry = best.entry(owner.paragraph).or_insert((h.score, h.id as i64));
                if h.score > entry.0 || (h.score == entry.0 && (h.id as i64) < entry.1) {
                    *entry = (h.score, h.id as i64);
                }
            }
            if best.len() >= k || fetch >= live || chunk_hits.len() < fetch {
                break best;
            }
            fetch = (fetch * 2).min(live);
        };
        drop(index);
        drop(catalog);
        let mut ranked: Vec<(i64, f32, i64)> = best.into_iter().map(|(p, (s, c))| (p, s, c)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.retain(|(_, s, _)| *s >= req.min_score || req.min_score <= -1.0);
        ranked.truncate(k);
        let store = self.store();
        let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
        let mut records: HashMap<i64, ParagraphRecord> =
            store.paragraphs_by_ids(&ids)?.into_iter().map(|p| (p.id, p)).collect();
        let mut hits = Vec::with_capacity(ranked.len());
        for (pid, score, chunk) in ranked {
            let Some(paragraph) = records.remove(&pid) else { continue };
            let c = store.chunk(chunk)?;
            hits.push(ParagraphHit { paragraph, score, span: (c.start, c.end) });
        }
        Ok((hits, if exact { "exact" } else { "hnsw" }))
    }
}
