//! Read-only queries.

use rusqlite::{OptionalExtension, Row};

use super::{to_u32, vector, ChunkRecord, DocumentRecord, ModelStats, ParagraphRecord, Store, StoreError, StoreStats, YearCount};

const DOCUMENT_COLUMNS: &str = "id, origin, title, source, date, year, tags, \
     paragraph_count, chunk_count, duplicate_count, created_at, key";

const PARAGRAPH_SELECT: &str = "SELECT p.id, p.document_id, p.position, p.heading, p.text, \
     p.simplified, d.title, d.source, d.date, d.year, d.tags \
     FROM paragraphs p JOIN documents d ON d.id = p.document_id";

const CHUNK_COLUMNS: &str = "id, paragraph_id, ordinal, start_char, end_char, text";

impl Store {
    /// True when a document with this id is stored.
    pub fn contains_document(&self, id: &str) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)")?;
        Ok(stmt.query_row([id], |r| r.get(0))?)
    }

    /// The document with this id; `NotFound` if unknown.
    pub fn document(&self, id: &str) -> Result<DocumentRecord, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row = stmt.query_row([id], raw_document).optional()?;
        row.ok_or_else(|| StoreError::NotFound(format!("document {id}")))?.finish()
    }

    /// Up to `limit` documents ordered by id, starting strictly after the id
    /// `after` (keyset pagination: pass the last id of the previous page).
    pub fn list_documents(&self, after: Option<&str>, limit: usize) -> Result<Vec<DocumentRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Empty ids are rejected on insert, so `id > ''` matches every document
        // and one statement (always an index range scan) serves the first page too.
        // A version replaced by a newer one of its key is not listed (it is only kept until
        // searches that saw it have finished).
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id > ?1 AND replaced_by IS NULL ORDER BY id LIMIT ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params![after.unwrap_or(""), limit], raw_document)?;
        rows.map(|r| r?.finish()).collect()
    }

    /// The paragraph with this id, with its document's metadata; `NotFound` if unknown.
    pub fn paragraph(&self, paragraph_id: i64) -> Result<ParagraphRecord, StoreError> {
        let sql = format!("{PARAGRAPH_SELECT} WHERE p.id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row = stmt.query_row([paragraph_id], raw_paragraph).optional()?;
        row.ok_or_else(|| StoreError::NotFound(format!("paragraph {paragraph_id}")))?.finish()
    }

    /// The paragraphs with these ids, in the order of `ids` (an id given twice
    /// is returned twice); unknown ids are skipped (they may have been deleted
    /// since an index was built).
    pub fn paragraphs_by_ids(&self, ids: &[i64]) -> Result<Vec<ParagraphRecord>, StoreError> {
        let sql = format!("{PARAGRAPH_SELECT} WHERE p.id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(raw) = stmt.query_row([id], raw_paragraph).optional()? {
                out.push(raw.finish()?);
            }
        }
        Ok(out)
    }

    /// The paragraphs of one document with its metadata, ordered by paragraph id (empty for
    /// an unknown document).
    pub fn paragraphs_of_document(&self, document: &str) -> Result<Vec<ParagraphRecord>, StoreError> {
        let sql = format!("{PARAGRAPH_SELECT} WHERE p.document_id = ?1 ORDER BY p.id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([document], raw_paragraph)?;
        rows.map(|r| r?.finish()).collect()
    }

    /// The chunk vectors of `model_id` of one document with their paragraph ids, in chunk-id
    /// order.
    pub fn chunk_vectors_of_document(&self, document: &str, model_id: &str) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.paragraph_id, c.dim, c.vector FROM chunks c JOIN paragraphs p ON p.id = c.paragraph_id \
             WHERE p.document_id = ?1 AND c.model_id = ?2 ORDER BY c.id",
        )?;
        let vectors = vectors_by_paragraph(stmt.query(rusqlite::params![document, model_id])?);
        vectors
    }

    /// Every paragraph with its document's metadata, ordered by paragraph id.
    pub fn all_paragraphs(&self) -> Result<Vec<ParagraphRecord>, StoreError> {
        let sql = format!("{PARAGRAPH_SELECT} ORDER BY p.id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], raw_paragraph)?;
        rows.map(|r| r?.finish()).collect()
    }

    /// The chunk with this id; `NotFound` if unknown.
    pub fn chunk(&self, chunk_id: i64) -> Result<ChunkRecord, StoreError> {
        let sql = format!("SELECT {CHUNK_COLUMNS} FROM chunks WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row = stmt.query_row([chunk_id], raw_chunk).optional()?;
        row.ok_or_else(|| StoreError::NotFound(format!("chunk {chunk_id}")))?.finish()
    }

    /// The character span `(start, end)` of a chunk within its paragraph's text (without
    /// reading the chunk's text); `NotFound` if unknown.
    pub fn chunk_span(&self, chunk_id: i64) -> Result<(u32, u32), StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT start_char, end_char FROM chunks WHERE id = ?1")?;
        let span: Option<(i64, i64)> = stmt.query_row([chunk_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        let (start, end) = span.ok_or_else(|| StoreError::NotFound(format!("chunk {chunk_id}")))?;
        Ok((to_u32(start, "chunk start")?, to_u32(end, "chunk end")?))
    }

    /// The chunks of a paragraph ordered by ordinal; `NotFound` if the
    /// paragraph is unknown.
    pub fn chunks_of_paragraph(&self, paragraph_id: i64) -> Result<Vec<ChunkRecord>, StoreError> {
        let sql = format!("SELECT {CHUNK_COLUMNS} FROM chunks WHERE paragraph_id = ?1 ORDER BY ordinal");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let chunks = stmt.query_map([paragraph_id], raw_chunk)?.map(|r| r?.finish()).collect::<Result<Vec<_>, _>>()?;
        if chunks.is_empty() {
            let mut stmt = self.conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM paragraphs WHERE id = ?1)")?;
            let exists: bool = stmt.query_row([paragraph_id], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::NotFound(format!("paragraph {paragraph_id}")));
            }
        }
        Ok(chunks)
    }

    /// Every `(chunk id, vector)` embedded with `model_id`, ordered by chunk
    /// id (empty for an unknown model). `Corrupt` when a blob's length is not
    /// `dim * 4`, its dim differs from the model's, or it holds non-finite values.
    pub fn all_chunk_vectors(&self, model_id: &str) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT dim FROM models WHERE model_id = ?1")?;
        let model_dim: Option<i64> = stmt.query_row([model_id], |r| r.get(0)).optional()?;
        let mut stmt = self.conn.prepare_cached("SELECT id, dim, vector FROM chunks WHERE model_id = ?1 ORDER BY id")?;
        let mut rows = stmt.query([model_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let dim: i64 = row.get(1)?;
            if Some(dim) != model_dim {
                return Err(StoreError::Corrupt(format!("chunk {id}: dim {dim} differs from model {model_id} dim {model_dim:?}")));
            }
            let blob = row.get_ref(2)?.as_blob().map_err(|e| corrupt_col(id, e))?;
            out.push((id, vector::decode(blob, dim, id)?));
        }
        Ok(out)
    }

    /// Every chunk vector of `model_id` with the id of its paragraph, in chunk-id order.
    pub fn all_chunk_vectors_by_paragraph(&self, model_id: &str) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT id, paragraph_id, dim, vector FROM chunks WHERE model_id = ?1 ORDER BY id")?;
        let vectors = vectors_by_paragraph(stmt.query([model_id])?);
        vectors
    }

    /// The vector of one chunk; `NotFound` if unknown, `Corrupt` if malformed.
    pub fn chunk_vector(&self, chunk_id: i64) -> Result<Vec<f32>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT dim, vector FROM chunks WHERE id = ?1")?;
        let mut rows = stmt.query([chunk_id])?;
        let row = rows.next()?.ok_or_else(|| StoreError::NotFound(format!("chunk {chunk_id}")))?;
        let dim: i64 = row.get(0)?;
        let blob = row.get_ref(1)?.as_blob().map_err(|e| corrupt_col(chunk_id, e))?;
        vector::decode(blob, dim, chunk_id)
    }

    /// Corpus totals, per-year counts, undated counts and models.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let count = |sql: &str| -> Result<u64, StoreError> {
            let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT year, COUNT(*), COALESCE(SUM(paragraph_count), 0) FROM documents \
             GROUP BY year ORDER BY year",
        )?;
        let groups = stmt
            .query_map([], |r| Ok((r.get::<_, Option<i32>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let (mut years, mut undated_documents, mut undated_paragraphs) = (Vec::new(), 0, 0);
        for (year, docs, paras) in groups {
            match year {
                Some(year) => years.push(YearCount { year, documents: docs as u64, paragraphs: paras as u64 }),
                None => (undated_documents, undated_paragraphs) = (docs as u64, paras as u64),
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.model_id, m.dim, (SELECT COUNT(*) FROM chunks c WHERE c.model_id = m.model_id) \
             FROM models m ORDER BY m.model_id",
        )?;
        let models = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?
            .map(|r| {
                let (model_id, dim, chunks) = r?;
                Ok(ModelStats { model_id, dim: to_u32(dim, "model dim")?, chunks: chunks as u64 })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(StoreStats {
            documents: count("SELECT COUNT(*) FROM documents")?,
            paragraphs: count("SELECT COUNT(*) FROM paragraphs")?,
            chunks: count("SELECT COUNT(*) FROM chunks")?,
            duplicates: count("SELECT COUNT(*) FROM duplicates")?,
            years,
            undated_documents,
            undated_paragraphs,
            models,
            corpus_version: self.corpus_version()?,
        })
    }
}

/// `(paragraph id, vector)` of rows `(chunk id, paragraph id, dim, vector blob)`.
fn vectors_by_paragraph(mut rows: rusqlite::Rows<'_>) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let blob = row.get_ref(3)?.as_blob().map_err(|e| corrupt_col(id, e))?;
        out.push((row.get(1)?, vector::decode(blob, row.get(2)?, id)?));
    }
    Ok(out)
}

fn corrupt_col(id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("chunk {id}: vector column: {e}"))
}

fn parse_tags(json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("tags JSON: {e}")))
}

/// Row values before range checks and JSON decoding (which can't fail inside
/// rusqlite's row closures with our error type).
struct RawDocument(DocumentRecord, String, [i64; 3]);

fn raw_document(r: &Row<'_>) -> rusqlite::Result<RawDocument> {
    Ok(RawDocument(
        DocumentRecord {
            id: r.get(0)?,
            origin: r.get(1)?,
            title: r.get(2)?,
            source: r.get(3)?,
            date: r.get(4)?,
            year: r.get(5)?,
            tags: Vec::new(),
            paragraphs: 0,
            chunks: 0,
            duplicates: 0,
            created_at: r.get(10)?,
            key: r.get(11)?,
        },
        r.get(6)?,
        [r.get(7)?, r.get(8)?, r.get(9)?],
    ))
}

impl RawDocument {
    fn finish(self) -> Result<DocumentRecord, StoreError> {
        let RawDocument(mut d, tags, [p, c, dup]) = self;
        d.tags = parse_tags(&tags)?;
        d.paragraphs = to_u32(p, "paragraph_count")?;
        d.chunks = to_u32(c, "chunk_count")?;
        d.duplicates = to_u32(dup, "duplicate_count")?;
        Ok(d)
    }
}

struct RawParagraph(ParagraphRecord, i64, String);

fn raw_paragraph(r: &Row<'_>) -> rusqlite::Result<RawParagraph> {
    Ok(RawParagraph(
        ParagraphRecord {
            id: r.get(0)?,
            document_id: r.get(1)?,
            position: 0,
            heading: r.get(3)?,
            text: r.get(4)?,
            simplified: r.get(5)?,
            doc_title: r.get(6)?,
            doc_source: r.get(7)?,
            doc_date: r.get(8)?,
            year: r.get(9)?,
            tags: Vec::new(),
        },
        r.get(2)?,
        r.get(10)?,
    ))
}

impl RawParagraph {
    fn finish(self) -> Result<ParagraphRecord, StoreError> {
        let RawParagraph(mut p, position, tags) = self;
        p.position = to_u32(position, "paragraph position")?;
        p.tags = parse_tags(&tags)?;
        Ok(p)
    }
}

struct RawChunk(i64, i64, [i64; 3], String);

fn raw_chunk(r: &Row<'_>) -> rusqlite::Result<RawChunk> {
    Ok(RawChunk(r.get(0)?, r.get(1)?, [r.get(2)?, r.get(3)?, r.get(4)?], r.get(5)?))
}

impl RawChunk {
    fn finish(self) -> Result<ChunkRecord, StoreError> {
        let RawChunk(id, paragraph_id, [ordinal, start, end], text) = self;
        Ok(ChunkRecord {
            id,
            paragraph_id,
            ordinal: to_u32(ordinal, "chunk ordinal")?,
            start: to_u32(start, "chunk start")?,
            end: to_u32(end, "chunk end")?,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::StoreInsert;
    use super::*;

    fn store_with(docs: &[(&str, Option<i32>, u32)]) -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        for (id, year, paras) in docs {
            let doc = make_doc(id, *year, *paras, 2);
            store.insert_document(&doc, &make_vectors(&doc, 4, 0.0), MODEL).unwrap();
        }
        (tmp, store)
    }

    #[test]
    fn unknown_ids_are_not_found() {
        let (_tmp, store) = store_with(&[("a", None, 1)]);
        let nf = |r: Result<(), StoreError>| assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
        nf(store.document("zzz").map(drop));
        nf(store.paragraph(9_999).map(drop));
        nf(store.chunk(9_999).map(drop));
        nf(store.chunk_vector(-1).map(drop));
        nf(store.chunks_of_paragraph(9_999).map(drop));
        assert!(!store.contains_document("zzz").unwrap());
    }

    #[test]
    fn pagination_covers_every_document_once() {
        let ids: Vec<String> = (0..23).map(|i| format!("{:02x}", (i * 37) % 256)).collect();
        let docs: Vec<(&str, Option<i32>, u32)> = ids.iter().map(|s| (s.as_str(), Some(2000), 1)).collect();
        let (_tmp, store) = store_with(&docs);
        for limit in [1, 5, 23, 100] {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = store.list_documents(after.as_deref(), limit).unwrap();
                assert!(page.len() <= limit);
                if page.is_empty() {
                    break;
                }
                after = Some(page.last().unwrap().id.clone());
                seen.extend(page.into_iter().map(|d| d.id));
            }
            let mut want = ids.clone();
            want.sort();
            assert_eq!(seen, want, "limit {limit}");
        }
        assert!(store.list_documents(None, 0).unwrap().is_empty());
        assert!(store.list_documents(Some("~"), 10).unwrap().is_empty());
    }

    #[test]
    fn paragraphs_by_ids_keeps_order_and_skips_unknown() {
        let (_tmp, store) = store_with(&[("a", None, 2), ("b", Some(1999), 1)]);
        let all = store.all_paragraphs().unwrap();
        let ids = [all[2].id, 12_345, all[0].id];
        let got = store.paragraphs_by_ids(&ids).unwrap();
        assert_eq!(got, vec![all[2].clone(), all[0].clone()]);
        assert_eq!(got[0].year, Some(1999));
        assert!(store.paragraphs_by_ids(&[]).unwrap().is_empty());
    }

    #[test]
    fn stats_count_years_and_undated() {
        let (_tmp, mut store) = store_with(&[("a", Some(2001), 2), ("b", Some(2001), 3), ("c", None, 1), ("d", Some(1990), 1)]);
        let doc = make_doc("e", Some(2001), 1, 1);
        store.insert_document(&doc, &make_vectors(&doc, 8, 0.0), "big").unwrap();
        let s = store.stats().unwrap();
        assert_eq!((s.documents, s.paragraphs, s.chunks, s.duplicates), (5, 8, 15, 5));
        assert_eq!(
            s.years,
            vec![YearCount { year: 1990, documents: 1, paragraphs: 1 }, YearCount { year: 2001, documents: 3, paragraphs: 6 },]
        );
        assert_eq!((s.undated_documents, s.undated_paragraphs), (1, 1));
        assert_eq!(
            s.models,
            vec![ModelStats { model_id: "big".into(), dim: 8, chunks: 1 }, ModelStats { model_id: MODEL.into(), dim: 4, chunks: 14 },]
        );
        assert_eq!(s.corpus_version, 5);
    }

    #[test]
    fn malformed_vectors_are_reported_corrupt() {
        let (_tmp, mut store) = store_with(&[]);
        let doc = make_doc("a", None, 1, 2);
        let StoreInsert::Inserted { chunk_ids, .. } = store.insert_document(&doc, &make_vectors(&doc, 4, 0.0), MODEL).unwrap() else {
            panic!()
        };
        store.conn.execute("UPDATE chunks SET vector = zeroblob(12) WHERE id = ?1", [chunk_ids[1]]).unwrap();
        assert!(matches!(store.chunk_vector(chunk_ids[1]), Err(StoreError::Corrupt(_))));
        assert!(matches!(store.all_chunk_vectors(MODEL), Err(StoreError::Corrupt(_))));
        assert_eq!(store.chunk_vector(chunk_ids[0]).unwrap().len(), 4);
        store.conn.execute("UPDATE documents SET tags = 'not json'", []).unwrap();
        assert!(matches!(store.document("a"), Err(StoreError::Corrupt(_))));
    }
}
