//! The sign-code shortlist on a store large enough to use it: close to exact search on ranks,
//! filters and tombstones respected, the same answers after a reload (codes re-encoded).

use super::store::{Shortlist, Store, SHORTLIST_FROM_LIVE};
use super::Hit;

const DIM: usize = 32;

/// Unit vectors in 400 clusters around a shared direction (like sentence embeddings).
fn store(n: usize) -> Store {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..400).map(|_| (0..DIM).map(|_| next()).collect()).collect();
    let mut s = Store::new(DIM, n);
    for id in 0..n {
        let c = &centres[id % centres.len()];
        let mut v: Vec<f32> = c.iter().map(|x| 1.0 + x + 0.15 * next()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        s.push(id as u64, &v);
    }
    s
}

fn overlap(a: &[Hit], b: &[Hit]) -> usize {
    a.iter().filter(|h| b.iter().any(|x| x.id == h.id)).count()
}

#[test]
fn shortlist_is_close_to_exact_and_keeps_filters_tombstones_and_reloads() {
    let n = SHORTLIST_FROM_LIVE + 10_000;
    let mut s = store(n);
    let queries: Vec<Vec<f32>> = (0..40).map(|i| s.vector(i * 997).to_vec()).collect();
    let size = Shortlist::default();
    let (mut found, mut total) = (0, 0);
    for q in &queries {
        let exact = s.exact(q, 10, None);
        let short = s.shortlist_search(q, 10, None, size);
        assert_eq!(short.len(), 10);
        assert!(short.windows(2).all(|w| w[0].score >= w[1].score), "best first");
        // Every returned score is the exact cosine of that vector.
        for h in &short {
            let slot = s.slot_of[&h.id] as usize;
            assert!((h.score - super::store::dot(q, s.vector(slot))).abs() < 1e-6);
        }
        found += overlap(&short, &exact);
        total += exact.len();
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");

    // A filter keeps only accepted ids; a tombstoned id never comes back.
    let odd = |id: u64| id % 2 == 1;
    for q in &queries[..10] {
        let short = s.shortlist_search(q, 10, Some(&odd), size);
        assert!(short.len() == 10 && short.iter().all(|h| h.id % 2 == 1));
        let exact = s.exact(q, 10, Some(&odd));
        assert!(overlap(&short, &exact) >= 8, "filtered shortlist far from exact");
    }
    let q = queries[3].clone();
    let best = s.shortlist_search(&q, 1, None, size)[0].id;
    assert!(s.kill(best));
    assert!(s.shortlist_search(&q, 10, None, size).iter().all(|h| h.id != best));

    // A reload rebuilds the map and re-encodes: the same answers.
    let before: Vec<Vec<Hit>> = queries.iter().map(|q| s.shortlist_search(q, 10, None, size)).collect();
    s.rebuild_map().unwrap();
    let after: Vec<Vec<Hit>> = queries.iter().map(|q| s.shortlist_search(q, 10, None, size)).collect();
    let ids = |r: &Vec<Vec<Hit>>| r.iter().map(|h| h.iter().map(|x| x.id).collect::<Vec<_>>()).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));

    // Below the threshold it is the exact search.
    let small = store(5_000);
    let q = small.vector(42).to_vec();
    let ids = |h: Vec<Hit>| h.into_iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(ids(small.shortlist_search(&q, 10, None, size)), ids(small.exact(&q, 10, None)));
}

#[test]
fn an_index_without_graph_stores_searches_saves_and_gains_a_graph_on_demand() {
    use super::{ChunkIndex, IndexParams};
    let s = store(3_000);
    let items: Vec<(u64, Vec<f32>)> = (0..3_000).map(|i| (i as u64, s.vector(i).to_vec())).collect();
    let refs: Vec<(u64, &[f32])> = items.iter().map(|(id, v)| (*id, v.as_slice())).collect();
    let mut index = ChunkIndex::without_graph(DIM, IndexParams::default(), 3_000);
    index.insert(&refs).unwrap();
    assert!(!index.has_graph() && index.len() == 3_000);
    let q = s.vector(17).to_vec();
    let ids = |h: Vec<Hit>| h.into_iter().map(|x| x.id).collect::<Vec<_>>();
    let exact = ids(index.exact_search(&q, 10, None).unwrap());
    assert_eq!(ids(index.search(&q, 10, None).unwrap()), exact, "without a graph, search is the shortlist (exact here)");
    assert!(!index.compacted().has_graph());

    let dir = tempfile::tempdir().unwrap();
    index.save(dir.path(), "fp").unwrap();
    let again = ChunkIndex::load_with_graph(dir.path(), "fp", false).unwrap().unwrap();
    assert!(!again.has_graph() && again.len() == 3_000);
    assert_eq!(ids(again.search(&q, 10, None).unwrap()), exact);
    // Switching to the graph later builds it from the dumped vectors.
    let graphed = ChunkIndex::load_with_graph(dir.path(), "fp", true).unwrap().unwrap();
    assert!(graphed.has_graph() && !graphed.graph_was_reloaded());
    assert_eq!(ids(graphed.search(&q, 10, None).unwrap())[0], exact[0]);
}
