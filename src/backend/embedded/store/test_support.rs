//! Synthetic documents for tests.

use super::Store;
use crate::corpus::{DuplicateOccurrence, PreparedChunk, PreparedDocument, PreparedParagraph};

/// Model id used by tests.
pub const MODEL: &str = "test-model";

/// A document with `paragraphs` paragraphs of `chunks` chunks each and one duplicate.
pub fn make_doc(id: &str, year: Option<i32>, paragraphs: u32, chunks: u32) -> PreparedDocument {
    PreparedDocument {
        id: id.to_string(),
        key: None,
        origin: format!("test://{id}"),
        title: Some(format!("標題 {id}")),
        source: Some("經濟網".into()),
        date: year.map(|y| format!("{y}-03-04")),
        year,
        tags: vec!["t1".into(), format!("tag-{id}")],
        paragraphs: (0..paragraphs)
            .map(|p| PreparedParagraph {
                position: p,
                heading: (p % 2 == 0).then(|| format!("heading {p}")),
                text: format!("段落 {id} {p} 文字。"),
                simplified: format!("段落 {id} {p} 文字。"),
                chunks: (0..chunks).map(|c| PreparedChunk { start: c * 3, end: c * 3 + 3, text: format!("{id}:{p}:{c}") }).collect(),
            })
            .collect(),
        duplicates: vec![DuplicateOccurrence { of_position: 0, block_index: paragraphs, text: "dup".into() }],
    }
}

/// One deterministic vector of length `dim` per chunk of `doc`.
pub fn make_vectors(doc: &PreparedDocument, dim: usize, seed: f32) -> Vec<Vec<f32>> {
    let n: usize = doc.paragraphs.iter().map(|p| p.chunks.len()).sum();
    (0..n).map(|i| (0..dim).map(|j| seed + i as f32 * 0.5 - j as f32 * 0.25).collect()).collect()
}

/// A fresh store in a temporary directory (keep the guard alive).
pub fn open() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    (tmp, store)
}

/// Row counts of every table plus the corpus version.
pub fn snapshot(store: &Store) -> Vec<i64> {
    ["documents", "paragraphs", "chunks", "duplicates", "models"]
        .iter()
        .map(|t| store.conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).unwrap())
        .chain([store.corpus_version().unwrap() as i64])
        .collect()
}
