//! KEYWORD and HYBRID search: BM25 through the backend's keyword index, reciprocal-rank fusion
//! with the dense ranking ([`crate::keyword::fuse_rrf`]), provenance and highlight spans.

use std::collections::HashMap;
use std::time::Instant;

use crate::backend::{DenseQuery, Exclusions, KeywordParagraphHit, KeywordSearch, ParagraphHit, ParagraphRecord};
use crate::keyword::{
    adaptive_keyword_weight, fuse_rrf, highlight::merge_spans, shared_segmenter, JiebaTokenizer, KeywordError, KeywordQuery, MustContain,
    Span, BRIDGED_KEYWORD_WEIGHT,
};

use super::search::{has_threshold, Provenance, QueryInput, SearchHit, SearchRequest, SearchResponse, Validated};
use super::{Engine, EngineError};

impl From<KeywordError> for EngineError {
    fn from(e: KeywordError) -> Self {
        if e.is_invalid_argument() {
            EngineError::InvalidArgument(e.to_string())
        } else {
            EngineError::Internal(e.to_string())
        }
    }
}

fn query_text(req: &SearchRequest) -> &str {
    match &req.query {
        QueryInput::Text(t) => t,
        QueryInput::Paragraph(_) => "",
    }
}

impl Engine {
    /// Parses a keyword query with the shared analyzer (the one the keyword index uses), plus
    /// `added` phrases (the glossary's other-language terms).
    pub(super) fn parse_keyword_query(&self, text: &str, added: &[String]) -> Result<KeywordQuery, KeywordError> {
        KeywordQuery::parse_with(text, added, &mut JiebaTokenizer::new(shared_segmenter()))
    }

    /// Highlight spans in `paragraph.text`: the keyword query's terms and the `must_contain`
    /// needles, found in the simplified text. Empty when simplification changed the text's
    /// length (offsets would not carry over), which the seed corpus never does.
    pub(super) fn highlights(&self, query: Option<&KeywordQuery>, must: &MustContain, paragraph: &ParagraphRecord) -> Vec<Span> {
        if query.is_none() && must.is_empty() {
            return Vec::new();
        }
        if paragraph.simplified.chars().count() != paragraph.text.chars().count() {
            return Vec::new();
        }
        let mut spans = must.spans(&paragraph.simplified);
        if let Some(q) = query {
            spans.extend(crate::keyword::highlight::highlight_spans(
                &mut JiebaTokenizer::new(shared_segmenter()),
                q,
                &paragraph.simplified,
            ));
        }
        merge_spans(spans)
    }

    pub(super) async fn search_keyword(&self, req: SearchRequest, v: Validated) -> Result<SearchResponse, EngineError> {
        let (vector, tokens, embed_ms, queue_ms) = if has_threshold(req.min_score) {
            let (vector, tokens, ms, queue_ms) = self.embed_query(query_text(&req)).await?;
            (Some(vector), tokens, ms, queue_ms)
        } else {
            (None, 0, 0.0, 0.0)
        };
        let search_started = Instant::now();
        let query = v.keyword.clone().expect("validated keyword query");
        let found = self
            .backend()
            .keyword(KeywordSearch {
                query: query.clone(),
                k: v.k,
                filter: req.filter,
                exclude: Exclusions::default(),
                must_contain: v.must_contain.clone(),
                vector,
                min_score: req.min_score,
            })
            .await?;
        let hits = found
            .hits
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let provenance = Provenance {
                    keyword_rank: Some(i as u32 + 1),
                    keyword_score: Some(h.score),
                    dense_score: h.cosine,
                    ..Default::default()
                };
                let highlights = self.highlights(Some(&query), &v.must_contain, &h.paragraph);
                SearchHit { hit: ParagraphHit { paragraph: h.paragraph, score: h.score, span: h.span }, provenance, highlights }
            })
            .collect();
        Ok(SearchResponse {
            hits,
            query_tokens: tokens,
            embed_ms,
            queue_ms,
            search_ms: search_started.elapsed().as_secs_f64() * 1e3,
            path: "bm25".into(),
            keyword_weight: 0.0,
            bridges: v.bridges,
        })
    }

    pub(super) async fn search_hybrid(&self, req: SearchRequest, v: Validated) -> Result<SearchResponse, EngineError> {
        let (vector, tokens, embed_ms, queue_ms) = self.embed_query(query_text(&req)).await?;
        let started = Instant::now();
        let query = v.keyword.clone();
        let dense = DenseQuery {
            vector: vector.clone(),
            k: v.candidates,
            filter: req.filter.clone(),
            exclude: Exclusions::default(),
            min_score: req.min_score,
            exact: req.exact,
            must_contain: v.must_contain.clone(),
        };
        let keyword = query.clone().map(|query| KeywordSearch {
            query,
            k: v.candidates,
            filter: req.filter,
            exclude: Exclusions::default(),
            must_contain: v.must_contain.clone(),
            vector: Some(vector),
            min_score: req.min_score,
        });
        let keyword_search = async {
            match keyword {
                Some(k) => self.backend().keyword(k).await.map(Some),
                None => Ok(None), // no searchable term: the dense ranking alone
            }
        };
        let (dense, keyword) = tokio::join!(self.backend().nearest(dense), keyword_search);
        let (dense, keyword) = (dense?, keyword?.unwrap_or_default());
        let dense_ids: Vec<i64> = dense.hits.iter().map(|h| h.paragraph.id).collect();
        let keyword_ids: Vec<i64> = keyword.hits.iter().map(|h| h.paragraph.id).collect();
        let mut dense_hits: HashMap<i64, ParagraphHit> = dense.hits.into_iter().map(|h| (h.paragraph.id, h)).collect();
        let mut keyword_hits: HashMap<i64, KeywordParagraphHit> = keyword.hits.into_iter().map(|h| (h.paragraph.id, h)).collect();
        let mut rrf = req.rrf;
        if rrf.adaptive_keyword_weight {
            // Weight the keyword ranking by how much of the query its best hit covers.
            let coverage = match (query.as_ref(), keyword_ids.first().and_then(|id| keyword_hits.get(id))) {
                (Some(q), Some(top)) => q.coverage(&mut JiebaTokenizer::new(shared_segmenter()), &top.paragraph.simplified),
                _ => 0.0,
            };
            let bridged = query.as_ref().is_some_and(|q| q.has_added());
            rrf.keyword_weight = if bridged && coverage >= 1.0 { BRIDGED_KEYWORD_WEIGHT } else { adaptive_keyword_weight(coverage) };
        }
        let mut hits = Vec::with_capacity(v.k);
        for f in fuse_rrf(&dense_ids, &keyword_ids, &rrf).into_iter().take(v.k) {
            let d = dense_hits.remove(&f.id);
            let kw = keyword_hits.remove(&f.id);
            let provenance = Provenance {
                dense_rank: f.dense_rank,
                keyword_rank: f.keyword_rank,
                dense_score: d.as_ref().map(|h| h.score).or_else(|| kw.as_ref().and_then(|h| h.cosine)),
                keyword_score: kw.as_ref().map(|h| h.score),
                fused_score: Some(f.score),
            };
            let (paragraph, span) = match (d, kw) {
                (Some(d), _) => (d.paragraph, d.span),
                (None, Some(k)) => (k.paragraph, k.span),
                (None, None) => continue,
            };
            let highlights = self.highlights(query.as_ref(), &v.must_contain, &paragraph);
            let hit = ParagraphHit { paragraph, score: f.score as f32, span };
            hits.push(SearchHit { hit, provenance, highlights });
        }
        Ok(SearchResponse {
            hits,
            query_tokens: tokens,
            embed_ms,
            queue_ms,
            search_ms: started.elapsed().as_secs_f64() * 1e3,
            path: if query.is_some() { format!("{}+bm25", dense.path) } else { dense.path.to_string() },
            keyword_weight: if query.is_some() { rrf.keyword_weight } else { 0.0 },
            bridges: v.bridges,
        })
    }
}
