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

use crate::backend::{
    BackendError, KeywordHits, KeywordIndexStats, KeywordParagraphHit, KeywordSearch,
};
use crate::corpus::PreparedDocument;
use crate::keyword::{best_per_paragraph, plan_reconciliation, shared_segmenter, KeywordChunk, KeywordIndex, MustContain, OpenState};
use crate::store::Store;

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
        let items: Vec<KeywordChunk<'_>> = chunks
            .iter()
            .map(|(c, p, t)| KeywordChunk { chunk_id: *c as u64, paragraph_id: *p, text: t })
            .collect();
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

/// Cosine of a unit query vector with the best of a paragraph's chunk vectors.
fn best_chunk_cosine(store: &Store, paragraph: i64, vector: &[f32]) -> Result<f32, BackendError> {
    let mut best = f32::MIN;
    for chunk in store.chunks_of_paragraph(paragraph)? {
        let v = store.chunk_vector(chunk.id)?;
        best = best.max(v.iter().zip(vector).map(|(a, b)| a * b).sum());
    }
    Ok(best)
}

impl Inner {
    /// Indexes a just-stored document's chunks (`owners`: chunk id, paragraph id in chunk
    /// order, matching the document's paragraphs and chunks) and commits.
    pub(crate) fn index_keywords(&self, doc: &PreparedDocument, owners: &[(i64, i64)]) -> Result<(), BackendError> {
        let texts = doc.paragraphs.iter().flat_map(|p| p.chunks.iter().map(|c| c.text.as_str()));
        let items: Vec<KeywordChunk<'_>> = owners
            .iter()
            .zip(texts)
            .map(|((c, p), text)| KeywordChunk { chunk_id: *c as u64, paragraph_id: *p, text })
            .collect();
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
        Ok(Some(self.store().paragraphs_containing(must.needles())?.into_iter().collect()))
    }

    /// Blocking keyword search.
    pub(crate) fn keyword_search(&self, q: &KeywordSearch) -> Result<KeywordHits, BackendError> {
        let allowed = self.must_contain_paragraphs(&q.must_contain)?;
        let catalog = self.catalog();
        let accept = |chunk: u64| {
            catalog.accepts(chunk, &q.filter, &q.exclude)
                && allowed
                    .as_ref()
                    .is_none_or(|a| catalog.owner(chunk).is_some_and(|o| a.contains(&o.paragraph)))
        };
        let chunk_hits = self.keyword.search(&q.query, usize::MAX, &accept)?;
        drop(catalog);
        let ranked = best_per_paragraph(&chunk_hits);
        let store = self.store();
        let mut hits = Vec::with_capacity(q.k.min(ranked.len()));
        for h in ranked {
            if hits.len() >= q.k.max(1) {
                break;
            }
            let cosine = match &q.vector {
                Some(v) => Some(best_chunk_cosine(&store, h.paragraph_id, v)?),
                None => None,
            };
            if cosine.is_some_and(|c| c < q.min_score && q.min_score > -1.0) {
                continue;
            }
            let paragraph = store.paragraph(h.paragraph_id)?;
            let chunk = store.chunk(h.chunk_id as i64)?;
            hits.push(KeywordParagraphHit { paragraph, score: h.score, cosine, span: (chunk.start, chunk.end) });
        }
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
