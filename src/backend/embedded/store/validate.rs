//! Argument checks for inserts, done before any database access.

use std::collections::HashSet;

use super::StoreError;
use crate::corpus::PreparedDocument;

/// Largest accepted vector dimension (guards against absurd blobs).
const MAX_DIM: usize = 65_536;

/// Checks the arguments without touching the database; returns the vector
/// dimension (`None` when the document has no chunks).
pub(super) fn validate(doc: &PreparedDocument, chunk_vectors: &[Vec<f32>], model_id: &str) -> Result<Option<usize>, StoreError> {
    let bad = |m: String| Err(StoreError::InvalidArgument(m));
    if doc.id.trim().is_empty() {
        return bad("document id is empty".into());
    }
    if model_id.trim().is_empty() {
        return bad("model id is empty".into());
    }
    let total: usize = doc.paragraphs.iter().map(|p| p.chunks.len()).sum();
    if total != chunk_vectors.len() {
        return bad(format!("document {} has {total} chunks but {} vectors were given", doc.id, chunk_vectors.len()));
    }
    if doc.paragraphs.len() > u32::MAX as usize || doc.duplicates.len() > u32::MAX as usize {
        return bad("too many paragraphs or duplicates".into());
    }
    let mut positions = HashSet::with_capacity(doc.paragraphs.len());
    for p in &doc.paragraphs {
        if !positions.insert(p.position) {
            return bad(format!("paragraph position {} appears twice", p.position));
        }
        if let Some(c) = p.chunks.iter().find(|c| c.start > c.end) {
            return bad(format!("paragraph {}: chunk span {}..{} is reversed", p.position, c.start, c.end));
        }
    }
    let dim = chunk_vectors.first().map(Vec::len);
    if let Some(d) = dim {
        if d == 0 || d > MAX_DIM {
            return bad(format!("vector dimension {d} is out of range 1..={MAX_DIM}"));
        }
    }
    for (i, v) in chunk_vectors.iter().enumerate() {
        if Some(v.len()) != dim {
            return bad(format!("vector {i} has length {}, expected {}", v.len(), dim.unwrap_or(0)));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return bad(format!("vector {i} contains a non-finite value"));
        }
    }
    Ok(dim)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::StoreInsert;
    use super::*;

    #[test]
    fn bad_inserts_are_rejected_and_write_nothing() {
        let (_tmp, mut store) = open();
        let base = make_doc("base", Some(2000), 1, 2);
        store.insert_document(&base, &make_vectors(&base, 4, 0.0), MODEL).unwrap();
        let before = snapshot(&store);
        let doc = make_doc("new", Some(2001), 2, 2);
        let good = make_vectors(&doc, 4, 1.0);
        let invalid = |r: Result<StoreInsert, StoreError>| assert!(matches!(r, Err(StoreError::InvalidArgument(_))), "{r:?}");
        invalid(store.insert_document(&doc, &good[..3], MODEL)); // too few
        let mut more = good.clone();
        more.push(vec![0.0; 4]);
        invalid(store.insert_document(&doc, &more, MODEL)); // too many
        invalid(store.insert_document(&doc, &make_vectors(&doc, 5, 1.0), MODEL)); // model dim 4
        let mut ragged = good.clone();
        ragged[2].push(1.0);
        invalid(store.insert_document(&doc, &ragged, MODEL));
        let mut nan = good.clone();
        nan[1][0] = f32::NAN;
        invalid(store.insert_document(&doc, &nan, MODEL));
        let mut inf = good.clone();
        inf[3][3] = f32::INFINITY;
        invalid(store.insert_document(&doc, &inf, MODEL));
        invalid(store.insert_document(&doc, &make_vectors(&doc, 0, 1.0), "fresh-model"));
        invalid(store.insert_document(&doc, &good, ""));
        let mut no_id = doc.clone();
        no_id.id = " ".into();
        invalid(store.insert_document(&no_id, &good, MODEL));
        let mut twice = doc.clone();
        twice.paragraphs[1].position = 0;
        invalid(store.insert_document(&twice, &good, MODEL));
        let mut reversed = doc.clone();
        reversed.paragraphs[0].chunks[0].start = 10;
        invalid(store.insert_document(&reversed, &good, MODEL));
        assert_eq!(snapshot(&store), before);
        assert!(!store.contains_document("new").unwrap());
        // The same document with a new model id of another dim is fine.
        store.insert_document(&doc, &make_vectors(&doc, 5, 1.0), "m5").unwrap();
        assert_eq!(store.all_chunk_vectors("m5").unwrap().len(), 4);
        assert_eq!(store.all_chunk_vectors(MODEL).unwrap().len(), 2);
    }
}
