//! Inserting and deleting documents; each call is one immediate transaction.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::validate::validate;
use super::{vector, Store, StoreDelete, StoreError, StoreInsert};
use crate::corpus::PreparedDocument;

impl Store {
    /// Stores a prepared document and its chunk vectors (one per chunk, in
    /// paragraph then chunk order) in one transaction, embedded with `model_id`.
    ///
    /// Returns [`StoreInsert::AlreadyPresent`] (and changes nothing) when a
    /// document with the same id exists. Fails with `InvalidArgument`, writing
    /// nothing, when: the id or `model_id` is empty; the number of vectors is
    /// not the document's total chunk count; vectors differ in length, are
    /// empty, or hold non-finite values; their dimension differs from the one
    /// already recorded for `model_id`; paragraph positions repeat; or a chunk
    /// has `start > end`.
    pub fn insert_document(
        &mut self,
        doc: &PreparedDocument,
        chunk_vectors: &[Vec<f32>],
        model_id: &str,
    ) -> Result<StoreInsert, StoreError> {
        let dim = validate(doc, chunk_vectors, model_id)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)", [&doc.id], |r| r.get(0))?;
        if exists {
            return Ok(StoreInsert::AlreadyPresent { document_id: doc.id.clone() });
        }
        if let Some(dim) = dim {
            register_model(&tx, model_id, dim)?;
        }
        // The key moves to the new version in this transaction; the old one is marked.
        let replaced: Option<String> = match &doc.key {
            Some(key) => {
                let old: Option<String> = tx.query_row("SELECT id FROM documents WHERE key = ?1", [key], |r| r.get(0)).optional()?;
                if let Some(old) = &old {
                    tx.execute("UPDATE documents SET key = NULL, replaced_by = ?1 WHERE id = ?2", params![doc.id, old])?;
                }
                old
            }
            None => None,
        };
        let (paragraph_ids, chunk_ids) = write_rows(&tx, doc, chunk_vectors, model_id, dim)?;
        bump_version(&tx)?;
        tx.commit()?;
        Ok(StoreInsert::Inserted {
            document_id: doc.id.clone(),
            paragraphs: doc.paragraphs.len() as u32,
            chunks: chunk_ids.len() as u32,
            duplicates: doc.duplicates.len() as u32,
            paragraph_ids,
            chunk_ids,
            replaced,
        })
    }

    /// Id of the document holding `key`, if any.
    pub fn document_id_by_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM documents WHERE key = ?1")?;
        Ok(stmt.query_row([key], |r| r.get(0)).optional()?)
    }

    /// Documents marked replaced by a newer version of their key and not yet deleted.
    pub fn replaced_documents(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM documents WHERE replaced_by IS NOT NULL ORDER BY id")?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// Deletes a document with its paragraphs, chunks and duplicates (one
    /// transaction) and bumps the corpus version. `NotFound` if unknown.
    pub fn delete_document(&mut self, id: &str) -> Result<StoreDelete, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<i64> = tx.query_row("SELECT 1 FROM documents WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!("document {id}")));
        }
        let paragraph_ids = collect_ids(&tx, "SELECT id FROM paragraphs WHERE document_id = ?1 ORDER BY id", id)?;
        let chunk_ids = collect_ids(
            &tx,
            "SELECT c.id FROM chunks c JOIN paragraphs p ON p.id = c.paragraph_id \
             WHERE p.document_id = ?1 ORDER BY c.id",
            id,
        )?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [id])?;
        bump_version(&tx)?;
        tx.commit()?;
        Ok(StoreDelete {
            document_id: id.to_string(),
            paragraphs: paragraph_ids.len() as u32,
            paragraph_ids,
            chunks: chunk_ids.len() as u32,
            chunk_ids,
        })
    }
}

/// Records `model_id` with `dim`, or checks it against the recorded dimension.
fn register_model(tx: &Transaction<'_>, model_id: &str, dim: usize) -> Result<(), StoreError> {
    let stored: Option<i64> = tx.query_row("SELECT dim FROM models WHERE model_id = ?1", [model_id], |r| r.get(0)).optional()?;
    match stored {
        Some(d) if d == dim as i64 => Ok(()),
        Some(d) => Err(StoreError::InvalidArgument(format!("model {model_id} stores {d}-dimensional vectors, got {dim}"))),
        None => {
            tx.execute("INSERT INTO models (model_id, dim) VALUES (?1, ?2)", params![model_id, dim as i64])?;
            Ok(())
        }
    }
}

/// Inserts the document, paragraph, chunk and duplicate rows; returns paragraph and chunk ids.
fn write_rows(
    tx: &Transaction<'_>,
    doc: &PreparedDocument,
    chunk_vectors: &[Vec<f32>],
    model_id: &str,
    dim: Option<usize>,
) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
    let tags = serde_json::to_string(&doc.tags).map_err(|e| StoreError::InvalidArgument(format!("tags: {e}")))?;
    let created_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    tx.execute(
        "INSERT INTO documents (id, origin, title, source, date, year, tags, \
         paragraph_count, chunk_count, duplicate_count, created_at, key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            doc.id,
            doc.origin,
            doc.title,
            doc.source,
            doc.date,
            doc.year,
            tags,
            doc.paragraphs.len() as i64,
            chunk_vectors.len() as i64,
            doc.duplicates.len() as i64,
            created_at,
            doc.key
        ],
    )?;
    let mut para_stmt = tx.prepare_cached(
        "INSERT INTO paragraphs (document_id, position, heading, text, simplified) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut chunk_stmt = tx.prepare_cached(
        "INSERT INTO chunks (paragraph_id, ordinal, start_char, end_char, text, model_id, dim, vector) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let dim = dim.unwrap_or(0) as i64;
    let mut vectors = chunk_vectors.iter();
    let mut chunk_ids = Vec::with_capacity(chunk_vectors.len());
    let mut paragraph_ids = Vec::with_capacity(doc.paragraphs.len());
    for p in &doc.paragraphs {
        para_stmt.execute(params![doc.id, p.position, p.heading, p.text, p.simplified])?;
        let paragraph_id = tx.last_insert_rowid();
        paragraph_ids.push(paragraph_id);
        for (ordinal, c) in p.chunks.iter().enumerate() {
            // `validate` guarantees one vector per chunk.
            let v = vectors.next().ok_or_else(|| StoreError::InvalidArgument("fewer vectors than chunks".into()))?;
            chunk_stmt.execute(params![paragraph_id, ordinal as i64, c.start, c.end, c.text, model_id, dim, vector::encode(v)])?;
            chunk_ids.push(tx.last_insert_rowid());
        }
    }
    let mut dup_stmt = tx.prepare_cached(
        "INSERT INTO duplicates (document_id, of_position, block_index, text) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for d in &doc.duplicates {
        dup_stmt.execute(params![doc.id, d.of_position, d.block_index, d.text])?;
    }
    Ok((paragraph_ids, chunk_ids))
}

/// Increments the persisted corpus version inside `tx`.
fn bump_version(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let n = tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'corpus_version'", [])?;
    if n != 1 {
        return Err(StoreError::Corrupt("corpus_version missing from meta".into()));
    }
    Ok(())
}

/// Runs a one-parameter query returning ids.
fn collect_ids(tx: &Transaction<'_>, sql: &str, arg: &str) -> Result<Vec<i64>, StoreError> {
    let mut stmt = tx.prepare(sql)?;
    let ids = stmt.query_map([arg], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn round_trip_of_a_document() {
        let (_tmp, mut store) = open();
        let doc = make_doc("abc", Some(2019), 3, 2);
        let vecs = make_vectors(&doc, 4, 0.5);
        let out = store.insert_document(&doc, &vecs, MODEL).unwrap();
        let StoreInsert::Inserted { document_id, paragraphs, chunks, duplicates, paragraph_ids, chunk_ids, replaced } = out else {
            panic!("expected Inserted")
        };
        assert_eq!(paragraph_ids.len(), 3);
        assert_eq!((document_id.as_str(), paragraphs, chunks, duplicates), ("abc", 3, 6, 1));
        assert_eq!((chunk_ids.len(), replaced), (6, None));

        let rec = store.document("abc").unwrap();
        assert_eq!(rec.origin, doc.origin);
        assert_eq!((rec.title.clone(), rec.source.clone(), rec.date.clone()), (doc.title.clone(), doc.source.clone(), doc.date.clone()));
        assert_eq!((rec.year, rec.tags.clone()), (Some(2019), doc.tags.clone()));
        assert_eq!((rec.paragraphs, rec.chunks, rec.duplicates), (3, 6, 1));
        assert!(rec.created_at > 1_600_000_000);

        let paras = store.all_paragraphs().unwrap();
        assert_eq!(paras.len(), 3);
        let mut k = 0;
        for (p, want) in paras.iter().zip(&doc.paragraphs) {
            assert_eq!((p.position, &p.heading, &p.text, &p.simplified), (want.position, &want.heading, &want.text, &want.simplified));
            assert_eq!(
                (&p.doc_title, &p.doc_source, &p.doc_date, p.year, &p.tags),
                (&doc.title, &doc.source, &doc.date, doc.year, &doc.tags)
            );
            assert_eq!(store.paragraph(p.id).unwrap(), *p);
            let chunks = store.chunks_of_paragraph(p.id).unwrap();
            assert_eq!(chunks.len(), want.chunks.len());
            for (ord, (c, wc)) in chunks.iter().zip(&want.chunks).enumerate() {
                assert_eq!((c.paragraph_id, c.ordinal, c.start, c.end, &c.text), (p.id, ord as u32, wc.start, wc.end, &wc.text));
                assert_eq!(c.id, chunk_ids[k]);
                assert_eq!(store.chunk(c.id).unwrap(), *c);
                assert_eq!(store.chunk_vector(c.id).unwrap(), vecs[k]);
                k += 1;
            }
        }
        let all = store.all_chunk_vectors(MODEL).unwrap();
        assert_eq!(all, chunk_ids.iter().copied().zip(vecs.iter().cloned()).collect::<Vec<_>>());
        assert!(store.all_chunk_vectors("other-model").unwrap().is_empty());
        assert_eq!(store.corpus_version().unwrap(), 1);
    }

    #[test]
    fn reinsert_is_already_present_and_changes_nothing() {
        let (_tmp, mut store) = open();
        let doc = make_doc("same", None, 2, 2);
        store.insert_document(&doc, &make_vectors(&doc, 4, 0.0), MODEL).unwrap();
        let before = snapshot(&store);
        let rec = store.document("same").unwrap();
        // Different vectors (and even a different model) must not overwrite anything.
        let out = store.insert_document(&doc, &make_vectors(&doc, 4, 9.0), "m2").unwrap();
        assert_eq!(out, StoreInsert::AlreadyPresent { document_id: "same".into() });
        assert_eq!(snapshot(&store), before);
        assert_eq!(store.document("same").unwrap(), rec);
        assert_eq!(store.all_chunk_vectors(MODEL).unwrap()[0].1, make_vectors(&doc, 4, 0.0)[0]);
    }

    #[test]
    fn delete_cascades_and_bumps_version() {
        let (_tmp, mut store) = open();
        let a = make_doc("a", Some(2020), 2, 3);
        let b = make_doc("b", Some(2021), 1, 1);
        let StoreInsert::Inserted { chunk_ids, .. } = store.insert_document(&a, &make_vectors(&a, 4, 0.0), MODEL).unwrap() else {
            panic!()
        };
        store.insert_document(&b, &make_vectors(&b, 4, 0.0), MODEL).unwrap();
        assert_eq!(store.corpus_version().unwrap(), 2);
        let para_ids: Vec<i64> = store.all_paragraphs().unwrap().iter().filter(|p| p.document_id == "a").map(|p| p.id).collect();

        let del = store.delete_document("a").unwrap();
        assert_eq!(del.document_id, "a");
        assert_eq!(del.paragraphs, 2);
        assert_eq!(del.paragraph_ids, para_ids);
        assert_eq!(del.chunk_ids, chunk_ids);
        assert_eq!(store.corpus_version().unwrap(), 3);
        assert!(!store.contains_document("a").unwrap());
        assert_eq!(snapshot(&store)[..4], [1, 1, 1, 1]);
        for id in &del.chunk_ids {
            assert!(matches!(store.chunk(*id), Err(StoreError::NotFound(_))));
        }
        assert!(matches!(store.paragraph(para_ids[0]), Err(StoreError::NotFound(_))));
        assert!(matches!(store.delete_document("a"), Err(StoreError::NotFound(_))));
        assert_eq!(store.corpus_version().unwrap(), 3, "failed delete must not bump");
        store.check_integrity().unwrap();

        // Ids are never reused, even for the highest deleted ids.
        store.delete_document("b").unwrap();
        let c = make_doc("c", None, 1, 1);
        let StoreInsert::Inserted { chunk_ids: new_ids, .. } = store.insert_document(&c, &make_vectors(&c, 4, 0.0), MODEL).unwrap() else {
            panic!()
        };
        assert!(new_ids[0] > *chunk_ids.last().unwrap() + 1);
        assert_eq!(store.corpus_version().unwrap(), 5);
    }

    #[test]
    fn document_without_chunks_is_stored() {
        let (_tmp, mut store) = open();
        let mut doc = make_doc("empty", None, 0, 0);
        doc.duplicates.clear();
        let out = store.insert_document(&doc, &[], MODEL).unwrap();
        assert!(matches!(out, StoreInsert::Inserted { paragraphs: 0, chunks: 0, .. }));
        assert!(store.stats().unwrap().models.is_empty(), "no dim known, no model recorded");
        assert!(!store.is_empty().unwrap());
    }
}
