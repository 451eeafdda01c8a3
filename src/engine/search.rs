//! Nearest-paragraph search: validation, embedding the query through the shared queue (or
//! reading a stored paragraph's vector), then a filtered search in the backend.

use std::sync::Arc;
use std::time::Instant;

use crate::backend::{DenseQuery, Exclusions, ParagraphFilter, ParagraphHit};
use crate::embed::Mode;

use super::{Engine, EngineError};

/// Most document ids a filter may name.
const MAX_FILTER_DOCUMENTS: usize = 1_000;

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
    /// Which path answered: `"exact"` or `"hnsw"` (embedded backend), `"qdrant"`.
    pub path: &'static str,
}

impl Engine {
    async fn validate_search(&self, req: &SearchRequest) -> Result<usize, EngineError> {
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
        if req.filter.document_ids.len() > MAX_FILTER_DOCUMENTS {
            return Err(EngineError::InvalidArgument(format!(
                "the filter names {} documents, above the limit of {MAX_FILTER_DOCUMENTS}",
                req.filter.document_ids.len()
            )));
        }
        for d in &req.filter.document_ids {
            if !self.backend().contains_document(d).await? {
                return Err(EngineError::NotFound(format!("document '{d}' is not stored")));
            }
        }
        Ok(k)
    }

    /// Runs a search end to end (embedding through the shared queue).
    pub async fn search(self: &Arc<Self>, req: SearchRequest) -> Result<SearchResponse, EngineError> {
        let k = self.validate_search(&req).await?;
        let started = Instant::now();
        let (vector, tokens, exclude) = match &req.query {
            QueryInput::Text(t) => {
                let e = self.queue().embed(vec![t.clone()], Mode::Query).await?.remove(0);
                (e.vector, e.tokens, Exclusions::default())
            }
            QueryInput::Paragraph(id) => {
                let p = self.backend().paragraph_vector(*id).await?;
                let document = req.exclude_same_document.then_some(p.paragraph.document_id);
                (p.vector, 0, Exclusions { paragraph: Some(*id), document })
            }
        };
        let embed_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let query = DenseQuery { vector, k, filter: req.filter, exclude, min_score: req.min_score, exact: req.exact };
        let found = self.backend().nearest(query).await?;
        Ok(SearchResponse {
            hits: found.hits,
            query_tokens: tokens,
            embed_ms,
            search_ms: started.elapsed().as_secs_f64() * 1e3,
            path: found.path,
        })
    }
}
