//! Storing and deleting documents: SQLite first (one transaction), then catalog, vector index and
//! keyword index (committed), under the write-order lock so concurrent writes reach all of them
//! in the same order. A stored document holds the store lock only for its SQLite transaction and
//! the vector index's write lock only to copy its vectors in: the graph insertions run beside
//! searches, and searches do not wait for the keyword index's commit either (a page's storage
//! step is ~45 ms; searches used to queue behind all of it).

use super::store::StoreInsert;
use crate::backend::{BackendError, DeletedDocument, InsertOutcome};
use crate::corpus::PreparedDocument;

use super::{DocInfo, Inner};

impl Inner {
    /// Stores a prepared, embedded document in the store, then the catalog and the index.
    pub(crate) fn put_document(&self, doc: &PreparedDocument, vectors: &[Vec<f32>]) -> Result<InsertOutcome, BackendError> {
        // Until the indexes are updated a new document is in the store but not found by any
        // search (searches go through the catalog and the indexes), which is how it looks
        // before the write anyway.
        let _writes = self.write_order();
        let mut store = self.store();
        let (outcome, chunk_ids) = match store.insert_document(doc, vectors, &self.settings.model)? {
            StoreInsert::AlreadyPresent { document_id } => return Ok(InsertOutcome::AlreadyPresent { document_id }),
            StoreInsert::Inserted { document_id, paragraphs, chunks, duplicates, paragraph_ids, chunk_ids } => {
                (InsertOutcome::Inserted { document_id, paragraphs, chunks, duplicates, paragraph_ids }, chunk_ids)
            }
        };
        let owners: Vec<(i64, i64)> = store.chunk_catalog_of_document(&doc.id)?;
        drop(store);
        self.catalog_mut().add_document(&doc.id, DocInfo { year: doc.year, tags: doc.tags.clone() }, owners.iter().copied());
        let items: Vec<(u64, &[f32])> = chunk_ids.iter().zip(vectors).map(|(id, v)| (*id as u64, v.as_slice())).collect();
        // The write lock only for copying the vectors in; the graph insertions (milliseconds
        // per chunk) under a read lock, one chunk per lock, so searches run meanwhile (readers
        // only find chunks whose paragraphs are already stored and catalogued).
        let staged = self.index_mut().stage(&items)?;
        for slot in staged.slots() {
            self.index().link(slot..slot + 1);
        }
        self.mark_index_dirty();
        self.index_keywords(doc, &owners)?;
        Ok(outcome)
    }

    /// Deletes a document: store first, then catalog and index (tombstones, compacted when a
    /// fifth of the index is dead).
    pub(crate) fn delete_document(&self, id: &str) -> Result<DeletedDocument, BackendError> {
        let _writes = self.write_order();
        let mut store = self.store();
        let deleted = store.delete_document(id)?;
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
