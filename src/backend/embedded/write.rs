//! Storing and deleting documents: SQLite first (one transaction), then vector index, keyword
//! index and last the catalog, under the write-order lock so concurrent writes reach all of them
//! in the same order. A stored document holds the store lock only for its SQLite transaction and
//! the vector index's write lock only to copy its vectors in: the graph insertions run beside
//! searches, and searches do not wait for the keyword index's commit either (a page's storage
//! step is ~45 ms; searches used to queue behind all of it).
//!
//! Searches only return chunks the catalog knows, so the catalog update is the moment a
//! document becomes visible. A keyed document that replaces an older version swaps both in one
//! catalog update; the old version is deleted from the store only once every search that
//! started before the swap has finished (the search gate), so a search sees the old version
//! or the new one, whole, never both and never neither.

use super::store::StoreInsert;
use crate::backend::{BackendError, DeletedDocument, InsertOutcome};
use crate::corpus::PreparedDocument;

use super::{DocInfo, Inner};

impl Inner {
    /// Stores a prepared, embedded document in the store, then the indexes and the catalog;
    /// a keyed document replaces the stored version of its key.
    pub(crate) fn put_document(&self, doc: &PreparedDocument, vectors: &[Vec<f32>]) -> Result<InsertOutcome, BackendError> {
        let _writes = self.write_order();
        let mut store = self.store();
        let (outcome, chunk_ids) = match store.insert_document(doc, vectors, &self.settings.model)? {
            StoreInsert::AlreadyPresent { document_id } => return Ok(InsertOutcome::AlreadyPresent { document_id }),
            StoreInsert::Inserted { document_id, paragraphs, chunks, duplicates, paragraph_ids, chunk_ids, replaced } => {
                (InsertOutcome::Inserted { document_id, paragraphs, chunks, duplicates, paragraph_ids, replaced }, chunk_ids)
            }
        };
        let owners: Vec<(i64, i64)> = store.chunk_catalog_of_document(&doc.id)?;
        let replaced = match &outcome {
            InsertOutcome::Inserted { replaced: Some(old), .. } => {
                let old_chunks: Vec<i64> = store.chunk_catalog_of_document(old)?.into_iter().map(|(c, _)| c).collect();
                Some((old.clone(), old_chunks))
            }
            _ => None,
        };
        drop(store);
        // The write lock only for copying the vectors in; the graph insertions (milliseconds
        // per chunk) under a read lock, one chunk per lock, so searches run meanwhile. The new
        // chunks are not found before the catalog knows them.
        let items: Vec<(u64, &[f32])> = chunk_ids.iter().zip(vectors).map(|(id, v)| (*id as u64, v.as_slice())).collect();
        let staged = self.index_mut().stage(&items)?;
        for slot in staged.slots() {
            self.index().link(slot..slot + 1);
        }
        self.mark_index_dirty();
        self.index_keywords(doc, &owners)?;
        {
            // The moment of visibility: new version in, old version out, in one update.
            let mut catalog = self.catalog_mut();
            catalog.add_document(&doc.id, DocInfo { year: doc.year, tags: doc.tags.clone() }, owners.iter().copied());
            if let Some((old, old_chunks)) = &replaced {
                catalog.remove_document(old, old_chunks);
            }
        }
        if let Some((old, _)) = replaced {
            // Searches that saw the old catalog may still read the old version's rows.
            self.wait_for_searches_before_now();
            self.remove_document(&old)?;
        }
        Ok(outcome)
    }

    /// Deletes a document (write-order lock taken here).
    pub(crate) fn delete_document(&self, id: &str) -> Result<DeletedDocument, BackendError> {
        let _writes = self.write_order();
        self.remove_document(id)
    }

    /// Deletes a document: store first, then catalog and index (tombstones, compacted when a
    /// fifth of the index is dead). The caller holds the write-order lock.
    pub(crate) fn remove_document(&self, id: &str) -> Result<DeletedDocument, BackendError> {
        let deleted = self.store().delete_document(id)?;
        self.catalog_mut().remove_document(id, &deleted.chunk_ids);
        let ids: Vec<u64> = deleted.chunk_ids.iter().map(|c| *c as u64).collect();
        let mut index = self.index_mut();
        index.tombstone(&ids);
        if index.needs_compaction() {
            *index = index.compacted();
        }
        drop(index);
        self.mark_index_dirty();
        self.unindex_keywords(id)?;
        Ok(DeletedDocument {
            document_id: deleted.document_id,
            paragraphs: deleted.paragraphs,
            paragraph_ids: deleted.paragraph_ids,
            chunks: deleted.chunks,
        })
    }
}
