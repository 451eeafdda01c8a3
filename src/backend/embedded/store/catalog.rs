//! Compact chunk → paragraph → document maps for the engine's in-memory catalog.

use super::{Store, StoreError};

impl Store {
    /// Every chunk as `(chunk id, paragraph id, document id)`, ordered by chunk id.
    pub fn chunk_catalog(&self) -> Result<Vec<(i64, i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.paragraph_id, p.document_id FROM chunks c \
             JOIN paragraphs p ON p.id = c.paragraph_id ORDER BY c.id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The chunks of one document as `(chunk id, paragraph id)`, ordered by
    /// chunk id (paragraph then chunk order); `NotFound` if the document is unknown.
    pub fn chunk_catalog_of_document(&self, id: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.paragraph_id FROM chunks c \
             JOIN paragraphs p ON p.id = c.paragraph_id WHERE p.document_id = ?1 ORDER BY c.id",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() && !self.contains_document(id)? {
            return Err(StoreError::NotFound(format!("document {id}")));
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::StoreInsert;
    use super::*;

    #[test]
    fn catalogs_map_chunks_to_paragraphs_and_documents() {
        let (_tmp, mut store) = open();
        let mut ids = Vec::new();
        for (name, paras, chunks) in [("a", 2, 2), ("b", 1, 3)] {
            let doc = make_doc(name, None, paras, chunks);
            let StoreInsert::Inserted { chunk_ids, .. } = store.insert_document(&doc, &make_vectors(&doc, 4, 0.0), MODEL).unwrap() else {
                panic!("expected Inserted")
            };
            ids.push(chunk_ids);
        }
        let all = store.chunk_catalog().unwrap();
        assert_eq!(all.len(), 7);
        for (chunk, paragraph, document) in &all {
            let c = store.chunk(*chunk).unwrap();
            assert_eq!(c.paragraph_id, *paragraph);
            assert_eq!(store.paragraph(*paragraph).unwrap().document_id, *document);
        }
        let of_b = store.chunk_catalog_of_document("b").unwrap();
        assert_eq!(of_b.iter().map(|(c, _)| *c).collect::<Vec<_>>(), ids[1]);
        assert!(of_b.iter().all(|(_, p)| *p == of_b[0].1));
        assert!(matches!(store.chunk_catalog_of_document("zzz"), Err(StoreError::NotFound(_))));
        store.delete_document("a").unwrap();
        assert_eq!(store.chunk_catalog().unwrap().len(), 3);
    }
}
