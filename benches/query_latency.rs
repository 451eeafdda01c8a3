//! Latency of embedding one short query (the cost that dominates a NearestParagraphs call):
//! median and p95 over 100 calls (`SIMTHEME_BENCH_CALLS`), the quantised encoder (default) side by side with the
//! same GGUF weights dequantised to f32 through candle-transformers' `BertModel`.
//!
//!     cargo bench --bench query_latency
//!
//! `SIMTHEME_BENCH_BATCH=8` embeds 8 short queries per call instead of one (what the queue
//! does with 8 concurrent clients).
//!
//! Quantised matmuls run on candle's process-wide pool: set `CANDLE_NUM_THREADS=1` to
//! measure one core. `SIMTHEME_BENCH_ENCODER=quantised` or `=f32` runs one side only.

mod common;

use std::time::Instant;

use simtheme::embed::{Embedder, EmbedderConfig, Mode};

fn main() {
    println!("{}", common::machine());
    let queries = ["how do SMEs become specialised", "中小企业如何走专精特新之路", "digital transformation of manufacturing", "新质生产力"];
    let only = std::env::var("SIMTHEME_BENCH_ENCODER").unwrap_or_default(); // "quantised" | "f32" | "" (both)
    for (label, dequantize) in [("quantised (default)", false), ("dequantised f32", true)] {
        let wanted = only.is_empty() || label.starts_with(only.as_str()) || (only == "f32" && dequantize);
        if !wanted {
            continue;
        }
        let e = Embedder::load(&EmbedderConfig { dequantize, ..EmbedderConfig::default() }).unwrap();
        e.embed(&["warm up"], Mode::Query).unwrap();
        let batch: usize = std::env::var("SIMTHEME_BENCH_BATCH").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
        let calls: usize = std::env::var("SIMTHEME_BENCH_CALLS").ok().and_then(|s| s.parse().ok()).unwrap_or(100).max(20);
        let mut ms: Vec<f64> = (0..calls)
            .map(|i| {
                let qs: Vec<String> = (0..batch).map(|b| format!("{} {i} {b}", queries[(i + b) % queries.len()])).collect();
                let t = Instant::now();
                e.embed(&qs, Mode::Query).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        let what = if batch == 1 { "short query".to_string() } else { format!("{batch} short queries per call") };
        println!("{label:<20} {what}: median {:.1} ms, p95 {:.1} ms (threads {})", ms[calls / 2], ms[calls * 95 / 100], e.threads());
    }
}
