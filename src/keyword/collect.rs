//! A tantivy collector that keeps every matching chunk with its BM25 score. Filtering and
//! ranking happen afterwards in [`super::KeywordIndex::search`], where the caller's filter
//! (which borrows the engine's catalog and so cannot live inside tantivy's `'static`
//! segment collectors) is applied exactly, with deterministic ties.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentReader};

/// Fast field of the keyword index: the chunk id (u64).
pub(crate) const CHUNK_ID_FIELD: &str = "chunk_id";
/// Fast field of the keyword index: the paragraph id (i64).
pub(crate) const PARAGRAPH_ID_FIELD: &str = "paragraph_id";

/// One matching chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeywordHit {
    /// The chunk's id (the engine's chunk id).
    pub chunk_id: u64,
    /// Its paragraph's id.
    pub paragraph_id: i64,
    /// BM25 score (sum over the query's matching clauses); higher is better.
    pub score: f32,
}

/// Collects all live matching documents.
pub(crate) struct AllMatches;

/// Per-segment part of [`AllMatches`].
pub(crate) struct AllMatchesSegment {
    chunk: Column<u64>,
    paragraph: Column<i64>,
    hits: Vec<KeywordHit>,
}

impl Collector for AllMatches {
    type Fruit = Vec<KeywordHit>;
    type Child = AllMatchesSegment;

    fn for_segment(&self, _segment: u32, reader: &SegmentReader) -> tantivy::Result<AllMatchesSegment> {
        let fast = reader.fast_fields();
        Ok(AllMatchesSegment { chunk: fast.u64(CHUNK_ID_FIELD)?, paragraph: fast.i64(PARAGRAPH_ID_FIELD)?, hits: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<KeywordHit>>) -> tantivy::Result<Vec<KeywordHit>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for AllMatchesSegment {
    type Fruit = Vec<KeywordHit>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let (Some(chunk_id), Some(paragraph_id)) = (self.chunk.first(doc), self.paragraph.first(doc)) {
            self.hits.push(KeywordHit { chunk_id, paragraph_id, score });
        }
    }

    fn harvest(self) -> Vec<KeywordHit> {
        self.hits
    }
}

/// Keeps the accepted hits and returns the best `limit`, by score (descending) then chunk id.
pub fn rank_hits(mut hits: Vec<KeywordHit>, limit: usize, accept: &dyn Fn(u64) -> bool) -> Vec<KeywordHit> {
    hits.retain(|h| accept(h.chunk_id));
    let order = |a: &KeywordHit, b: &KeywordHit| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id));
    if hits.len() > limit && limit > 0 {
        hits.select_nth_unstable_by(limit - 1, order);
    }
    hits.truncate(limit);
    hits.sort_by(order);
    hits
}

/// A paragraph's keyword result: its best chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParagraphKeywordHit {
    /// The paragraph.
    pub paragraph_id: i64,
    /// Its best chunk.
    pub chunk_id: u64,
    /// The best chunk's BM25 score.
    pub score: f32,
}

/// Groups chunk hits by paragraph (a paragraph scores as its best chunk; ties: smaller chunk
/// id) and ranks paragraphs by score, then paragraph id.
pub fn best_per_paragraph(hits: &[KeywordHit]) -> Vec<ParagraphKeywordHit> {
    let mut best: std::collections::HashMap<i64, ParagraphKeywordHit> = std::collections::HashMap::new();
    for h in hits {
        let candidate = ParagraphKeywordHit { paragraph_id: h.paragraph_id, chunk_id: h.chunk_id, score: h.score };
        best.entry(h.paragraph_id)
            .and_modify(|b| {
                if h.score > b.score || (h.score == b.score && h.chunk_id < b.chunk_id) {
                    *b = candidate;
                }
            })
            .or_insert(candidate);
    }
    let mut out: Vec<ParagraphKeywordHit> = best.into_values().collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.paragraph_id.cmp(&b.paragraph_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(chunk_id: u64, paragraph_id: i64, score: f32) -> KeywordHit {
        KeywordHit { chunk_id, paragraph_id, score }
    }

    #[test]
    fn ranking_filters_and_breaks_ties_by_id() {
        let hits = vec![h(5, 1, 1.0), h(3, 1, 2.0), h(4, 2, 2.0), h(9, 3, 0.5), h(1, 4, 1.0)];
        let ranked = rank_hits(hits.clone(), 3, &|c| c != 9);
        assert_eq!(ranked.iter().map(|h| h.chunk_id).collect::<Vec<_>>(), [3, 4, 1]);
        assert_eq!(rank_hits(hits.clone(), 10, &|c| c % 2 == 1).len(), 4);
        assert!(rank_hits(hits, 0, &|_| true).is_empty());
    }

    #[test]
    fn paragraphs_score_as_their_best_chunk() {
        let hits = vec![h(5, 1, 1.0), h(3, 1, 2.0), h(4, 2, 2.0), h(6, 2, 2.0), h(9, 3, 0.5)];
        let p = best_per_paragraph(&hits);
        assert_eq!(p.iter().map(|x| (x.paragraph_id, x.chunk_id)).collect::<Vec<_>>(), [(1, 3), (2, 4), (3, 9)]);
    }
}
