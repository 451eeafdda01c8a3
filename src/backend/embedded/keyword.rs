//! The embedded backend's keyword index (tantivy in `data_dir/keyword`): opened and reconciled
//! with the store at start, updated with every stored or deleted document, searched with the
//! catalog's filters, and the `must_contain` scan shared with dense search.
//!
//! The store is the source of truth. A document is written to the index and committed right
//! after its SQLite transaction, under the store lock; searches only return chunks the catalog
//! knows. So a document is keyword-searchable exactly when it is stored and its index commit
//! is done, never half-indexed. After a crash between the two commits, or when the index is
//! missing, damaged or was built with another dictionary, [`open_keyword_index`] re-indexes
//! the stored documents it lacks and removes those the store no longer has.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use super::index::{dot, ChunkIndex};
use super::store::Store;
use crate::backend::{BackendError, KeywordHits, KeywordIndexStats, KeywordParagraphHit, KeywordSearch};
use crate::corpus::PreparedDocument;
use crate::keyword::{best_per_paragraph, plan_reconciliation, shared_segmenter, KeywordChunk, KeywordIndex, MustContain, OpenState};

use super::catalog::Catalog;
use super::Inner;

/// Directory of the keyword index inside the data directory.
pub(crate) fn keyword_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("keyword")
}

/// Opens the keyword index and makes it agree with the store; returns it with the number of
/// documents re-indexed or removed.
pub(crate) fn open_keyword_index(data_dir: &Path, store: &Store) -> Result<(KeywordIndex, u64), BackendError> {
    let started = Instant::now();
    let index = KeywordIndex::open(&keyword_dir(data_dir), shared_segmenter())?;
    if let OpenState::Reset(reason) = index.open_state() {
        tracing::warn!("keyword index reset ({reason}); rebuilding it from the store");
    }
    let mut stored: BTreeMap<String, u64> = BTreeMap::new();
    for (_, _, document) in store.chunk_catalog()? {
        *stored.entry(document).or_default() += 1;
    }
    let plan = plan_reconciliation(&index.documents()?, &stored);
    if plan.is_empty() {
        return Ok((index, 0));
    }
    for id in &plan.remove {
        index.delete_document(id);
    }
    for id in &plan.add {
        let chunks = store.chunk_texts_of_document(id)?;
        let items: Vec<KeywordChunk<'_>> =
            chunks.iter().map(|(c, p, t)| KeywordChunk { chunk_id: *c as u64, paragraph_id: *p, text: t }).collect();
        index.add_document(id, &items)?;
    }
    index.commit()?;
    let changed = (plan.remove.len() + plan.add.len()) as u64;
    tracing::info!(
        added = plan.add.len(),
        removed = plan.remove.len(),
        ms = started.elapsed().as_millis() as u64,
        "keyword index reconciled with the store"
    );
    Ok((index, changed))
}

/// Cosines of a unit query vector with the best chunk of each paragraph, from the index's
/// in-memory copies (normalised) of the chunk vectors. A chunk the catalog knows but the index
/// does not hold yet (a document being stored) is listed in `missing` instead.
fn best_chunk_cosines(
    catalog: &Catalog,
    index: &ChunkIndex,
    paragraphs: &[i64],
    vector: &[f32],
    missing: &mut Vec<(usize, i64)>,
) -> Vec<f32> {
    paragraphs
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let mut best = f32::MIN;
            for &chunk in catalog.chunks_of_paragraph(p) {
                match index.vector_of(chunk) {
                    Some(v) => best = best.max(dot(v, vector)),
                    None => missing.push((i, chunk as i64)),
                }
            }
            best
        })
        .collect()
}

impl Inner {
    /// Indexes a just-stored document's chunks (`owners`: chunk id, paragraph id in chunk
    /// order, matching the document's paragraphs and chunks) and commits.
    pub(crate) fn index_keywords(&self, doc: &PreparedDocument, owners: &[(i64, i64)]) -> Result<(), BackendError> {
        let texts = doc.paragraphs.iter().flat_map(|p| p.chunks.iter().map(|c| c.text.as_str()));
        let items: Vec<KeywordChunk<'_>> =
            owners.iter().zip(texts).map(|((c, p), text)| KeywordChunk { chunk_id: *c as u64, paragraph_id: *p, text }).collect();
        let result = self.keyword.add_document(&doc.id, &items).and_then(|()| self.keyword.commit());
        if result.is_err() {
            let _ = self.keyword.rollback();
        }
        Ok(result?)
    }

    /// Removes a deleted document from the keyword index and commits.
    pub(crate) fn unindex_keywords(&self, id: &str) -> Result<(), BackendError> {
        self.keyword.delete_document(id);
        Ok(self.keyword.commit()?)
    }

    /// Paragraphs passing `must_contain`; `None` when it restricts nothing.
    pub(crate) fn must_contain_paragraphs(&self, must: &MustContain) -> Result<Option<HashSet<i64>>, BackendError> {
        if must.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.reader().paragraphs_containing(must.groups())?.into_iter().collect()))
    }

    /// Blocking keyword search.
    pub(crate) fn keyword_search(&self, q: &KeywordSearch) -> Result<KeywordHits, BackendError> {
        let allowed = self.must_contain_paragraphs(&q.must_contain)?;
        let catalog = self.catalog();
        let prepared = catalog.prepare(&q.filter, &q.exclude);
        let accept = |chunk: u64| {
            prepared.accepts(chunk) && allowed.as_ref().is_none_or(|a| catalog.owner(chunk).is_some_and(|o| a.contains(&o.paragraph)))
        };
        let chunk_hits = self.keyword.search(&q.query, usize::MAX, &accept)?;
        drop(prepared);
        drop(catalog);
        let ranked = best_per_paragraph(&chunk_hits);
        let want = q.k.max(1);
        // Candidates in rank order, skipping those below `min_score` until `k` pass. Locks are
        // taken one at a time in the order writers use (catalog and index, then store).
        let mut kept = Vec::with_capacity(want.min(ranked.len()));
        let mut next = 0;
        while kept.len() < want && next < ranked.len() {
            let batch = &ranked[next..(next + want - kept.len()).min(ranked.len())];
            next += batch.len();
            let Some(vector) = &q.vector else {
                kept.extend(batch.iter().map(|h| (h, None)));
                continue;
            };
            let paragraphs: Vec<i64> = batch.iter().map(|h| h.paragraph_id).collect();
            let mut missing = Vec::new();
            let mut cosines = best_chunk_cosines(&self.catalog(), &self.index(), &paragraphs, vector, &mut missing);
            if !missing.is_empty() {
                let store = self.reader();
                for (i, chunk) in missing {
                    cosines[i] = cosines[i].max(dot(&store.chunk_vector(chunk)?, vector));
                }
            }
            for (h, cosine) in batch.iter().zip(cosines) {
                if !(cosine < q.min_score && q.min_score > -1.0) {
                    kept.push((h, Some(cosine)));
                }
            }
        }
        let owners: Vec<(i64, i64)> = kept.iter().map(|(h, _)| (h.paragraph_id, h.chunk_id as i64)).collect();
        let hits = self
            .paragraphs_with_spans(&owners)?
            .into_iter()
            .map(|(i, paragraph, span)| KeywordParagraphHit { paragraph, score: kept[i].0.score, cosine: kept[i].1, span })
            .collect();
        Ok(KeywordHits { hits })
    }

    /// Keyword index figures.
    pub(crate) fn keyword_stats(&self) -> Result<KeywordIndexStats, BackendError> {
        Ok(KeywordIndexStats {
            documents: self.keyword.documents()?.len() as u64,
            chunks: self.keyword.chunk_count(),
            size_bytes: self.keyword.size_on_disk(),
            reconciled_at_start: self.keyword_reconciled,
            user_dictionary_words: self.keyword.segmenter_words() as u64,
        })
    }
}
