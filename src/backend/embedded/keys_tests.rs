//! Replacing a keyed document while a search is between its ranking and its record reads: the
//! replacement waits for the search (the search gate), so the search still reads the version
//! it ranked. A pause after the ranking (test builds only) opens the window wide.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{EmbeddedBackend, EmbeddedSettings};
use crate::backend::{DenseQuery, InsertOutcome, ParagraphFilter};
use crate::corpus::{PreparedChunk, PreparedDocument, PreparedParagraph};

/// Milliseconds every search sleeps between its ranking and its record reads (0: none).
static PAUSE_MS: AtomicU64 = AtomicU64::new(0);

/// Called by the search between ranking and reading records.
pub(super) fn pause_after_ranking() {
    let ms = PAUSE_MS.load(Ordering::Relaxed);
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

const DIM: usize = 4;

fn version(n: u32) -> (PreparedDocument, Vec<Vec<f32>>) {
    let paragraphs = (0..2)
        .map(|p| {
            let text = format!("v{n} p{p}");
            PreparedParagraph {
                position: p,
                heading: None,
                simplified: text.clone(),
                chunks: vec![PreparedChunk { start: 0, end: 5, text: text.clone() }],
                text,
            }
        })
        .collect();
    let doc = PreparedDocument {
        id: format!("{n:016x}"),
        key: Some("k".into()),
        origin: "o".into(),
        title: None,
        source: None,
        date: None,
        year: None,
        tags: vec![],
        paragraphs,
        duplicates: vec![],
    };
    (doc, vec![vec![0.5; DIM], vec![0.5, 0.5, 0.5, -0.5]])
}

#[test]
fn a_replacement_waits_for_searches_that_ranked_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    let settings = EmbeddedSettings {
        data_dir: dir.path().to_path_buf(),
        model: "m".into(),
        dim: DIM,
        index: Default::default(),
        exact_search_below: 1_000,
        large_search: Default::default(),
    };
    let backend = EmbeddedBackend::open(settings).unwrap();
    let inner = Arc::clone(&backend.inner);
    let (d1, v1) = version(1);
    inner.put_document(&d1, &v1).unwrap();
    PAUSE_MS.store(300, Ordering::Relaxed);
    let searcher = {
        let inner = Arc::clone(&inner);
        std::thread::spawn(move || {
            let _gate = inner.search_gate();
            let q = DenseQuery {
                vector: vec![0.5; DIM],
                k: 5,
                filter: ParagraphFilter::default(),
                exclude: Default::default(),
                min_score: -1.0,
                exact: true,
                must_contain: Default::default(),
            };
            inner.nearest(&q).unwrap().hits
        })
    };
    std::thread::sleep(Duration::from_millis(100)); // the search is in its pause now
    let started = Instant::now();
    let (d2, v2) = version(2);
    assert!(matches!(inner.put_document(&d2, &v2).unwrap(), InsertOutcome::Inserted { replaced: Some(_), .. }));
    PAUSE_MS.store(0, Ordering::Relaxed);
    let hits = searcher.join().unwrap();
    let docs: Vec<&str> = hits.iter().map(|h| h.paragraph.document_id.as_str()).collect();
    assert_eq!(docs, [d1.id.as_str(), d1.id.as_str()], "the search reads the whole version it ranked");
    assert!(started.elapsed() >= Duration::from_millis(100), "the replacement waited for the search");
}
