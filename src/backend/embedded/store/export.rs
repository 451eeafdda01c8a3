//! Reading one stored document back whole (paragraphs, chunks with vectors, duplicates), for
//! copying a corpus into another backend without embedding anything again; and which of many
//! documents are stored, in one call.

use crate::corpus::{DuplicateOccurrence, PreparedChunk, PreparedDocument, PreparedParagraph};

use super::{ExportedDocument, Store, StoreError};

impl Store {
    /// Those of `ids` that are not stored, in the order given, each once (one prepared
    /// statement, one lookup per distinct id).
    pub fn missing_documents(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)")?;
        let mut seen = std::collections::HashSet::new();
        let mut missing = Vec::new();
        for id in ids {
            if seen.insert(id.as_str()) && !stmt.query_row([id], |r| r.get::<_, bool>(0))? {
                missing.push(id.clone());
            }
        }
        Ok(missing)
    }

    /// The stored document `id` with everything needed to store it elsewhere; `NotFound` if unknown.
    pub fn export_document(&self, id: &str) -> Result<ExportedDocument, StoreError> {
        let record = self.document(id)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, position, heading, text, simplified FROM paragraphs WHERE document_id = ?1 ORDER BY position")?;
        let rows: Vec<(i64, i64, Option<String>, String, String)> =
            stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?.collect::<Result<_, _>>()?;
        let mut paragraphs = Vec::with_capacity(rows.len());
        let mut paragraph_ids = Vec::with_capacity(rows.len());
        let mut vectors = Vec::new();
        for (pid, position, heading, text, simplified) in rows {
            let mut chunks = Vec::new();
            for c in self.chunks_of_paragraph(pid)? {
                vectors.push(self.chunk_vector(c.id)?);
                chunks.push(PreparedChunk { start: c.start, end: c.end, text: c.text });
            }
            let position = u32::try_from(position).map_err(|_| StoreError::Corrupt(format!("paragraph {pid}: position {position}")))?;
            paragraphs.push(PreparedParagraph { position, heading, text, simplified, chunks });
            paragraph_ids.push(pid);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT of_position, block_index, text FROM duplicates WHERE document_id = ?1 ORDER BY block_index")?;
        let duplicates = stmt
            .query_map([id], |r| {
                Ok(DuplicateOccurrence {
                    of_position: r.get::<_, i64>(0)? as u32,
                    block_index: r.get::<_, i64>(1)? as u32,
                    text: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let document = PreparedDocument {
            id: record.id,
            key: record.key,
            origin: record.origin,
            title: record.title,
            source: record.source,
            date: record.date,
            year: record.year,
            tags: record.tags,
            paragraphs,
            duplicates,
        };
        Ok(ExportedDocument { document, paragraph_ids, vectors, created_at: record.created_at })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::StoreInsert;

    #[test]
    fn export_gives_back_what_was_stored() {
        let (_tmp, mut store) = open();
        let doc = make_doc("abc", Some(2020), 3, 2);
        let vecs = make_vectors(&doc, 4, 0.5);
        let StoreInsert::Inserted { .. } = store.insert_document(&doc, &vecs, MODEL).unwrap() else { panic!() };
        let out = store.export_document("abc").unwrap();
        assert_eq!(out.document, doc);
        assert_eq!(out.vectors, vecs);
        assert_eq!(out.paragraph_ids.len(), 3);
        assert!(store.export_document("zzz").is_err());
    }
}
