//! The integer kernels side by side in one run: every kernel this CPU supports (AMX, AVX-512
//! VNNI, AVX2, portable) on the encoder's matrix shapes (FFN-up twice: plain and with the
//! fused GELU the encoder uses), for a short query (12 tokens), 8 short queries (96) and a
//! full bulk sub-batch (2,048); prints the median time per product, the rate in
//! multiply-adds per second, the ratio to the best kernel and the share of the machine's
//! measured peak for that kernel's instruction. Activations are quantised inside each
//! product, as in the model.
//!
//! The peak comes first: a loop of the kernel's multiply-add instruction alone on
//! registers (`tdpbssd` on the kernel's 16×16×32 tiles, `vpdpbusd` on zmm,
//! `vpmaddubsw`+`vpmaddwd`+`vpaddd` on ymm), many independent accumulators, on one thread
//! and on every core. The products use every core, so their share is of the all-core peak.
//!
//!     cargo bench --bench kernels
//!     SIMTHEME_BENCH_REPEATS=50 cargo bench --bench kernels   # repetitions per case (default 20)
//!     SIMTHEME_BENCH_TOKENS=12,2048 cargo bench --bench kernels
//!     SIMTHEME_BENCH_SHAPES=gelu,down SIMTHEME_BENCH_KERNELS=vnni cargo bench --bench kernels

mod common;

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
    println!("{}", common::machine());
    let repeats: usize = std::env::var("SIMTHEME_BENCH_REPEATS").ok().and_then(|s| s.parse().ok()).unwrap_or(20).max(3);
    let tokens: Vec<usize> = std::env::var("SIMTHEME_BENCH_TOKENS")
        .unwrap_or_else(|_| "12,96,2048".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SIMTHEME_BENCH_TOKENS is a list of token counts"))
        .collect();
    let only = |var: &str, name: &str| std::env::var(var).map_or(true, |list| list.split(',').any(|w| name.contains(w.trim())));
    let kernels: Vec<Kernel> = Kernel::supported().into_iter().filter(|k| only("SIMTHEME_BENCH_KERNELS", k.name())).collect();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("kernels on this CPU, best first: {}", kernels.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "));
    println!("machine peak, GMAC/s (the kernel's multiply-add instruction alone on registers):");
    let peaks: Vec<(Kernel, f64)> = kernels
        .iter()
        .map(|&k| {
            let (one, all) = (peak::gmacs(k, 1), peak::gmacs(k, cores));
            println!("  {:<9} {:<32} 1 thread {one:>7.1}   {cores} threads {all:>7.1}", k.name(), peak::instruction(k));
            (k, all)
        })
        .collect();
    // (name, rows = outputs, cols = inputs, fused GELU) of one BERT-small layer.
    let shapes = [
        ("qkv 384→1152", 1152, 384, false),
        ("attn out 384→384", 384, 384, false),
        ("ffn up 384→1536", 1536, 384, false),
        ("ffn up+gelu", 1536, 384, true),
        ("ffn down 1536→384", 384, 1536, false),
    ];
    println!("{:<20} {:>6} {:<9} {:>11} {:>9} {:>9} {:>8}", "shape", "tokens", "kernel", "median ms", "GMAC/s", "% peak", "x best");
    let mut seed = 0x9e3779b97f4a7c15u64;
    for (name, rows, cols, gelu) in shapes {
        if !only("SIMTHEME_BENCH_SHAPES", name) {
            continue;
        }
        let bytes = q4_0_bytes(rows, cols, &mut seed);
        let bias = vec![0.01f32; rows];
        for &m in &tokens {
            let x: Vec<f32> = (0..m * cols).map(|i| ((i * 7919 % 2001) as f32 / 1000.0) - 1.0).collect();
            let mut rows_out = Vec::new();
            for &k in &kernels {
                // The portable kernel on a full sub-batch takes seconds: fewer repetitions.
                let reps = if k == Kernel::Scalar && m > 100 { 3 } else { repeats };
                let w = NibbleMatrix::from_q4_0_for(k, &bytes, rows, cols).expect("whole blocks");
                let run = || if gelu { w.matmul_gelu(&x, m, &bias) } else { w.matmul(&x, m, &bias) };
                run(); // warm up
                let mut ms: Vec<f64> = (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        std::hint::black_box(run());
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect();
                ms.sort_by(|a, b| a.total_cmp(b));
                rows_out.push((k, ms[reps / 2]));
            }
            let best = rows_out.iter().map(|r| r.1).fold(f64::MAX, f64::min);
            for (k, median) in rows_out {
                let gmacs = (m * rows * cols) as f64 / (median * 1e-3) / 1e9;
                let peak = peaks.iter().find(|p| p.0 == k).map(|p| p.1).unwrap_or(f64::NAN);
                println!(
                    "{name:<20} {m:>6} {:<9} {median:>11.3} {gmacs:>9.1} {:>8.0}% {:>8.2}",
                    k.name(),
                    100.0 * gmacs / peak,
                    median / best
                );
            }
        }
    }
}

/// Peak multiply-add rate of each kernel's instruction: a loop of that instruction alone,
/// on independent register accumulators (inline assembly, so nothing is folded or hoisted).
mod peak {
    use std::time::Instant;

    use simtheme::embed::int8::Kernel;

    /// The instruction form timed for `k`.
    pub fn instruction(k: Kernel) -> &'static str {
        match k {
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => "tdpbssd 16×16×32 (4 C tiles)",
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => "vpdpbusd zmm (12 chains)",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "vpmaddubsw+vpmaddwd+vpaddd ymm",
            Kernel::Scalar => "(not measured)",
        }
    }

    /// Multiply-adds per second (billions) of `threads` threads each running the loop.
    pub fn gmacs(k: Kernel, threads: usize) -> f64 {
        let (iters, macs_per_iter) = match k {
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => (400_000u64, 4 * 16 * 16 * 32),
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => (4_000_000, 12 * 64),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => (4_000_000, 6 * 32),
            Kernel::Scalar => return f64::NAN,
        };
        let run = || {
            // SAFETY: `k` is one of `Kernel::supported()`, so its instructions exist here (and
            // AMX tiles were granted to this process).
            unsafe { x86::run(k, iters) }
        };
        run(); // warm up (and wake the wide units)
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(run);
                }
            });
            best = best.min(t.elapsed().as_secs_f64());
        }
        (threads as u64 * iters * macs_per_iter) as f64 / best / 1e9
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use std::arch::asm;

        use simtheme::embed::int8::Kernel;

        /// Runs `iters` iterations of `k`'s loop on this thread.
        ///
        /// # Safety
        /// The CPU must support `k` (and AMX tiles must be granted for `Kernel::Amx`).
        pub unsafe fn run(k: Kernel, iters: u64) {
            match k {
                Kernel::Amx => amx(iters),
                Kernel::Vnni => vnni(iters),
                Kernel::Avx2 => avx2(iters),
                Kernel::Scalar => {}
            }
        }

        #[target_feature(enable = "avx512f,avx512vnni")]
        unsafe fn vnni(iters: u64) {
            asm!(
                "vpxord zmm0, zmm0, zmm0",
                "vpternlogd zmm12, zmm12, zmm12, 0xff",
                "vpabsb zmm13, zmm12",
                "2:",
                "vpdpbusd zmm0, zmm12, zmm13",
                "vpdpbusd zmm1, zmm12, zmm13",
                "vpdpbusd zmm2, zmm12, zmm13",
                "vpdpbusd zmm3, zmm12, zmm13",
                "vpdpbusd zmm4, zmm12, zmm13",
                "vpdpbusd zmm5, zmm12, zmm13",
                "vpdpbusd zmm6, zmm12, zmm13",
                "vpdpbusd zmm7, zmm12, zmm13",
                "vpdpbusd zmm8, zmm12, zmm13",
                "vpdpbusd zmm9, zmm12, zmm13",
                "vpdpbusd zmm10, zmm12, zmm13",
                "vpdpbusd zmm11, zmm12, zmm13",
                "dec {n}",
                "jnz 2b",
                n = inout(reg) iters => _,
                out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _, out("zmm4") _, out("zmm5") _,
                out("zmm6") _, out("zmm7") _, out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
                out("zmm12") _, out("zmm13") _,
                options(nostack, nomem),
            );
        }

        #[target_feature(enable = "avx2")]
        unsafe fn avx2(iters: u64) {
            asm!(
                "vpcmpeqd ymm12, ymm12, ymm12",
                "vpabsb ymm13, ymm12",
                "vpabsw ymm14, ymm12",
                "2:",
                "vpmaddubsw ymm6, ymm12, ymm13",
                "vpmaddubsw ymm7, ymm12, ymm13",
                "vpmaddubsw ymm8, ymm12, ymm13",
                "vpmaddubsw ymm9, ymm12, ymm13",
                "vpmaddubsw ymm10, ymm12, ymm13",
                "vpmaddubsw ymm11, ymm12, ymm13",
                "vpmaddwd ymm6, ymm6, ymm14",
                "vpmaddwd ymm7, ymm7, ymm14",
                "vpmaddwd ymm8, ymm8, ymm14",
                "vpmaddwd ymm9, ymm9, ymm14",
                "vpmaddwd ymm10, ymm10, ymm14",
                "vpmaddwd ymm11, ymm11, ymm14",
                "vpaddd ymm0, ymm0, ymm6",
                "vpaddd ymm1, ymm1, ymm7",
                "vpaddd ymm2, ymm2, ymm8",
                "vpaddd ymm3, ymm3, ymm9",
                "vpaddd ymm4, ymm4, ymm10",
                "vpaddd ymm5, ymm5, ymm11",
                "dec {n}",
                "jnz 2b",
                n = inout(reg) iters => _,
                out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _, out("ymm4") _, out("ymm5") _,
                out("ymm6") _, out("ymm7") _, out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
                out("ymm12") _, out("ymm13") _, out("ymm14") _,
                options(nostack, nomem),
            );
        }

        /// Tile configuration (palette 1) of the AMX kernel's shapes: C tiles 0, 3, 6 and 7
        /// (16 × 16 int32), A tiles 1 and 4 (16 rows × 32 bytes), B tiles 2 and 5 (8 rows ×
        /// 64 bytes).
        #[repr(C, align(64))]
        struct TileConfig([u8; 64]);

        unsafe fn amx(iters: u64) {
            let mut c = TileConfig([0; 64]);
            c.0[0] = 1;
            for (t, rows, bytes_per_row) in
                [(0, 16, 64u16), (1, 16, 32), (2, 8, 64), (3, 16, 64), (4, 16, 32), (5, 8, 64), (6, 16, 64), (7, 16, 64)]
            {
                c.0[16 + 2 * t..18 + 2 * t].copy_from_slice(&bytes_per_row.to_le_bytes());
                c.0[48 + t] = rows;
            }
            let data = [1i8; 1024];
            asm!(
                "ldtilecfg [{cfg}]",
                "tileloadd tmm1, [{d} + {s32}*1]",
                "tileloadd tmm2, [{d} + {s64}*1]",
                "tileloadd tmm4, [{d} + {s32}*1]",
                "tileloadd tmm5, [{d} + {s64}*1]",
                "tilezero tmm0",
                "tilezero tmm3",
                "tilezero tmm6",
                "tilezero tmm7",
                "2:",
                "tdpbssd tmm0, tmm1, tmm2",
                "tdpbssd tmm3, tmm4, tmm5",
                "tdpbssd tmm6, tmm1, tmm5",
                "tdpbssd tmm7, tmm4, tmm2",
                "dec {n}",
                "jnz 2b",
                "tilerelease",
                cfg = in(reg) c.0.as_ptr(),
                d = in(reg) data.as_ptr(),
                s32 = in(reg) 32usize,
                s64 = in(reg) 64usize,
                n = inout(reg) iters => _,
                options(nostack),
            );
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    mod x86 {
        pub unsafe fn run(_: super::Kernel, _: u64) {}
    }
}
