//! The integer kernels side by side in one run: every kernel this CPU supports (AMX, AVX-512
//! VNNI, AVX2, portable) on the encoder's four matrix shapes, for a short query (12 tokens),
//! 8 short queries (96) and a full bulk sub-batch (2,048); prints the median time per product,
//! the rate in multiply-adds per second and the ratio to the best kernel. Activations are
//! quantised inside each product, as in the model.
//!
//!     cargo bench --bench kernels
//!     SIMTHEME_BENCH_REPEATS=50 cargo bench --bench kernels   # repetitions per case (default 20)

use std::time::Instant;

use simtheme::embed::int8::{Kernel, NibbleMatrix};

/// Random Q4_0 bytes of a `(rows × cols)` matrix: an f16 scale and 16 bytes of nibbles per
/// block of 32 (the values do not change the integer kernels' speed).
fn q4_0_bytes(rows: usize, cols: usize, seed: &mut u64) -> Vec<u8> {
    let mut next = || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    };
    let mut out = Vec::with_capacity(rows * cols / 32 * 18);
    for _ in 0..rows * cols / 32 {
        out.extend_from_slice(&half::f16::from_f32(0.01 + (next() % 100) as f32 * 1e-4).to_le_bytes());
        out.extend((0..16).map(|_| next() as u8));
    }
    out
}

fn main() {
    let repeats: usize = std::env::var("SIMTHEME_BENCH_REPEATS").ok().and_then(|s| s.parse().ok()).unwrap_or(20).max(3);
    // (name, rows = outputs, cols = inputs) of one BERT-small layer.
    let shapes =
        [("qkv 384→1152", 1152, 384), ("attn out 384→384", 384, 384), ("ffn up 384→1536", 1536, 384), ("ffn down 1536→384", 384, 1536)];
    let kernels = Kernel::supported();
    println!("kernels on this CPU, best first: {}", kernels.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "));
    println!("{:<20} {:>6} {:<9} {:>11} {:>9} {:>12}", "shape", "tokens", "kernel", "median ms", "GMAC/s", "x best");
    let mut seed = 0x9e3779b97f4a7c15u64;
    for (name, rows, cols) in shapes {
        let bytes = q4_0_bytes(rows, cols, &mut seed);
        let bias = vec![0.01f32; rows];
        for m in [12usize, 96, 2048] {
            let x: Vec<f32> = (0..m * cols).map(|i| ((i * 7919 % 2001) as f32 / 1000.0) - 1.0).collect();
            let mut rows_out = Vec::new();
            for &k in &kernels {
                // The portable kernel on a full sub-batch takes seconds: fewer repetitions.
                let reps = if k == Kernel::Scalar && m > 100 { 3 } else { repeats };
                let w = NibbleMatrix::from_q4_0_for(k, &bytes, rows, cols).expect("whole blocks");
                w.matmul(&x, m, &bias); // warm up
                let mut ms: Vec<f64> = (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        std::hint::black_box(w.matmul(&x, m, &bias));
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect();
                ms.sort_by(|a, b| a.total_cmp(b));
                rows_out.push((k, ms[reps / 2]));
            }
            let best = rows_out.iter().map(|r| r.1).fold(f64::MAX, f64::min);
            for (k, median) in rows_out {
                let gmacs = (m * rows * cols) as f64 / (median * 1e-3) / 1e9;
                println!("{name:<20} {m:>6} {:<9} {median:>11.3} {gmacs:>9.1} {:>12.2}", k.name(), median / best);
            }
        }
    }
}
