//! Unit tests for `ChunkIndex` (search, tombstones, filters, persistence).

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `n` random unit vectors (Gaussian via Box-Muller, so uniform on the sphere).
fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dim)
                .map(|_| {
                    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                    let u2: f64 = rng.random();
                    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

/// Clustered unit vectors (random centres + Gaussian noise): like real
/// embeddings, and unlike uniform random 384-d data, they have low intrinsic
/// dimension, which is what HNSW relies on.
fn clustered_vectors(n: usize, dim: usize, clusters: usize, centre_seed: u64, noise_seed: u64) -> Vec<Vec<f32>> {
    let centres = unit_vectors(clusters, dim, centre_seed);
    let noise = unit_vectors(n, dim, noise_seed);
    (0..n)
        .map(|i| {
            let c = &centres[i % clusters];
            let v: Vec<f32> = c.iter().zip(&noise[i]).map(|(a, b)| a + 0.7 * b).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

/// Small-data params: cheaper construction so debug-build tests stay fast.
fn test_params() -> IndexParams {
    IndexParams { m: 16, ef_construction: 100, ef_search: 64 }
}

/// Index with ids `1000 + 7 * i` (sparse, non-dense caller ids).
fn build(n: usize, dim: usize, seed: u64) -> (ChunkIndex, Vec<Vec<f32>>) {
    let vecs = unit_vectors(n, dim, seed);
    let mut idx = ChunkIndex::new(dim, test_params(), n);
    let items: Vec<(u64, &[f32])> = vecs.iter().enumerate().map(|(i, v)| (id_of(i), v.as_slice())).collect();
    idx.insert(&items).unwrap();
    (idx, vecs)
}

fn id_of(i: usize) -> u64 {
    1000 + 7 * i as u64
}

fn recall(idx: &ChunkIndex, queries: &[Vec<f32>], k: usize, filter: Option<&(dyn Fn(u64) -> bool + Sync)>) -> f64 {
    let mut found = 0usize;
    let mut total = 0usize;
    for q in queries {
        let approx = idx.search(q, k, filter).unwrap();
        let exact = idx.exact_search(q, k, filter).unwrap();
        let truth: HashSet<u64> = exact.iter().map(|h| h.id).collect();
        found += approx.iter().filter(|h| truth.contains(&h.id)).count();
        total += exact.len();
    }
    found as f64 / total.max(1) as f64
}

fn assert_sorted(hits: &[Hit]) {
    for w in hits.windows(2) {
        assert!(w[0].score > w[1].score || (w[0].score == w[1].score && w[0].id < w[1].id), "{hits:?}");
    }
}

#[test]
fn recall_vs_exact_small_dim32_parallel_build() {
    let (idx, _) = build(2_000, 32, 1);
    let queries = unit_vectors(100, 32, 2);
    let r = recall(&idx, &queries, 10, None);
    assert!(r >= 0.99, "recall {r}");
}

#[test]
fn recall_vs_exact_small_dim384_serial_batches() {
    let vecs = clustered_vectors(1_000, 384, 20, 3, 30);
    let mut idx = ChunkIndex::new(384, test_params(), 0);
    // Batches below the parallel threshold exercise the serial insert path.
    for (c, chunk) in vecs.chunks(250).enumerate() {
        let items: Vec<(u64, &[f32])> = chunk.iter().enumerate().map(|(i, v)| (id_of(c * 250 + i), v.as_slice())).collect();
        idx.insert(&items).unwrap();
    }
    assert_eq!(idx.len(), 1_000);
    let queries = clustered_vectors(50, 384, 20, 3, 31);
    let r = recall(&idx, &queries, 10, None);
    assert!(r >= 0.99, "recall {r}");
    // A stored vector finds itself first with score ~1.
    let hits = idx.search(&vecs[123], 10, None).unwrap();
    assert_eq!(hits[0].id, id_of(123));
    assert!((hits[0].score - 1.0).abs() < 1e-5);
    assert_sorted(&hits);
}

#[test]
fn tombstoned_ids_never_returned() {
    let (mut idx, vecs) = build(2_000, 32, 5);
    let dead: Vec<u64> = (0..2_000).step_by(3).map(id_of).collect();
    assert_eq!(idx.tombstone(&dead), dead.len());
    assert_eq!(idx.tombstone(&dead[..10]), 0, "already dead");
    assert_eq!(idx.tombstone(&[42]), 0, "unknown id");
    assert_eq!(idx.tombstones(), dead.len());
    assert_eq!(idx.len(), 2_000 - dead.len());
    let dead_set: HashSet<u64> = dead.iter().copied().collect();
    for i in (0..2_000).step_by(3).take(100) {
        // Query with the dead vector itself: its graph neighbourhood is the worst case.
        for hits in [idx.search(&vecs[i], 10, None).unwrap(), idx.exact_search(&vecs[i], 10, None).unwrap()] {
            assert_eq!(hits.len(), 10);
            assert!(hits.iter().all(|h| !dead_set.contains(&h.id)));
        }
    }
    let queries = unit_vectors(50, 32, 6);
    assert!(recall(&idx, &queries, 10, None) >= 0.99);
    // Re-inserting a tombstoned id is allowed and makes it live again.
    idx.insert(&[(id_of(0), vecs[0].as_slice())]).unwrap();
    assert_eq!(idx.search(&vecs[0], 1, None).unwrap()[0].id, id_of(0));
}

#[test]
fn filter_respected_and_rechecked() {
    let (idx, _) = build(2_000, 32, 7);
    let even = |id: u64| id.is_multiple_of(2);
    let queries = unit_vectors(50, 32, 8);
    for q in &queries {
        let hits = idx.search(q, 10, Some(&even)).unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| even(h.id)));
        assert_sorted(&hits);
    }
    assert!(recall(&idx, &queries, 10, Some(&even)) >= 0.95);
    // Simulate hnsw_rs returning points the filter rejects (issue #27): the
    // graph walk accepts everything, the re-check must still drop odd ids.
    let q = idx.normalize_query(&queries[0]).unwrap();
    let hits = idx.search_normalized(&q, 10, Some(&even), Some(&|_| true));
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| even(h.id)));
}

#[test]
fn selective_filter_falls_back_to_exact() {
    let (idx, _) = build(2_000, 32, 9);
    let allowed: HashSet<u64> = [id_of(3), id_of(500), id_of(1999), 77].into_iter().collect();
    let f = |id: u64| allowed.contains(&id);
    let q = unit_vectors(1, 32, 10).remove(0);
    let hits = idx.search(&q, 10, Some(&f)).unwrap();
    assert_eq!(hits, idx.exact_search(&q, 10, Some(&f)).unwrap());
    assert_eq!(hits.len(), 3);
}

#[test]
fn bad_input_is_an_error() {
    let (mut idx, vecs) = build(100, 32, 11);
    let short = vec![0.5f32; 31];
    assert!(matches!(idx.insert(&[(1, short.as_slice())]), Err(IndexError::DimensionMismatch { expected: 32, got: 31 })));
    assert!(matches!(idx.search(&short, 5, None), Err(IndexError::DimensionMismatch { .. })));
    assert!(matches!(idx.exact_search(&short, 5, None), Err(IndexError::DimensionMismatch { .. })));
    let mut nan = vecs[0].clone();
    nan[3] = f32::NAN;
    assert!(matches!(idx.insert(&[(1, nan.as_slice())]), Err(IndexError::InvalidVector { id: Some(1), .. })));
    assert!(matches!(idx.search(&nan, 5, None), Err(IndexError::InvalidVector { id: None, .. })));
    assert!(idx.search(&[0.0; 32], 5, None).is_err());
    assert!(idx.search(&vecs[0], 0, None).unwrap().is_empty());
    let empty = ChunkIndex::new(32, IndexParams::default(), 0);
    assert!(empty.search(&vecs[0], 5, None).unwrap().is_empty());
    assert!(empty.is_empty());
}

#[test]
fn duplicate_id_is_an_error_and_batch_is_atomic() {
    let (mut idx, vecs) = build(100, 32, 12);
    let before = idx.len();
    let fresh = unit_vectors(2, 32, 13);
    // Live duplicate.
    let r = idx.insert(&[(5, fresh[0].as_slice()), (id_of(4), fresh[1].as_slice())]);
    assert!(matches!(r, Err(IndexError::DuplicateId(id)) if id == id_of(4)));
    // Duplicate inside one batch.
    let r = idx.insert(&[(5, fresh[0].as_slice()), (5, fresh[1].as_slice())]);
    assert!(matches!(r, Err(IndexError::DuplicateId(5))));
    assert_eq!(idx.len(), before);
    assert!(!idx.contains(5));
    // Un-normalised input is normalised defensively.
    let scaled: Vec<f32> = vecs[0].iter().map(|x| x * 10.0).collect();
    idx.insert(&[(5, scaled.as_slice())]).unwrap();
    let hits = idx.exact_search(&vecs[0], 2, None).unwrap();
    assert!((hits[0].score - 1.0).abs() < 1e-5 && (hits[1].score - 1.0).abs() < 1e-5);
    assert_eq!((hits[0].id, hits[1].id), (5, id_of(0)), "ties broken by id asc");
}

#[test]
fn stable_ordering_on_ties() {
    let mut idx = ChunkIndex::new(4, test_params(), 0);
    let a = [1.0f32, 0.0, 0.0, 0.0];
    let b = [0.0f32, 1.0, 0.0, 0.0];
    let items: Vec<(u64, &[f32])> = vec![(9, &a), (3, &b), (5, &a), (1, &a), (7, &b), (2, &a)];
    idx.insert(&items).unwrap();
    for _ in 0..3 {
        let s: Vec<u64> = idx.search(&a, 6, None).unwrap().iter().map(|h| h.id).collect();
        let e: Vec<u64> = idx.exact_search(&a, 6, None).unwrap().iter().map(|h| h.id).collect();
        assert_eq!(e, vec![1, 2, 5, 9, 3, 7]);
        assert_eq!(s, e);
        let top2: Vec<u64> = idx.search(&a, 2, None).unwrap().iter().map(|h| h.id).collect();
        assert_eq!(top2, vec![1, 2]);
    }
}

#[test]
fn compaction_keeps_results() {
    let (mut idx, _) = build(2_000, 32, 14);
    assert!(!idx.needs_compaction());
    let dead: Vec<u64> = (0..2_000).filter(|i| i % 4 == 1).map(id_of).collect();
    idx.tombstone(&dead);
    assert!(idx.needs_compaction(), "25% tombstones");
    let c = idx.compacted();
    assert_eq!((c.len(), c.tombstones(), c.dim(), *c.params()), (idx.len(), 0, 32, *idx.params()));
    assert!(!c.needs_compaction());
    let queries = unit_vectors(50, 32, 15);
    for q in &queries {
        assert_eq!(c.exact_search(q, 10, None).unwrap(), idx.exact_search(q, 10, None).unwrap());
    }
    assert!(recall(&c, &queries, 10, None) >= 0.99);
}

#[test]
fn save_load_round_trip_identical_results() {
    let (mut idx, _) = build(2_000, 32, 16);
    idx.tombstone(&[id_of(1), id_of(2), id_of(3)]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idx");
    idx.save(&path, "model-a/v1").unwrap();
    let loaded = ChunkIndex::load(&path, "model-a/v1").unwrap().expect("fresh dump");
    assert!(loaded.graph_was_reloaded());
    assert_eq!((loaded.len(), loaded.tombstones(), loaded.dim(), *loaded.params()), (idx.len(), 3, 32, *idx.params()));
    let queries = unit_vectors(50, 32, 17);
    let even = |id: u64| id.is_multiple_of(2);
    for q in &queries {
        assert_eq!(loaded.search(q, 10, None).unwrap(), idx.search(q, 10, None).unwrap());
        assert_eq!(loaded.search(q, 10, Some(&even)).unwrap(), idx.search(q, 10, Some(&even)).unwrap());
        assert_eq!(loaded.exact_search(q, 10, None).unwrap(), idx.exact_search(q, 10, None).unwrap());
    }
    // A reloaded index can take more inserts and be saved over the old dump.
    let mut loaded = loaded;
    let extra = unit_vectors(10, 32, 18);
    let items: Vec<(u64, &[f32])> = extra.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
    loaded.insert(&items).unwrap();
    loaded.save(&path, "model-a/v1").unwrap();
    let gens = std::fs::read_dir(&path).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("gen-")).count();
    assert_eq!(gens, 1, "old generation removed");
    let again = ChunkIndex::load(&path, "model-a/v1").unwrap().unwrap();
    assert_eq!(again.len(), idx.len() + 10);
    assert_eq!(again.search(&extra[4], 1, None).unwrap()[0].id, 4);
}

#[test]
fn stale_or_missing_dump_is_none() {
    let (idx, _) = build(200, 32, 19);
    let dir = tempfile::tempdir().unwrap();
    assert!(ChunkIndex::load(&dir.path().join("does-not-exist"), "fp").unwrap().is_none());
    assert!(ChunkIndex::load(dir.path(), "fp").unwrap().is_none(), "dir without CURRENT");
    idx.save(dir.path(), "fp-1").unwrap();
    assert!(ChunkIndex::load(dir.path(), "fp-2").unwrap().is_none());
    let other = IndexParams { m: 32, ..test_params() };
    assert!(ChunkIndex::load_matching(dir.path(), "fp-1", &other).unwrap().is_none());
    let faster = IndexParams { ef_search: 128, ..test_params() };
    let l = ChunkIndex::load_matching(dir.path(), "fp-1", &faster).unwrap().unwrap();
    assert_eq!(l.params().ef_search, 128);
}

#[test]
fn damaged_graph_dump_is_rebuilt_and_damaged_vectors_are_errors() {
    let (idx, vecs) = build(300, 32, 20);
    let dir = tempfile::tempdir().unwrap();
    idx.save(dir.path(), "fp").unwrap();
    let gen = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let gdir = dir.path().join(gen.trim());
    std::fs::write(gdir.join("graph.hnsw.graph"), b"garbage").unwrap();
    let l = ChunkIndex::load(dir.path(), "fp").unwrap().unwrap();
    assert!(!l.graph_was_reloaded());
    assert_eq!(l.search(&vecs[7], 1, None).unwrap()[0].id, id_of(7));
    std::fs::write(gdir.join("vectors.f32"), b"short").unwrap();
    assert!(matches!(ChunkIndex::load(dir.path(), "fp"), Err(IndexError::Corrupt { .. })));
}

#[test]
fn empty_index_round_trip() {
    let idx = ChunkIndex::new(8, IndexParams::default(), 0);
    let dir = tempfile::tempdir().unwrap();
    idx.save(dir.path(), "fp").unwrap();
    let mut l = ChunkIndex::load(dir.path(), "fp").unwrap().unwrap();
    assert!(l.is_empty());
    l.insert(&[(1, &[1.0; 8])]).unwrap();
    assert_eq!(l.search(&[1.0; 8], 3, None).unwrap(), vec![Hit { id: 1, score: l.exact_search(&[1.0; 8], 1, None).unwrap()[0].score }]);
}

#[test]
fn chunk_index_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<ChunkIndex>();
}

#[test]
fn staged_points_link_while_searches_run() {
    let vecs = clustered_vectors(1_200, 64, 12, 40, 41);
    let queries = clustered_vectors(40, 64, 12, 40, 42);
    let mut idx = ChunkIndex::new(64, test_params(), 0);
    let first: Vec<(u64, &[f32])> = vecs[..600].iter().enumerate().map(|(i, v)| (id_of(i), v.as_slice())).collect();
    idx.insert(&first).unwrap();
    let rest: Vec<(u64, &[f32])> = vecs[600..].iter().enumerate().map(|(i, v)| (id_of(600 + i), v.as_slice())).collect();

    // A bad batch stages nothing.
    let mut bad = rest[..3].to_vec();
    bad.push((id_of(5), vecs[5].as_slice()));
    assert!(matches!(idx.stage(&bad), Err(IndexError::DuplicateId(_))));
    assert_eq!(idx.store.slots(), 600);

    let staged = idx.stage(&rest).unwrap();
    assert_eq!(staged.slots(), 600..1_200);
    // Staged but unlinked: exact search sees the points, the graph walk does not (yet).
    assert_eq!(idx.exact_search(&vecs[900], 1, None).unwrap()[0].id, id_of(900));
    assert_ne!(idx.search(&vecs[900], 1, None).unwrap()[0].id, id_of(900));

    // One writer links slot by slot under read locks while three threads search.
    let lock = std::sync::RwLock::new(idx);
    let linked = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3 {
            let (lock, linked, queries) = (&lock, &linked, &queries);
            s.spawn(move || {
                let mut rounds = 0;
                while !linked.load(std::sync::atomic::Ordering::Acquire) || rounds < 5 {
                    let idx = lock.read().unwrap();
                    let hits = idx.search(&queries[(t + rounds) % queries.len()], 10, None).unwrap();
                    assert_eq!(hits.len(), 10);
                    assert_sorted(&hits);
                    rounds += 1;
                }
            });
        }
        for slot in staged.slots() {
            lock.read().unwrap().link(slot..slot + 1);
        }
        linked.store(true, std::sync::atomic::Ordering::Release);
    });
    let idx = lock.into_inner().unwrap();
    assert_eq!(idx.len(), 1_200);
    let r = recall(&idx, &queries, 10, None);
    assert!(r >= 0.95, "recall after linking beside searches {r}");
    assert_eq!(idx.search(&vecs[900], 1, None).unwrap()[0].id, id_of(900), "a linked point finds itself");
}
