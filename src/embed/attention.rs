//! The non-matmul parts of a BERT layer over plain `f32` slices: multi-head self-attention
//! of packed (padding-free) sequences, layer norm with a fused residual add, and the
//! vectorisable `exp` that softmax needs.
//!
//! Attention runs one task per (sequence, head) on the current rayon pool, without
//! intermediate tensors: each task copies its head's keys transposed and its values into two
//! small buffers, then computes the scores of a few query rows at a time in registers, the
//! softmax and the weighted sum of values. Heads of 32 run an AVX-512 kernel
//! ([`super::attention_avx512`]) where the CPU has it; otherwise loops written over
//! fixed-size lanes, compiled once for AVX2 + FMA and once portably (chosen at run time).

use rayon::prelude::*;

/// Lanes of the vectorised loops (scores of 16 keys at a time).
const LANES: usize = 16;
/// Query rows whose scores are computed together (each key chunk is loaded once for them).
const ROWS: usize = 4;

/// Scale and shift of a layer norm.
#[derive(Debug, Clone)]
pub struct NormParams {
    /// Per-feature scale (γ).
    pub weight: Vec<f32>,
    /// Per-feature shift (β).
    pub bias: Vec<f32>,
    /// Added to the variance.
    pub eps: f32,
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static AVX2: OnceLock<bool> = OnceLock::new();
    *AVX2.get_or_init(|| {
        std::env::var_os("SIMTHEME_NO_SIMD").is_none() && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    })
}

/// Runs `$generic(args)` through an AVX2 + FMA compiled copy when the CPU has it.
macro_rules! multiversion {
    ($name:ident, $generic:ident, ($($arg:ident : $ty:ty),*) $(-> $ret:ty)?) => {
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                if has_avx2() {
                    // SAFETY: the features were detected.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
    };
}

/// A raw output pointer shared by tasks that write disjoint elements.
struct SyncPtr(*mut f32);
// SAFETY: only used for disjoint writes from parallel tasks (see `attention`).
unsafe impl Sync for SyncPtr {}
unsafe impl Send for SyncPtr {}

impl SyncPtr {
    /// The element `i` places after the start.
    ///
    /// # Safety
    /// As `pointer::add`.
    unsafe fn at(&self, i: usize) -> *mut f32 {
        self.0.add(i)
    }
}

/// Multi-head self-attention of packed sequences. `qkv` holds one row of `3·hidden`
/// values per token (queries | keys | values, each `heads × head_dim`), the tokens of
/// sequence 0 first, then sequence 1, ...; `lens` are the sequence lengths. Every token
/// attends to all tokens of its own sequence (no mask, no padding). Returns the
/// `tokens × hidden` context rows (heads concatenated).
pub fn attention(qkv: &[f32], lens: &[usize], heads: usize, hidden: usize) -> Vec<f32> {
    let total: usize = lens.iter().sum();
    assert_eq!(qkv.len(), total * 3 * hidden, "qkv is not tokens × 3·hidden");
    assert!(heads > 0 && hidden.is_multiple_of(heads), "hidden is not a multiple of heads");
    let mut ctx = vec![0f32; total * hidden];
    let mut tasks = Vec::new(); // (first token of the sequence, its length, head)
    let mut at = 0;
    for &n in lens {
        for head in 0..heads {
            tasks.push((at, n, head));
        }
        at += n;
    }
    let out = SyncPtr(ctx.as_mut_ptr());
    // Long sequences first, so the last tasks to finish are short ones.
    tasks.sort_by_key(|&(at, n, head)| (std::cmp::Reverse(n), at, head));
    tasks.into_par_iter().for_each(|(at, n, head)| {
        let hd = hidden / heads;
        let mut block = vec![0f32; n * hd];
        attend_all(qkv, at, n, head, hd, hidden, &mut block);
        for (i, row) in block.chunks_exact(hd).enumerate() {
            // SAFETY: each task owns the columns of its head in the rows of its sequence;
            // `ctx` outlives the parallel loop.
            let dst = unsafe { std::slice::from_raw_parts_mut(out.at((at + i) * hidden + head * hd), hd) };
            dst.copy_from_slice(row);
        }
    });
    ctx
}

/// Context rows of all tokens of one sequence for one head, into `out` (`n × hd`).
fn attend_all(qkv: &[f32], at: usize, n: usize, head: usize, hd: usize, hidden: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if hd == super::attention_avx512::HD && has_avx512() && n > 0 {
        // SAFETY: AVX-512 F was detected; the shapes were checked by `attention`.
        return unsafe { super::attention_avx512::attend_head(qkv, at, n, head, hidden, out) };
    }
    attend(qkv, at, n, head, hd, hidden, 0..n, out)
}

/// Context rows of `queries` for one head, into `out` (`queries.len() × hd`): the
/// 32-wide head of BERT-small runs a fixed-size kernel compiled for AVX-512, AVX2 + FMA or
/// portably; other head sizes run a generic loop.
#[allow(clippy::too_many_arguments)]
fn attend(qkv: &[f32], at: usize, n: usize, head: usize, hd: usize, hidden: usize, queries: std::ops::Range<usize>, out: &mut [f32]) {
    if hd == 32 {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma,avx512f")]
            unsafe fn avx512(
                qkv: &[f32],
                at: usize,
                n: usize,
                head: usize,
                hidden: usize,
                queries: std::ops::Range<usize>,
                out: &mut [f32],
            ) {
                attend_fixed::<32, 4, true>(qkv, at, n, head, hidden, queries, out)
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(qkv: &[f32], at: usize, n: usize, head: usize, hidden: usize, queries: std::ops::Range<usize>, out: &mut [f32]) {
                attend_fixed::<32, 2, true>(qkv, at, n, head, hidden, queries, out)
            }
            if has_avx512() {
                // SAFETY: the features were detected.
                return unsafe { avx512(qkv, at, n, head, hidden, queries, out) };
            }
            if has_avx2() {
                // SAFETY: the features were detected.
                return unsafe { avx2(qkv, at, n, head, hidden, queries, out) };
            }
        }
        return attend_fixed::<32, 2, false>(qkv, at, n, head, hidden, queries, out);
    }
    attend_any(qkv, at, n, head, hd, hidden, queries, out)
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    use std::sync::OnceLock;
    static AVX512: OnceLock<bool> = OnceLock::new();
    *AVX512.get_or_init(|| has_avx2() && is_x86_feature_detected!("avx512f"))
}

/// `a·b + c`, fused when the caller is compiled with FMA (otherwise `mul_add` would be a
/// slow library call).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Keys of one head transposed (`hd × padded`, zero beyond `n`) and its values (`n × hd`).
#[inline(always)]
fn head_keys_values(qkv: &[f32], at: usize, n: usize, head: usize, hd: usize, hidden: usize) -> (Vec<f32>, Vec<f32>, usize) {
    let stride = 3 * hidden;
    let padded = n.div_ceil(LANES) * LANES;
    let mut kt = vec![0f32; hd * padded];
    let mut v = vec![0f32; n * hd];
    for j in 0..n {
        let row = &qkv[(at + j) * stride..(at + j + 1) * stride];
        for (d, &k) in row[hidden + head * hd..hidden + (head + 1) * hd].iter().enumerate() {
            kt[d * padded + j] = k;
        }
        v[j * hd..(j + 1) * hd].copy_from_slice(&row[2 * hidden + head * hd..2 * hidden + (head + 1) * hd]);
    }
    (kt, v, padded)
}

/// The attention of [`attend`] for head size `HD`: scores of [`ROWS`] query rows against 16
/// keys at a time in registers, softmax, then the weighted values of `PR` rows at a time
/// (their `PR × HD` sums stay in registers while the values stream by).
#[inline(always)]
fn attend_fixed<const HD: usize, const PR: usize, const FMA: bool>(
    qkv: &[f32],
    at: usize,
    n: usize,
    head: usize,
    hidden: usize,
    queries: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let stride = 3 * hidden;
    let (kt, v, padded) = head_keys_values(qkv, at, n, head, HD, hidden);
    let scale = 1.0 / (HD as f32).sqrt();
    let mut scores = vec![0f32; ROWS * padded];
    let mut q = [[0f32; HD]; ROWS];
    let mut i = queries.start;
    while i < queries.end {
        let rows = ROWS.min(queries.end - i);
        for (r, qr) in q.iter_mut().enumerate() {
            let src = (at + i + r.min(rows - 1)) * stride + head * HD;
            for (d, qd) in qr.iter_mut().enumerate() {
                *qd = qkv[src + d] * scale;
            }
        }
        for jc in (0..padded).step_by(LANES) {
            let mut acc = [[0f32; LANES]; ROWS];
            for d in 0..HD {
                let k: &[f32; LANES] = kt[d * padded + jc..d * padded + jc + LANES].try_into().unwrap();
                for (a, qr) in acc.iter_mut().zip(&q) {
                    for l in 0..LANES {
                        a[l] = madd::<FMA>(qr[d], k[l], a[l]);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                scores[r * padded + jc..r * padded + jc + LANES].copy_from_slice(a);
            }
        }
        let mut sums = [1f32; ROWS];
        for (r, sum) in sums.iter_mut().enumerate().take(rows) {
            *sum = softmax_unnormalised(&mut scores[r * padded..r * padded + n]);
        }
        for r0 in (0..rows).step_by(PR) {
            let mut o = [[0f32; HD]; PR];
            let mut base = [0usize; PR];
            for (r, b) in base.iter_mut().enumerate() {
                *b = (r0 + r).min(rows - 1) * padded;
            }
            for j in 0..n {
                let vj: &[f32; HD] = v[j * HD..(j + 1) * HD].try_into().unwrap();
                for (or, b) in o.iter_mut().zip(&base) {
                    let p = scores[b + j];
                    for d in 0..HD {
                        or[d] = madd::<FMA>(p, vj[d], or[d]);
                    }
                }
            }
            for (r, or) in o.iter().enumerate().take(rows - r0) {
                let inv = 1.0 / sums[r0 + r];
                let dst = &mut out[(i - queries.start + r0 + r) * HD..(i - queries.start + r0 + r + 1) * HD];
                for (x, y) in dst.iter_mut().zip(or) {
                    *x = y * inv;
                }
            }
        }
        i += rows;
    }
}

multiversion!(attend_any, attend_any_generic, (qkv: &[f32], at: usize, n: usize, head: usize, hd: usize, hidden: usize, queries: std::ops::Range<usize>, out: &mut [f32]));

/// The attention of [`attend`] for any head size.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attend_any_generic(
    qkv: &[f32],
    at: usize,
    n: usize,
    head: usize,
    hd: usize,
    hidden: usize,
    queries: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let stride = 3 * hidden;
    let (kt, v, padded) = head_keys_values(qkv, at, n, head, hd, hidden);
    let scale = 1.0 / (hd as f32).sqrt();
    let mut scores = vec![0f32; padded];
    for (row, o) in queries.zip(out.chunks_exact_mut(hd)) {
        let q = &qkv[(at + row) * stride + head * hd..(at + row) * stride + (head + 1) * hd];
        scores.fill(0.0);
        for (d, &qd) in q.iter().enumerate() {
            let qd = qd * scale;
            for (s, &k) in scores.iter_mut().zip(&kt[d * padded..(d + 1) * padded]) {
                *s += qd * k;
            }
        }
        let sum = softmax_unnormalised(&mut scores[..n]);
        o.fill(0.0);
        for (j, &p) in scores[..n].iter().enumerate() {
            for (od, &vd) in o.iter_mut().zip(&v[j * hd..(j + 1) * hd]) {
                *od += p * vd;
            }
        }
        let inv = 1.0 / sum;
        o.iter_mut().for_each(|x| *x *= inv);
    }
}

/// `s ← exp(s - max s)`; returns the sum.
#[inline(always)]
fn softmax_unnormalised(s: &mut [f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    let mut chunks = s.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            m[l] = if c[l] > m[l] { c[l] } else { m[l] };
        }
    }
    let mut max = chunks.remainder().iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    for v in m {
        max = if v > max { v } else { max };
    }
    let mut sums = [0f32; LANES];
    let mut chunks = s.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            c[l] = exp(c[l] - max);
            sums[l] += c[l];
        }
    }
    let mut sum: f32 = sums.iter().sum();
    for v in chunks.into_remainder() {
        *v = exp(*v - max);
        sum += *v;
    }
    sum
}

/// `e^x` for `x ≤ 0` (softmax arguments), branch-free so loops of it vectorise: `x = n·ln 2 + f`
/// with an integer `n` and `|f| ≤ ln 2 / 2` (Cody–Waite: `ln 2` in two parts, so `f` is
/// exact), `e^f` a degree-6 Taylor polynomial (relative error below 2e-7), `2^n` built in
/// the exponent bits. Arguments below -87 give ~0 (as `exp` does, up to denormals).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = if x < -87.0 { -87.0 } else { x };
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0; // round to nearest
    let f = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

multiversion!(add_norm_rows, add_norm_rows_generic, (x: &mut [f32], residual: Option<&[f32]>, norm: &NormParams));

/// `x ← layer_norm(x + residual)` row by row (rows of `norm.weight.len()` values),
/// in parallel on the current rayon pool.
pub fn add_layer_norm(x: &mut [f32], residual: Option<&[f32]>, norm: &NormParams) {
    let h = norm.weight.len();
    assert!(x.len().is_multiple_of(h) && residual.is_none_or(|r| r.len() == x.len()), "rows are not hidden wide");
    const ROWS_PER_TASK: usize = 16;
    match residual {
        Some(res) => x
            .par_chunks_mut(h * ROWS_PER_TASK)
            .zip(res.par_chunks(h * ROWS_PER_TASK))
            .for_each(|(xs, rs)| add_norm_rows(xs, Some(rs), norm)),
        None => x.par_chunks_mut(h * ROWS_PER_TASK).for_each(|xs| add_norm_rows(xs, None, norm)),
    }
}

#[inline(always)]
fn add_norm_rows_generic(x: &mut [f32], residual: Option<&[f32]>, norm: &NormParams) {
    let h = norm.weight.len();
    for (r, row) in x.chunks_exact_mut(h).enumerate() {
        if let Some(res) = residual {
            for (a, b) in row.iter_mut().zip(&res[r * h..(r + 1) * h]) {
                *a += b;
            }
        }
        let mean = lane_sum(row) / h as f32;
        row.iter_mut().for_each(|v| *v -= mean);
        let mut sq = [0f32; LANES];
        let mut chunks = row.chunks_exact(LANES);
        for c in &mut chunks {
            for l in 0..LANES {
                sq[l] += c[l] * c[l];
            }
        }
        let var = (sq.iter().sum::<f32>() + chunks.remainder().iter().map(|v| v * v).sum::<f32>()) / h as f32;
        let inv = 1.0 / (var + norm.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
            *v = *v * inv * g + b;
        }
    }
}

/// Sum with 16 independent accumulators (vectorisable).
#[inline(always)]
fn lane_sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn sample(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2654435761).wrapping_add(99);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 500.0 - 2.0
            })
            .collect()
    }

    #[test]
    fn exp_matches_libm() {
        for i in 0..=20_000 {
            let x = -(i as f32) / 200.0;
            let (got, want) = (exp(x), x.exp());
            assert!((got - want).abs() <= 1e-6 * want + 1e-37, "exp({x}) = {got}, want {want}");
        }
    }

    /// Packed attention equals candle's per-sequence softmax(QKᵀ/√d)·V.
    #[test]
    fn packed_attention_matches_candle_per_sequence() {
        // Head size 32 runs the fixed-size kernel, 16 the generic one.
        for (heads, hidden) in [(3, 96), (4, 64)] {
            let lens = [1, 37, 5, 70];
            let total: usize = lens.iter().sum();
            let qkv = sample(total * 3 * hidden, 4);
            let got = attention(&qkv, &lens, heads, hidden);
            let hd = hidden / heads;
            let dev = Device::Cpu;
            let all = Tensor::from_vec(qkv, (total, 3, heads, hd), &dev).unwrap();
            let mut at = 0;
            for n in lens {
                let seq = all.narrow(0, at, n).unwrap();
                let part = |i: usize| seq.narrow(1, i, 1).unwrap().squeeze(1).unwrap().transpose(0, 1).unwrap().contiguous().unwrap();
                let (q, k, v) = (part(0), part(1), part(2));
                let scores = (q.matmul(&k.t().unwrap()).unwrap() / (hd as f64).sqrt()).unwrap();
                let probs = candle_nn::ops::softmax_last_dim(&scores).unwrap();
                let want: Vec<f32> = probs.matmul(&v).unwrap().transpose(0, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
                for (g, w) in got[at * hidden..(at + n) * hidden].iter().zip(&want) {
                    assert!((g - w).abs() < 1e-5, "hd={hd} n={n}: {g} vs {w}");
                }
                at += n;
            }
        }
    }

    /// The AVX2 and portable kernels of 32-wide heads agree with the one `attention` picks
    /// (AVX-512 where available).
    #[test]
    fn every_head_kernel_agrees() {
        let (heads, hidden, n) = (2, 64, 45);
        let qkv = sample(n * 3 * hidden, 8);
        for head in 0..heads {
            let (mut chosen, mut fallback) = (vec![0f32; n * 32], vec![0f32; n * 32]);
            attend_all(&qkv, 0, n, head, 32, hidden, &mut chosen);
            attend(&qkv, 0, n, head, 32, hidden, 0..n, &mut fallback);
            let mut portable = vec![0f32; n * 32];
            attend_fixed::<32, 2, false>(&qkv, 0, n, head, hidden, 0..n, &mut portable);
            for ((a, b), c) in chosen.iter().zip(&fallback).zip(&portable) {
                assert!((a - b).abs() < 1e-5 && (a - c).abs() < 1e-5, "{a} vs {b} vs {c}");
            }
        }
    }

    #[test]
    fn layer_norm_with_residual_matches_candle() {
        let h = 40;
        let (x, res) = (sample(7 * h, 1), sample(7 * h, 2));
        let norm = NormParams { weight: sample(h, 3), bias: sample(h, 5), eps: 1e-12 };
        let mut got = x.clone();
        add_layer_norm(&mut got, Some(&res), &norm);
        let dev = Device::Cpu;
        let sum = (Tensor::from_vec(x, (7, h), &dev).unwrap() + Tensor::from_vec(res, (7, h), &dev).unwrap()).unwrap();
        let want: Vec<f32> = candle_nn::ops::layer_norm(
            &sum,
            &Tensor::new(norm.weight.as_slice(), &dev).unwrap(),
            &Tensor::new(norm.bias.as_slice(), &dev).unwrap(),
            norm.eps,
        )
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }
}
