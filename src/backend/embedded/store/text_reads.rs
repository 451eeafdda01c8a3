//! Text reads for the keyword index: chunk texts to (re)index, and the exact-substring scan
//! behind `must_contain`.

use super::{Store, StoreError};

impl Store {
    /// The chunks of one document as `(chunk id, paragraph id, simplified text)`, in chunk-id
    /// order (empty for an unknown document).
    pub fn chunk_texts_of_document(&self, id: &str) -> Result<Vec<(i64, i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.paragraph_id, c.text FROM chunks c \
             JOIN paragraphs p ON p.id = c.paragraph_id WHERE p.document_id = ?1 ORDER BY c.id",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ids of the paragraphs whose simplified text contains every needle (exact, case-sensitive
    /// substrings), ascending. No needles: every paragraph.
    pub fn paragraphs_containing(&self, groups: &[Vec<String>]) -> Result<Vec<i64>, StoreError> {
        let mut sql = String::from("SELECT id FROM paragraphs WHERE 1");
        let mut i = 0;
        for group in groups {
            let alternatives: Vec<String> = group
                .iter()
                .map(|_| {
                    i += 1;
                    format!("instr(simplified, ?{i}) > 0")
                })
                .collect();
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
        sql.push_str(" ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(groups.iter().flatten()), |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn chunk_texts_and_substring_scan() {
        let (_tmp, mut store) = open();
        for doc in [make_doc("a", Some(2024), 2, 2), make_doc("b", Some(2024), 1, 1)] {
            store.insert_document(&doc, &make_vectors(&doc, 4, 0.0), MODEL).unwrap();
        }
        let a = store.chunk_texts_of_document("a").unwrap();
        assert_eq!(a.iter().map(|c| c.2.as_str()).collect::<Vec<_>>(), ["a:0:0", "a:0:1", "a:1:0", "a:1:1"]);
        assert_eq!(a[0].1, a[1].1);
        assert!(store.chunk_texts_of_document("zzz").unwrap().is_empty());
        let all = store.paragraphs_containing(&[]).unwrap();
        assert_eq!(all.len(), 3);
        let one = store.paragraphs_containing(&[vec!["段落 a 1".into()], vec!["文字".into()]]).unwrap();
        assert_eq!(one.len(), 1);
        assert!(store.paragraphs_containing(&[vec!["段落 a 1".into()], vec!["不在".into()]]).unwrap().is_empty());
        let either = store.paragraphs_containing(&[vec!["不在".into(), "段落 a 1".into()]]).unwrap();
        assert_eq!(either, one, "one alternative of a group is enough");
    }
}
