//! Bulk reads: paragraph vectors for themes, and the figures for Stats.

use std::collections::HashMap;

use crate::backend::{BackendError, BackendStats, HnswStats, IndexStats, ParagraphFilter, ParagraphVector};
use crate::embed::normalize;

use super::Inner;

/// A fixed pseudo-random key per paragraph id (splitmix64), so a sample of paragraphs is the
/// same on every call and every backend.
pub fn sample_key(id: i64) -> u64 {
    let mut z = (id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Up to this many documents named by a filter are read one by one; more read the corpus.
const MAX_NAMED_DOCUMENT_READS: usize = 64;

impl Inner {
    /// Paragraphs passing `filter` with their vectors (normalised mean of chunk vectors), in
    /// paragraph-id order; above `limit`, the `limit` paragraphs with the smallest
    /// [`sample_key`].
    ///
    /// The documents are those the catalog shows when the call starts (the caller holds the
    /// search gate, so none of them leaves the store before the call ends, and each was
    /// committed to the store before the catalog showed it): a replacement under way gives
    /// the old version or the new one.
    pub(crate) fn paragraph_vectors(&self, filter: &ParagraphFilter, limit: usize) -> Result<Vec<ParagraphVector>, BackendError> {
        let visible = self.catalog().document_ids();
        let store = self.reader();
        // A filter naming documents reads only theirs (ListParagraphs and TextReuse name one or
        // two): a whole-corpus read per call was 1.5 GB of vectors at a million chunks.
        let mut named_docs = filter.document_ids.clone();
        named_docs.sort();
        named_docs.dedup();
        let named = !named_docs.is_empty() && named_docs.len() <= MAX_NAMED_DOCUMENT_READS;
        let all = if named {
            let mut all = Vec::new();
            for d in &named_docs {
                all.extend(store.paragraphs_of_document(d)?);
            }
            all.sort_by_key(|p| p.id);
            all
        } else {
            store.all_paragraphs()?
        };
        let mut paragraphs: Vec<_> =
            all.into_iter().filter(|p| visible.contains(&p.document_id) && filter.accepts(&p.document_id, p.year, &p.tags)).collect();
        if paragraphs.len() > limit {
            paragraphs.sort_by_key(|p| sample_key(p.id));
            paragraphs.truncate(limit);
            paragraphs.sort_by_key(|p| p.id);
        }
        let vectors = if named {
            let mut v = Vec::new();
            for d in &named_docs {
                v.extend(store.chunk_vectors_of_document(d, &self.settings.model)?);
            }
            v
        } else {
            store.all_chunk_vectors_by_paragraph(&self.settings.model)?
        };
        drop(store);
        let mut sums: HashMap<i64, Vec<f32>> = HashMap::with_capacity(paragraphs.len());
        for (paragraph, v) in &vectors {
            let s = sums.entry(*paragraph).or_insert_with(|| vec![0.0; v.len()]);
            s.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        let mut out = Vec::with_capacity(paragraphs.len());
        for paragraph in paragraphs {
            let Some(mut vector) = sums.remove(&paragraph.id) else { continue };
            normalize(&mut vector);
            out.push(ParagraphVector { paragraph, vector });
        }
        Ok(out)
    }

    /// Store counts and index state.
    pub(crate) fn stats(&self) -> Result<BackendStats, BackendError> {
        let store = self.reader().stats()?;
        let index = self.index();
        let p = index.params();
        // Without a graph (`--large-search shortlist`) there are no HNSW parameters to report.
        let hnsw = index.has_graph().then_some(HnswStats { m: p.m, ef_construction: p.ef_construction, ef_search: Some(p.ef_search) });
        let index = IndexStats {
            kind: if index.has_graph() { "hnsw" } else { "shortlist" },
            points: index.len(),
            tombstones: index.tombstones(),
            hnsw,
        };
        Ok(BackendStats { store, index })
    }
}

#[cfg(test)]
mod tests {
    use super::sample_key;

    #[test]
    fn sample_keys_are_fixed_and_spread() {
        assert_eq!(sample_key(1), sample_key(1));
        let keys: std::collections::HashSet<u64> = (0..1000).map(sample_key).collect();
        assert_eq!(keys.len(), 1000);
        let below_half = (0..1000).filter(|&i| sample_key(i) < u64::MAX / 2).count();
        assert!((400..600).contains(&below_half), "{below_half}");
    }
}
