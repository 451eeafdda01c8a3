//! Keyword search and `must_contain` on Qdrant, with Qdrant's own sparse vectors: no local
//! index. BM25 is the sparse `keywords` vector of each chunk point scored with the IDF
//! modifier ([`crate::keyword::sparse`]); hits are grouped by paragraph inside Qdrant like dense
//! hits, so the engine fuses two paragraph rankings exactly as on the embedded backend.
//!
//! Filters that Qdrant cannot decide exactly are split in two: a necessary condition inside the
//! Qdrant filter (so ranking happens after filtering and `k` hits come back when they exist),
//! then an exact check of each returned hit here:
//! * a `must_contain` needle is a phrase match on the paragraph's characters (`chars`, one
//!   token per character, whitespace dropped), then the exact substring test on the
//!   paragraph's simplified text;
//! * a quoted query phrase requires each of its terms in the chunk's `terms`, then the terms at
//!   consecutive positions of the chunk's analysed text.
//!
//! When the exact check rejects hits, the search is repeated with a larger limit until `k` hits
//! pass or Qdrant has no more candidates.

use std::collections::HashMap;

use qdrant_client::qdrant::{Condition, Filter, Query, QueryPointGroupsBuilder, VectorInput};

use super::filter::chunks;
use super::read::{decode, record_of, search_params};
use super::schema::{spaced_chars, ChunkPayload, DENSE, KEYWORDS};
use super::Inner;
use crate::backend::{BackendError, DenseHits, DenseQuery, KeywordHits, KeywordParagraphHit, KeywordSearch, ParagraphHit};
use crate::keyword::sparse::{has_required_phrases, query_vector};
use crate::keyword::{shared_segmenter, JiebaTokenizer, MustContain};

/// Extra candidates asked for beyond `k` when hits must pass an exact check.
const CHECK_SLACK: usize = 16;
/// Most groups asked for in one round of a checked search.
const MAX_CHECKED_LIMIT: usize = 10_000;

/// The necessary conditions of `must_contain` (phrase matches on the characters).
pub fn must_contain_conditions(must: &MustContain) -> Vec<Condition> {
    let phrase = |n: &String| Some(spaced_chars(n)).filter(|n| !n.is_empty()).map(|n| Condition::matches_phrase("chars", n));
    must.groups()
        .iter()
        .filter_map(|group| {
            let mut alternatives: Vec<Condition> = group.iter().filter_map(phrase).collect();
            match alternatives.len() {
                0 => None,
                1 => alternatives.pop(),
                _ => Some(Filter::should(alternatives).into()),
            }
        })
        .collect()
}

/// One paragraph's best chunk and its score.
struct Candidate {
    chunk: ChunkPayload,
    score: f32,
}

/// One round of a grouped query: the best chunk of each returned paragraph, and how many
/// groups Qdrant returned (fewer than the limit means there are no more).
async fn groups(inner: &Inner, req: QueryPointGroupsBuilder) -> Result<(Vec<Candidate>, usize), BackendError> {
    let (best, returned) = super::read::best_per_group(inner, req).await?;
    Ok((best.into_iter().map(|(chunk, score)| Candidate { chunk, score }).collect(), returned))
}

/// The limit of the next round of a checked search, or `None` when the last round (of `limit`
/// groups, `returned` of them) already saw every candidate or enough passed.
fn next_limit(passed: usize, k: usize, limit: usize, returned: usize) -> Option<usize> {
    (passed < k && returned >= limit && limit < MAX_CHECKED_LIMIT).then(|| (limit * 4).min(MAX_CHECKED_LIMIT))
}

/// Nearest paragraphs with `must_contain`: the dense grouped query with the characters'
/// phrase conditions, then the exact substring check.
pub async fn nearest_containing(inner: &Inner, q: &DenseQuery) -> Result<DenseHits, BackendError> {
    let mut filter = chunks(&q.filter, &q.exclude);
    filter.must.extend(must_contain_conditions(&q.must_contain));
    let build = |limit: u64| {
        let mut req = QueryPointGroupsBuilder::new(inner.collection(), "paragraph_id")
            .query(q.vector.clone())
            .using(DENSE)
            .filter(filter.clone())
            .group_size(1u64)
            .limit(limit)
            .with_payload(true)
            .params(search_params(inner, q.exact));
        if q.min_score > -1.0 {
            req = req.score_threshold(q.min_score);
        }
        req
    };
    let mut limit = q.k + CHECK_SLACK;
    loop {
        let (found, returned) = groups(inner, build(limit as u64)).await?;
        let passed: Vec<Candidate> = found.into_iter().filter(|c| q.must_contain.matches(&c.chunk.simplified)).collect();
        if let Some(next) = next_limit(passed.len(), q.k, limit, returned) {
            limit = next;
            continue;
        }
        let hits = passed
            .into_iter()
            .take(q.k)
            .map(|c| ParagraphHit { span: (c.chunk.start, c.chunk.end), paragraph: record_of(&c.chunk), score: c.score })
            .collect();
        return Ok(DenseHits { hits, path: if q.exact { "qdrant-exact" } else { "qdrant" } });
    }
}

/// Best-chunk cosine of each paragraph in `ids` to `vector` (one grouped dense query).
async fn best_cosines(inner: &Inner, ids: &[i64], vector: &[f32]) -> Result<HashMap<i64, f32>, BackendError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut filter = chunks(&Default::default(), &Default::default());
    filter.must.push(Condition::matches("paragraph_id", ids.to_vec()));
    let req = QueryPointGroupsBuilder::new(inner.collection(), "paragraph_id")
        .query(vector.to_vec())
        .using(DENSE)
        .filter(filter)
        .group_size(1u64)
        .limit(ids.len() as u64)
        .with_payload(true)
        .params(search_params(inner, true));
    let found = inner.client.query_groups(req).await.map_err(inner.err("scoring keyword hits"))?;
    let mut out = HashMap::new();
    for group in found.result.map(|r| r.groups).unwrap_or_default() {
        // A point deleted while the query ran comes back without its payload (a grouped query adds
        // the group key to it): it is gone.
        let Some(best) = group.hits.into_iter().next().filter(|b| b.payload.contains_key("kind")) else { continue };
        let chunk: ChunkPayload = decode(inner, "a chunk point", best.payload)?;
        out.insert(chunk.paragraph_id, best.score);
    }
    Ok(out)
}

/// BM25 keyword search through the sparse vectors, grouped by paragraph.
pub async fn keyword(inner: &Inner, q: &KeywordSearch) -> Result<KeywordHits, BackendError> {
    let sparse = query_vector(&q.query);
    let mut filter = chunks(&q.filter, &q.exclude);
    filter.must.extend(must_contain_conditions(&q.must_contain));
    for phrase in q.query.required_phrases() {
        filter.must.extend(phrase.iter().map(|(_, term)| Condition::matches("terms", term.clone())));
    }
    let checked = !q.must_contain.is_empty() || !q.query.required_phrases().is_empty();
    let build = |limit: u64| {
        QueryPointGroupsBuilder::new(inner.collection(), "paragraph_id")
            .query(Query::new_nearest(VectorInput::new_sparse(sparse.indices.clone(), sparse.values.clone())))
            .using(KEYWORDS)
            .filter(filter.clone())
            .group_size(1u64)
            .limit(limit)
            .with_payload(true)
    };
    let mut analyzer = JiebaTokenizer::new(shared_segmenter());
    let threshold = q.vector.is_some() && q.min_score > -1.0;
    let k = q.k.max(1);
    let mut limit = if checked || threshold { k + CHECK_SLACK } else { k };
    loop {
        let (found, returned) = groups(inner, build(limit as u64)).await?;
        let found: Vec<Candidate> = found
            .into_iter()
            .filter(|c| q.must_contain.matches(&c.chunk.simplified) && has_required_phrases(&mut analyzer, &q.query, &c.chunk.chunk_text))
            .collect();
        let cosines = match &q.vector {
            Some(v) => best_cosines(inner, &found.iter().map(|c| c.chunk.paragraph_id).collect::<Vec<_>>(), v).await?,
            None => HashMap::new(),
        };
        let mut hits = Vec::with_capacity(k.min(found.len()));
        for c in found {
            let cosine = q.vector.as_ref().map(|_| cosines.get(&c.chunk.paragraph_id).copied().unwrap_or(-1.0));
            if threshold && cosine.is_some_and(|x| x < q.min_score) {
                continue;
            }
            hits.push(KeywordParagraphHit { span: (c.chunk.start, c.chunk.end), paragraph: record_of(&c.chunk), score: c.score, cosine });
        }
        if let Some(next) = next_limit(hits.len(), k, limit, returned) {
            limit = next;
            continue;
        }
        hits.truncate(k);
        return Ok(KeywordHits { hits });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_grow_until_enough_or_exhausted() {
        assert_eq!(next_limit(10, 10, 26, 26), None, "enough passed");
        assert_eq!(next_limit(3, 10, 26, 20), None, "Qdrant had no more");
        assert_eq!(next_limit(3, 10, 26, 26), Some(104));
        assert_eq!(next_limit(3, 10, MAX_CHECKED_LIMIT, MAX_CHECKED_LIMIT), None, "capped");
    }

    #[test]
    fn needles_become_character_phrases() {
        let must = MustContain::parse(&["專精特新".to_string(), "\"digital economy\"".to_string()]).unwrap();
        let conditions = must_contain_conditions(&must);
        assert_eq!(conditions.len(), 2);
        let text = format!("{conditions:?}");
        assert!(text.contains("专 精 特 新"), "{text}");
        assert!(text.contains("d i g i t a l e c o n o m y"), "{text}");
    }
}
