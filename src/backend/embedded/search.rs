//! Nearest-paragraph search over the in-process index: chunk hits (exact scan or HNSW, with the
//! catalog's filter applied during the walk), aggregated to paragraphs (a paragraph scores as
//! its best chunk), ranked with stable ties, and joined with the stored metadata.

use std::collections::HashMap;

use super::index::Shortlist;
use crate::backend::{BackendError, DenseHits, DenseQuery, LargeSearch, ParagraphHit, ParagraphRecord, ParagraphVector};
use crate::embed::normalize;

use super::Inner;

/// A paragraph of a ranking: its index in the ranking, its record and the matching chunk's
/// character span `(start, end)`.
pub(crate) type RankedParagraph = (usize, ParagraphRecord, (u32, u32));

impl Inner {
    /// The vector of a stored paragraph: the normalised mean of its chunk vectors.
    pub(crate) fn paragraph_vector(&self, id: i64) -> Result<ParagraphVector, BackendError> {
        let store = self.reader();
        let paragraph = store.paragraph(id)?;
        let mut sum = vec![0f32; self.settings.dim];
        for chunk in store.chunks_of_paragraph(id)? {
            let v = store.chunk_vector(chunk.id)?;
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
        }
        normalize(&mut sum);
        Ok(ParagraphVector { paragraph, vector: sum })
    }

    /// Blocking search for a ready query vector.
    pub(crate) fn nearest(&self, q: &DenseQuery) -> Result<DenseHits, BackendError> {
        let k = q.k.max(1);
        let allowed = self.must_contain_paragraphs(&q.must_contain)?;
        let catalog = self.catalog();
        let index = self.index();
        let live = index.len();
        if live == 0 {
            return Ok(DenseHits { hits: Vec::new(), path: "exact" });
        }
        // must_contain restricts to a set of paragraphs: scan those exactly.
        let prepared = catalog.prepare(&q.filter, &q.exclude);
        let exact = q.exact
            || allowed.is_some()
            || live < self.settings.exact_search_below
            || (!q.filter.is_empty() && prepared.selectivity() < 0.05);
        let path = match (exact, self.settings.large_search) {
            (true, _) => "exact",
            (false, LargeSearch::Shortlist) => "shortlist",
            (false, LargeSearch::Hnsw) => "hnsw",
        };
        let accept = |chunk: u64| {
            prepared.accepts(chunk) && allowed.as_ref().is_none_or(|a| catalog.owner(chunk).is_some_and(|o| a.contains(&o.paragraph)))
        };
        let mut fetch = (k * 4 + 16).min(live);
        let best = loop {
            let chunk_hits = match path {
                "exact" => index.exact_search(&q.vector, fetch, Some(&accept))?,
                "shortlist" => index.shortlist_search(&q.vector, fetch, Some(&accept), Shortlist::default())?,
                _ => index.search(&q.vector, fetch, Some(&accept))?,
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
        drop(prepared);
        drop(catalog);
        #[cfg(test)]
        super::keys_tests::pause_after_ranking();
        let mut ranked: Vec<(i64, f32, i64)> = best.into_iter().map(|(p, (s, c))| (p, s, c)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.retain(|(_, s, _)| *s >= q.min_score || q.min_score <= -1.0);
        ranked.truncate(k);
        let owners: Vec<(i64, i64)> = ranked.iter().map(|&(p, _, c)| (p, c)).collect();
        let hits = self
            .paragraphs_with_spans(&owners)?
            .into_iter()
            .map(|(i, paragraph, span)| ParagraphHit { paragraph, score: ranked[i].1, span })
            .collect();
        Ok(DenseHits { hits, path })
    }

    /// For each `(paragraph id, chunk id)` of a ranking, in order: its index, the stored
    /// paragraph and the chunk's span, read in one go on the reader connection. Paragraphs
    /// deleted since the ranking was made are skipped.
    pub(crate) fn paragraphs_with_spans(&self, owners: &[(i64, i64)]) -> Result<Vec<RankedParagraph>, BackendError> {
        let store = self.reader();
        let ids: Vec<i64> = owners.iter().map(|o| o.0).collect();
        let mut records: HashMap<i64, ParagraphRecord> = store.paragraphs_by_ids(&ids)?.into_iter().map(|p| (p.id, p)).collect();
        let mut out = Vec::with_capacity(owners.len());
        for (i, &(paragraph, chunk)) in owners.iter().enumerate() {
            let Some(record) = records.remove(&paragraph) else { continue };
            out.push((i, record, store.chunk_span(chunk)?));
        }
        Ok(out)
    }
}
