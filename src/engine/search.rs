//! Nearest-paragraph search: validation, embedding the query through the shared queue (or
//! reading a stored paragraph's vector), then a filtered search in the backend: dense,
//! keyword (BM25) or both fused ([`super::hybrid`]).

use std::sync::Arc;
use std::time::Instant;

use crate::backend::{DenseQuery, Exclusions, ParagraphFilter, ParagraphHit};
use crate::config::SearchMode;
use crate::embed::Mode;
use crate::keyword::{KeywordError, KeywordQuery, MustContain, RrfParams, Span};

use super::{BridgeUsed, Engine, EngineError};

/// Most document ids a filter may name.
pub const MAX_FILTER_DOCUMENTS: usize = 1_000;
/// Results of a search that names no `k`.
pub const DEFAULT_K: usize = 10;
/// Most candidates HYBRID takes from each ranking.
pub const MAX_HYBRID_CANDIDATES: usize = 1_000;

/// What to search for.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryInput {
    /// A query text (embedded with the `query: ` prefix).
    Text(String),
    /// A stored paragraph (its vector: the normalised mean of its chunks).
    Paragraph(i64),
}

/// A nearest-paragraph request.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// The query.
    pub query: QueryInput,
    /// Results wanted; 0 means [`DEFAULT_K`]; at most [`crate::config::Config::max_k`].
    pub k: usize,
    /// Candidate restrictions.
    pub filter: ParagraphFilter,
    /// Minimum cosine; results below are dropped (0 or <= -1: none).
    pub min_score: f32,
    /// For paragraph queries (refused with text queries): skip the query paragraph's document
    /// entirely.
    pub exclude_same_document: bool,
    /// Force exact search.
    pub exact: bool,
    /// Ranking mode; `None`: [`crate::config::Config::default_search_mode`] for text queries,
    /// DENSE (their only mode) for paragraph queries.
    pub mode: Option<SearchMode>,
    /// Fusion parameters (HYBRID).
    pub rrf: RrfParams,
    /// Candidates per ranking for HYBRID; 0 means max(50, 2k).
    pub candidates: usize,
    /// Terms or quoted phrases every hit must contain (see [`MustContain`]).
    pub must_contain: Vec<String>,
    /// True skips the glossary: no other-language terms are added to the keyword side.
    pub no_glossary: bool,
    /// True lets a `must_contain` item that is a glossary phrase be met by the entry's other
    /// terms too (its variants and the other language's terms).
    pub bridge_must_contain: bool,
}

impl Default for QueryInput {
    fn default() -> Self {
        QueryInput::Text(String::new())
    }
}

/// Where a hit came from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Provenance {
    /// 1-based rank in the dense ranking.
    pub dense_rank: Option<u32>,
    /// 1-based rank in the keyword ranking.
    pub keyword_rank: Option<u32>,
    /// Cosine of the best chunk.
    pub dense_score: Option<f32>,
    /// BM25 of the best-matching chunk.
    pub keyword_score: Option<f32>,
    /// Fused RRF score (HYBRID).
    pub fused_score: Option<f64>,
}

/// One ranked paragraph with its provenance and highlights.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The paragraph, the mode's ranking score (cosine, BM25 or RRF) and the best chunk's span.
    pub hit: ParagraphHit,
    /// Ranks and scores in each ranking.
    pub provenance: Provenance,
    /// Character spans of `paragraph.text` holding query terms and `must_contain` terms.
    pub highlights: Vec<Span>,
}

/// Search results with timings.
#[derive(Debug, Clone)]
pub struct SearchResponse {
    /// Hits, best first, ties by paragraph id.
    pub hits: Vec<SearchHit>,
    /// Tokens of the query text (0 for paragraph queries and unembedded KEYWORD queries).
    pub query_tokens: usize,
    /// Milliseconds spent embedding (queue wait included).
    pub embed_ms: f64,
    /// Milliseconds of `embed_ms` the query waited in the embedding queue.
    pub queue_ms: f64,
    /// Milliseconds spent searching and fetching.
    pub search_ms: f64,
    /// Which path answered: `"exact"`/`"shortlist"`/`"hnsw"` (dense), `"bm25"`, or `"<dense>+bm25"`.
    pub path: String,
    /// HYBRID: the keyword ranking's weight in the fusion (given, or adapted to the query);
    /// 0 in the other modes.
    pub keyword_weight: f64,
    /// Glossary phrases found in the query whose other-language terms were added to the
    /// keyword side (KEYWORD and HYBRID).
    pub bridges: Vec<BridgeUsed>,
}

/// A request after validation, defaults applied.
pub(super) struct Validated {
    pub mode: SearchMode,
    pub k: usize,
    pub keyword: Option<KeywordQuery>,
    pub must_contain: MustContain,
    pub candidates: usize,
    pub bridges: Vec<BridgeUsed>,
}

/// True when `min_score` asks for a threshold (0 and <= -1 mean none).
pub(super) fn has_threshold(min_score: f32) -> bool {
    min_score != 0.0 && min_score > -1.0
}

impl Engine {
    async fn validate_search(&self, req: &SearchRequest) -> Result<Validated, EngineError> {
        let cfg = self.config();
        let k = if req.k == 0 { DEFAULT_K } else { req.k };
        if k > cfg.max_k {
            return Err(EngineError::InvalidArgument(format!("k = {k} is above the maximum of {} (the server's --max-k)", cfg.max_k)));
        }
        if req.min_score.is_nan() || req.min_score > 1.0 {
            return Err(EngineError::InvalidArgument(format!("min_score {} is outside [-1, 1]", req.min_score)));
        }
        match &req.query {
            QueryInput::Text(t) => {
                check_text("query text", t, cfg.max_query_chars, "--max-query-chars")?;
                if req.exclude_same_document {
                    return Err(EngineError::InvalidArgument("exclude_same_document needs a paragraph_id query".into()));
                }
            }
            QueryInput::Paragraph(_) => {}
        }
        let mode = match (&req.query, req.mode) {
            (_, Some(mode)) => mode,
            (QueryInput::Text(_), None) => cfg.default_search_mode,
            (QueryInput::Paragraph(_), None) => SearchMode::Dense,
        };
        let bridges = match (&req.query, mode) {
            (QueryInput::Text(t), SearchMode::Keyword | SearchMode::Hybrid) if !req.no_glossary => self.bridges(t),
            _ => Vec::new(),
        };
        let added: Vec<String> = bridges.iter().flat_map(|b| b.bridge.added.iter().cloned()).collect();
        let keyword = match (&req.query, mode) {
            (_, SearchMode::Dense) => None,
            // HYBRID degrades to the dense ranking when the text has no searchable term.
            (QueryInput::Text(t), SearchMode::Hybrid) => match self.parse_keyword_query(t, &added) {
                Ok(q) => Some(q),
                Err(KeywordError::NoSearchableTerms(_)) => None,
                Err(e) => return Err(e.into()),
            },
            (QueryInput::Text(t), _) => Some(self.parse_keyword_query(t, &added)?),
            (QueryInput::Paragraph(_), mode) => {
                return Err(EngineError::InvalidArgument(format!(
                    "mode {mode:?} needs a text query; paragraph_id queries search in mode DENSE"
                )));
            }
        };
        req.rrf.validate()?;
        let candidates = if req.candidates == 0 { (2 * k).max(50) } else { req.candidates };
        if mode == SearchMode::Hybrid && !(k..=MAX_HYBRID_CANDIDATES).contains(&candidates) {
            return Err(EngineError::InvalidArgument(format!(
                "rrf candidates = {candidates} is outside [k = {k}, {MAX_HYBRID_CANDIDATES}]"
            )));
        }
        let must_contain = if req.bridge_must_contain {
            let glossary = self.glossary();
            MustContain::parse_bridged(&req.must_contain, |item| glossary.alternatives(item))?
        } else {
            MustContain::parse(&req.must_contain)?
        };
        req.filter.validate()?;
        if req.filter.document_ids.len() > MAX_FILTER_DOCUMENTS {
            return Err(EngineError::InvalidArgument(format!(
                "the filter names {} documents, above the limit of {MAX_FILTER_DOCUMENTS}",
                req.filter.document_ids.len()
            )));
        }
        if !req.filter.document_ids.is_empty() {
            if let Some(d) = self.backend().missing_documents(&req.filter.document_ids).await?.first() {
                return Err(EngineError::NotFound(format!("document '{d}' is not stored")));
            }
        }
        Ok(Validated { mode, k, keyword, must_contain, candidates, bridges })
    }

    /// Embeds a query text: `(vector, tokens, ms in total, ms of it spent waiting in the queue)`.
    pub(super) async fn embed_query(&self, text: &str) -> Result<(Vec<f32>, usize, f64, f64), EngineError> {
        let started = Instant::now();
        let e = self.embedder().embed(vec![text.to_string()], Mode::Query).await?.remove(0);
        Ok((e.vector, e.tokens, started.elapsed().as_secs_f64() * 1e3, e.queue_ms))
    }

    /// Runs a search end to end (embedding through the shared queue).
    pub async fn search(self: &Arc<Self>, req: SearchRequest) -> Result<SearchResponse, EngineError> {
        // ingestion's model work steps aside for the whole search, not only its embedding
        let _foreground = self.embedder().stats().foreground();
        let v = self.validate_search(&req).await?;
        match v.mode {
            SearchMode::Dense => self.search_dense(req, v).await,
            SearchMode::Keyword => self.search_keyword(req, v).await,
            SearchMode::Hybrid => self.search_hybrid(req, v).await,
        }
    }

    async fn search_dense(&self, req: SearchRequest, v: Validated) -> Result<SearchResponse, EngineError> {
        let started = Instant::now();
        let (vector, tokens, exclude, queue_ms) = match &req.query {
            QueryInput::Text(t) => {
                let (vector, tokens, _, queue_ms) = self.embed_query(t).await?;
                (vector, tokens, Exclusions::default(), queue_ms)
            }
            QueryInput::Paragraph(id) => {
                let p = self.backend().paragraph_vector(*id).await?;
                let document = req.exclude_same_document.then_some(p.paragraph.document_id);
                (p.vector, 0, Exclusions { paragraph: Some(*id), document }, 0.0)
            }
        };
        let embed_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let query = DenseQuery {
            vector,
            k: v.k,
            filter: req.filter,
            exclude,
            min_score: req.min_score,
            exact: req.exact,
            must_contain: v.must_contain.clone(),
        };
        let found = self.backend().nearest(query).await?;
        let hits = found
            .hits
            .into_iter()
            .enumerate()
            .map(|(i, hit)| {
                let provenance = Provenance { dense_rank: Some(i as u32 + 1), dense_score: Some(hit.score), ..Default::default() };
                let highlights = self.highlights(None, &v.must_contain, &hit.paragraph);
                SearchHit { hit, provenance, highlights }
            })
            .collect();
        Ok(SearchResponse {
            hits,
            query_tokens: tokens,
            embed_ms,
            queue_ms,
            search_ms: started.elapsed().as_secs_f64() * 1e3,
            path: found.path.to_string(),
            keyword_weight: 0.0,
            bridges: Vec::new(),
        })
    }
}

/// Checks a request text: not blank, at most `max_chars` characters (the limit set by `flag`).
pub(super) fn check_text(name: &str, text: &str, max_chars: usize, flag: &str) -> Result<(), EngineError> {
    if text.trim().is_empty() {
        return Err(EngineError::InvalidArgument(format!("{name} is empty")));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err(EngineError::InvalidArgument(format!(
            "{name} has {n} characters, above the limit of {max_chars} (the server's {flag})"
        )));
    }
    Ok(())
}
