//! Exact-path search at scale on realistic vectors (harness = false): the sign-code shortlist
//! with float rescoring against the float scan, both in one run, on `SIMTHEME_BENCH_N` vectors
//! (default 100,000; `1000000` for the million).
//!
//! **Data.** Real e5 chunk vectors are read from an embedded store
//! (`SIMTHEME_BENCH_STORE=DIR`, a `--data-dir` holding an ingested corpus). 300 of them
//! (every n-th) are held out as queries; the others are the parents of the corpus: each
//! corpus vector is a parent plus Gaussian noise of a per-vector strength drawn from
//! [0.01, 0.03] per component (cosine 0.86–0.98 to its parent, the spread of real
//! near-duplicates and paraphrases in the work reports), normalised. Seeded, so a run
//! regenerates the same set in seconds; nothing is stored. Ground truth: exact float search.
//!
//! Tune the shortlist on one corpus and report on another: the defaults of
//! `Shortlist::default()` were chosen with the Chinese work reports as the store and are
//! reported on the English budget speeches.
//!
//! Env: `SIMTHEME_BENCH_STORE` (required), `SIMTHEME_BENCH_MODEL` (default
//! `multilingual-e5-small`, the id the shipped model stores), `SIMTHEME_BENCH_N`,
//! `SIMTHEME_BENCH_SHORTLISTS` (comma-separated `floor:per_result:share`, default the
//! `Shortlist::default()`), `SIMTHEME_BENCH_FILTER_SHARE` (share of the corpus a filtered
//! search accepts, default 0.1).
//!
//! Run: `SIMTHEME_BENCH_STORE=/path/to/data cargo bench --bench million`.

#[path = "common/mod.rs"]
mod common;
#[path = "common/realistic.rs"]
mod realistic;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use realistic::{corpus, real_vectors};
use simtheme::backend::embedded::index::{ChunkIndex, Hit, IndexParams, Shortlist};

const K: usize = 10;

fn median_ms(mut xs: Vec<Duration>) -> (f64, f64) {
    xs.sort();
    let at = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

fn recall(found: &[Vec<Hit>], truth: &[Vec<Hit>]) -> f64 {
    let hit: usize = found
        .iter()
        .zip(truth)
        .map(|(f, t)| {
            let t: HashSet<u64> = t.iter().map(|h| h.id).collect();
            f.iter().filter(|h| t.contains(&h.id)).count()
        })
        .sum();
    hit as f64 / truth.iter().map(Vec::len).sum::<usize>().max(1) as f64
}

/// One query after another on one thread: per-query latencies and the answers.
fn run_serial(f: impl Fn(&[f32]) -> Vec<Hit>, queries: &[Vec<f32>]) -> (Vec<Vec<Hit>>, Vec<Duration>) {
    let mut out = Vec::with_capacity(queries.len());
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        out.push(f(q));
        times.push(t.elapsed());
    }
    (out, times)
}

/// Queries per second with 8 concurrent callers (rayon threads).
fn throughput(f: &(impl Fn(&[f32]) -> Vec<Hit> + Sync), queries: &[Vec<f32>]) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
    let t = Instant::now();
    pool.install(|| queries.par_iter().for_each(|q| drop(f(q))));
    queries.len() as f64 / t.elapsed().as_secs_f64()
}

fn shortlists() -> Vec<Shortlist> {
    let Ok(list) = std::env::var("SIMTHEME_BENCH_SHORTLISTS") else { return vec![Shortlist::default()] };
    list.split(',')
        .map(|p| {
            let parts: Vec<&str> = p.split(':').map(str::trim).collect();
            let [floor, per_result, share] = parts[..] else { panic!("SIMTHEME_BENCH_SHORTLISTS: floor:per_result:share, got {p}") };
            Shortlist { floor: floor.parse().unwrap(), per_result: per_result.parse().unwrap(), share: share.parse().unwrap() }
        })
        .collect()
}

fn main() {
    let dir = std::env::var("SIMTHEME_BENCH_STORE").expect("set SIMTHEME_BENCH_STORE to a data dir with an ingested corpus");
    let model = std::env::var("SIMTHEME_BENCH_MODEL").unwrap_or_else(|_| "multilingual-e5-small".into());
    let n: usize = std::env::var("SIMTHEME_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let filter_share: f64 = std::env::var("SIMTHEME_BENCH_FILTER_SHARE").ok().and_then(|s| s.parse().ok()).unwrap_or(0.1);
    println!("{}; {} threads", common::machine(), rayon::current_num_threads());

    let (queries, parents) = real_vectors(&dir, &model);
    let dim = parents[0].len();
    let t = Instant::now();
    let vectors = corpus(&parents, n);
    println!("{n} vectors of {dim} dims from {} real parents of {dir}, generated in {:.1} s", parents.len(), t.elapsed().as_secs_f64());

    // The shortlist path needs no graph: vectors are staged (stored and encoded), not linked.
    let mut index = ChunkIndex::new(dim, IndexParams::default(), n);
    let t = Instant::now();
    for (b, block) in vectors.chunks(10_000).enumerate() {
        let items: Vec<(u64, &[f32])> = block.iter().enumerate().map(|(i, v)| ((b * 10_000 + i) as u64, v.as_slice())).collect();
        let _unlinked = index.stage(&items).unwrap(); // never linked: no graph
    }
    let load = t.elapsed();
    drop(vectors);
    println!(
        "load (store + sign codes, no graph): {:.2} s, {:.0} vectors/s; peak RSS {:.0} MB",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64(),
        common::peak_rss_mb()
    );

    let exact = |q: &[f32]| index.exact_search(q, K, None).unwrap();
    let (truth, exact_times) = run_serial(exact, &queries);
    let (p50, p99) = median_ms(exact_times);
    println!("\n{:<34} {:>9} {:>9} {:>9} {:>12}", "path", "recall@10", "p50 ms", "p99 ms", "q/s (8 calls)");
    println!("{:<34} {:>9.4} {:>9.2} {:>9.2} {:>12.1}", "float scan (exact)", 1.0, p50, p99, throughput(&exact, &queries));
    for size in shortlists() {
        let short = |q: &[f32]| index.shortlist_search(q, K, None, size).unwrap();
        let (found, times) = run_serial(short, &queries);
        let (p50, p99) = median_ms(times);
        let label = format!("shortlist {} ({}/{}/{:.1}%)", size.size(K, n), size.floor, size.per_result, size.share * 100.0);
        println!("{label:<34} {:>9.4} {:>9.2} {:>9.2} {:>12.1}", recall(&found, &truth), p50, p99, throughput(&short, &queries));
    }

    // A filter accepting `filter_share` of the corpus (by id, like a year or tag filter).
    let modulus = (1.0 / filter_share).round().max(1.0) as u64;
    let pass = move |id: u64| id.is_multiple_of(modulus);
    let exact_f = |q: &[f32]| index.exact_search(q, K, Some(&pass)).unwrap();
    let (truth_f, times) = run_serial(exact_f, &queries);
    let (p50, p99) = median_ms(times);
    println!("{:<34} {:>9.4} {:>9.2} {:>9.2}", format!("float scan, filter 1/{modulus}"), 1.0, p50, p99);
    let size = Shortlist::default();
    let short_f = |q: &[f32]| index.shortlist_search(q, K, Some(&pass), size).unwrap();
    let (found, times) = run_serial(short_f, &queries);
    let (p50, p99) = median_ms(times);
    println!("{:<34} {:>9.4} {:>9.2} {:>9.2}", format!("shortlist default, filter 1/{modulus}"), recall(&found, &truth_f), p50, p99);
    println!("\npeak RSS {:.0} MB", common::peak_rss_mb());
}
