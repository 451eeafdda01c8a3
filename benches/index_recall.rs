//! Recall/speed benchmark for `simtheme::backend::embedded::index::ChunkIndex` (harness = false).
//!
//! For each data set and each graph configuration (`M`, `ef_construction`) it
//! builds an index over `SIMTHEME_BENCH_N` (default 100,000) unit vectors of
//! dimension 384 (fixed seed), then prints one table row per `ef_search`
//! value: build time and vectors/s, HNSW recall@10 against exact search, HNSW
//! queries/s and exact-search queries/s, side by side. 500 queries: half random
//! unit vectors, half perturbed copies of stored vectors. Per-query latency is
//! the median; "q/s all" uses every available thread.
//!
//! Env (all optional):
//! * `SIMTHEME_BENCH_N` — number of vectors (default 100,000).
//! * `SIMTHEME_BENCH_DATA` — `random` (default; worst case for HNSW),
//!   `clustered` (Gaussian clusters, closer to real embeddings), `both`, or `seeds`
//!   (the seed corpus's real chunk vectors; N is then the chunk count, queries are the
//!   retrieval fixture's questions plus every chunk perturbed).
//! * `SIMTHEME_BENCH_CONFIGS` — comma-separated `M:ef_construction` pairs
//!   (default `16:200,<defaults>`); `default` means `IndexParams::default()`.
//! * `SIMTHEME_BENCH_EF` — comma-separated `ef_search` values (default
//!   `64,128,256,512,1024,1536`); `0` means "the index default" (adaptive).
//! * `SIMTHEME_BENCH_DIR` (where to save; default a temp dir),
//!   `SIMTHEME_BENCH_SKIP_REBUILD=1` (skip the `compacted()` rebuild),
//!   `SIMTHEME_BENCH_SKIP_EXTRAS=1` (skip filter/persistence/tombstone checks,
//!   which run on the first configuration only).
//!
//! Run: `cargo bench --bench index_recall` (release profile). Building is the
//! slow part: at N=100,000 one `M=32` build took 15-20 min on a 2-core box
//! shared with another build (~100 vectors/s), so use e.g.
//! `SIMTHEME_BENCH_N=20000` or a single `SIMTHEME_BENCH_CONFIGS` for quick runs.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{gaussian, normalize};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simtheme::backend::embedded::index::{ChunkIndex, Hit, IndexParams};

const DIM: usize = 384;
const QUERIES: usize = 500;
const K: usize = 10;

fn unit(rng: &mut StdRng) -> Vec<f32> {
    normalize((0..DIM).map(|_| gaussian(rng)).collect())
}

/// Clustered data resembling real embeddings: `clusters` random centres plus
/// Gaussian noise (per-component sigma 0.05, i.e. ~0.8 cosine to the centre).
fn clustered(rng: &mut StdRng, n: usize, clusters: usize) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| unit(rng)).collect();
    (0..n)
        .map(|_| {
            let c = &centres[rng.random_range(0..clusters)];
            normalize(c.iter().map(|&x| x + 0.05 * gaussian(rng)).collect())
        })
        .collect()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn recall(approx: &[Vec<Hit>], exact: &[Vec<Hit>]) -> f64 {
    let mut found = 0;
    let mut total = 0;
    for (a, e) in approx.iter().zip(exact) {
        let truth: HashSet<u64> = e.iter().map(|h| h.id).collect();
        found += a.iter().filter(|h| truth.contains(&h.id)).count();
        total += e.len();
    }
    found as f64 / total.max(1) as f64
}

/// Runs every query once on this thread; returns results and median latency.
fn run_serial(queries: &[Vec<f32>], f: impl Fn(&[f32]) -> Vec<Hit>) -> (Vec<Vec<Hit>>, Duration) {
    let mut lat = Vec::with_capacity(queries.len());
    let res = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            let r = f(q);
            lat.push(t.elapsed());
            r
        })
        .collect();
    (res, median(lat))
}

/// Queries/s with all available threads (std scoped threads, static split).
fn run_threads(queries: &[Vec<f32>], f: &(dyn Fn(&[f32]) -> Vec<Hit> + Sync)) -> f64 {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let t = Instant::now();
    std::thread::scope(|s| {
        for part in queries.chunks(queries.len().div_ceil(threads)) {
            s.spawn(move || part.iter().map(|q| f(q).len()).sum::<usize>());
        }
    });
    queries.len() as f64 / t.elapsed().as_secs_f64()
}

/// Parses `SIMTHEME_BENCH_CONFIGS` into graph parameter sets.
fn configs() -> Vec<IndexParams> {
    let d = IndexParams::default();
    let spec = std::env::var("SIMTHEME_BENCH_CONFIGS").unwrap_or_else(|_| "16:200,default".to_string());
    let mut out: Vec<IndexParams> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p = if part == "default" {
            Some(d)
        } else {
            let mut it = part.split(':').map(|x| x.trim().parse::<usize>().ok());
            match (it.next().flatten(), it.next().flatten()) {
                (Some(m), Some(efc)) => Some(IndexParams { m, ef_construction: efc, ..d }),
                _ => None,
            }
        };
        match p {
            Some(p) if !out.contains(&p) => out.push(p),
            Some(_) => {}
            None => eprintln!("ignoring bad config {part:?} (want M:ef_construction or default)"),
        }
    }
    out
}

/// The seed corpus as the service stores it: every chunk of the five seed documents
/// embedded as a passage; queries are the 28 retrieval queries (as queries) plus every
/// chunk's own vector plus noise, so recall covers both cross-lingual questions and
/// "more like this paragraph".
fn seed_data() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    use simtheme::corpus::{prepare_document, DocumentMeta, SegmentConfig};
    use simtheme::embed::{Embedder, EmbedderConfig, Mode};
    let e = Embedder::load(&EmbedderConfig::default()).expect("model");
    let mut chunks = Vec::new();
    for (name, text) in simtheme::engine::SEED_DOCUMENTS {
        let doc = prepare_document(text, name, &DocumentMeta::default(), &SegmentConfig::default()).expect("seed");
        chunks.extend(doc.paragraphs.iter().flat_map(|p| p.chunks.iter().map(|c| c.text.clone())));
    }
    let data: Vec<Vec<f32>> = e.embed(&chunks, Mode::Passage).expect("embed").into_iter().map(|x| x.vector).collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/retrieval_queries.json");
    let fixture: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let texts: Vec<String> = fixture.iter().filter_map(|q| q["query"].as_str().map(str::to_string)).collect();
    let mut queries: Vec<Vec<f32>> = e.embed(&texts, Mode::Query).expect("embed").into_iter().map(|x| x.vector).collect();
    let mut rng = StdRng::seed_from_u64(0x5EED_2026);
    queries.extend(data.iter().map(|v| normalize(v.iter().map(|&x| x + 0.02 * gaussian(&mut rng)).collect())));
    (data, queries)
}

fn make_data(mode: &str, n: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    if mode == "seeds" {
        return seed_data();
    }
    let mut rng = StdRng::seed_from_u64(0x5EED_2026);
    let data: Vec<Vec<f32>> =
        if mode == "clustered" { clustered(&mut rng, n, (n / 100).max(1)) } else { (0..n).map(|_| unit(&mut rng)).collect() };
    // Half random queries, half stored vectors plus small noise.
    let queries: Vec<Vec<f32>> = (0..QUERIES)
        .map(|i| {
            if i % 2 == 0 {
                unit(&mut rng)
            } else {
                let base = &data[rng.random_range(0..n)];
                normalize(base.iter().map(|&x| x + 0.02 * gaussian(&mut rng)).collect())
            }
        })
        .collect();
    (data, queries)
}

fn main() {
    println!("{}", common::machine());
    let n: usize = std::env::var("SIMTHEME_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000).max(100);
    let mode = std::env::var("SIMTHEME_BENCH_DATA").unwrap_or_else(|_| "random".to_string());
    let modes: Vec<&str> = if mode == "both" { vec!["random", "clustered"] } else { vec![mode.as_str()] };
    let efs: Vec<usize> = std::env::var("SIMTHEME_BENCH_EF")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![64, 128, 256, 512, 1024, 1536]);
    let configs = configs();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("index_recall: N={n} dim={DIM} queries={QUERIES} k={K} threads={threads} default params={:?}", IndexParams::default());
    println!(
        "configs (M:ef_construction): {:?}; ef_search sweep {efs:?} (0 = index default)",
        configs.iter().map(|p| format!("{}:{}", p.m, p.ef_construction)).collect::<Vec<_>>()
    );
    let mut rows: Vec<String> = Vec::new();
    for mode in modes {
        let t = Instant::now();
        let (data, queries) = make_data(mode, n);
        let n = data.len();
        println!("\n== {mode} data: {n} vectors, {} queries, generated in {}", queries.len(), secs(t.elapsed()));
        // Build (ids are sparse: 3 * i + 1).
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (3 * i as u64 + 1, v.as_slice())).collect();
        let mut truth: Option<(Vec<Vec<Hit>>, f64, f64)> = None;
        for (ci, &params) in configs.iter().enumerate() {
            let t = Instant::now();
            let mut idx = ChunkIndex::new(DIM, params, n);
            for batch in items.chunks(10_000) {
                idx.insert(batch).expect("insert");
            }
            let build = t.elapsed().as_secs_f64();
            println!("M={} ef_construction={}: build {build:.1} s ({:.0} vectors/s)", params.m, params.ef_construction, n as f64 / build);
            // Exact ground truth and speed (independent of the graph: measured once per data set).
            let (exact, exact_qps, exact_all) = truth.get_or_insert_with(|| {
                let (exact, med) = run_serial(&queries, |q| idx.exact_search(q, K, None).unwrap());
                let all = run_threads(&queries, &|q| idx.exact_search(q, K, None).unwrap());
                (exact, 1.0 / med.as_secs_f64(), all)
            });
            for &ef in &efs {
                idx.set_ef_search(if ef == 0 { IndexParams::default().ef_search } else { ef });
                let (approx, med) = run_serial(&queries, |q| idx.search(q, K, None).unwrap());
                let (rand_a, rand_e): (Vec<_>, Vec<_>) =
                    approx.iter().zip(exact.iter()).step_by(2).map(|(a, e)| (a.clone(), e.clone())).unzip();
                let all_qps = run_threads(&queries, &|q| idx.search(q, K, None).unwrap());
                let row = format!(
                    "{mode:<9} {:>3} {:>4} {build:>8.1} {:>8.0} {:>5} {:>8.4} {:>8.4} {:>9.0} {:>9.0} {:>9.1} {:>9.1}",
                    params.m,
                    params.ef_construction,
                    n as f64 / build,
                    if ef == 0 { format!("d{}", idx.params().ef_search) } else { ef.to_string() },
                    recall(&approx, exact),
                    recall(&rand_a, &rand_e),
                    1.0 / med.as_secs_f64(),
                    all_qps,
                    exact_qps,
                    exact_all,
                );
                println!("{row}");
                rows.push(row);
            }
            idx.set_ef_search(params.ef_search);
            if ci == 0 && std::env::var("SIMTHEME_BENCH_SKIP_EXTRAS").is_err() {
                extras(&mut idx, &queries, exact, n);
            }
        }
    }
    println!(
        "\n{:<9} {:>3} {:>4} {:>8} {:>8} {:>5} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "data", "M", "efc", "build_s", "vec/s", "ef", "recall", "rec_rndq", "hnsw_q/s", "hnsw_all", "exact_q/s", "exact_all"
    );
    for r in &rows {
        println!("{r}");
    }
}

/// Filtered search, persistence, rebuild and tombstone checks on one index.
fn extras(idx: &mut ChunkIndex, queries: &[Vec<f32>], exact: &[Vec<Hit>], n: usize) {
    // Filtered search (50% of ids).
    let half = |id: u64| id.is_multiple_of(2);
    let (fa, fmed) = run_serial(&queries[..200], |q| idx.search(q, K, Some(&half)).unwrap());
    let (fe, _) = run_serial(&queries[..200], |q| idx.exact_search(q, K, Some(&half)).unwrap());
    println!("  hnsw + 50% filter: recall@{K}={:.4}, median {:.3} ms/query", recall(&fa, &fe), fmed.as_secs_f64() * 1e3);

    // Persistence.
    let tmp = std::env::var("SIMTHEME_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("simtheme-index-bench-{}", std::process::id())));
    let t = Instant::now();
    idx.save(&tmp, "bench").expect("save");
    println!("  save: {}", secs(t.elapsed()));
    let t = Instant::now();
    let loaded = ChunkIndex::load(&tmp, "bench").expect("load").expect("not stale");
    println!("  load (graph reloaded = {}): {}", loaded.graph_was_reloaded(), secs(t.elapsed()));
    let (la, _) = run_serial(&queries[..200], |q| loaded.search(q, K, None).unwrap());
    let (oa, _) = run_serial(&queries[..200], |q| idx.search(q, K, None).unwrap());
    println!("  loaded index gives identical results: {}", la == oa);
    drop(loaded);
    if std::env::var("SIMTHEME_BENCH_SKIP_REBUILD").is_ok() {
        println!("  rebuild: skipped (SIMTHEME_BENCH_SKIP_REBUILD); it re-runs the same inserts as the build above");
    } else {
        let t = Instant::now();
        let rebuilt = idx.compacted();
        println!("  rebuild from stored vectors (compacted()): {}", secs(t.elapsed()));
        let (ra, _) = run_serial(queries, |q| rebuilt.search(q, K, None).unwrap());
        println!("  rebuilt index recall@{K}={:.4}", recall(&ra, exact));
    }

    let dead: Vec<u64> = (0..n as u64).step_by(10).map(|i| 3 * i + 1).collect();
    idx.tombstone(&dead);
    let (ta, tmed) = run_serial(&queries[..200], |q| idx.search(q, K, None).unwrap());
    let (te, _) = run_serial(&queries[..200], |q| idx.exact_search(q, K, None).unwrap());
    println!("  hnsw with 10% tombstones: recall@{K}={:.4}, median {:.3} ms/query", recall(&ta, &te), tmed.as_secs_f64() * 1e3);
    if std::env::var("SIMTHEME_BENCH_DIR").is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
