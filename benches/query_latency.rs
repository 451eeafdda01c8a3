//! Latency of embedding one short query (the cost that dominates a NearestParagraphs call):
//! median and p95 over 50 calls, for 1 and 2 threads.
//!
//!     cargo bench --bench query_latency

use std::time::Instant;

use simtheme::embed::{Embedder, EmbedderConfig, Mode};

fn main() {
    for threads in [1, 2] {
        let e = Embedder::load(&EmbedderConfig { threads, ..EmbedderConfig::default() }).unwrap();
        e.embed(&["warm up"], Mode::Query).unwrap();
        let mut ms: Vec<f64> = (0..50)
            .map(|i| {
                let t = Instant::now();
                e.embed(&[format!("how do SMEs become specialised {i}")], Mode::Query).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        println!("threads={threads} short query: median {:.1} ms, p95 {:.1} ms", ms[25], ms[47]);
    }
}
