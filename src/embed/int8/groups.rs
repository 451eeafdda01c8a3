//! The weight layout every kernel reads, the unsigned activations of the VNNI, AVX2 and
//! portable kernels, the parallel split of a product into tasks, and the portable kernel.
//!
//! Weights. Signed `q - 8 ∈ [-8, 7]`, 16 rows per *group* (a short last group is padded
//! with zero rows). For each group and block of 32 columns, 512 bytes whose 64-byte row `kk`
//! holds bytes `4kk..4kk+4` of the block for each of the 16 weight rows: the B tile AMX
//! multiplies, and for VNNI (AVX2: each half) a register with one output row per 32-bit lane.
//! One instruction with four activation bytes broadcast to every lane then adds four
//! products to each of 16 (8) output rows: no horizontal sums, and a 384-wide row needs no
//! padding.
//!
//! Activations. `vpdpbusd` and `vpmaddubsw` multiply unsigned by signed bytes, so the
//! activations are stored as `x + 128 ∈ [1, 255]`. The extra `128 · Σ w` of each block and
//! row is known when the weights are packed ([`GroupMatrix::correction`]); it starts each
//! block's integer sum negated, so a block's epilogue is a conversion and one multiply-add
//! by `d_w · d_x` per register.

use std::ops::Range;

use rayon::prelude::*;

use super::{Kernel, SyncPtr, BLOCK, Q4_0_BYTES};

/// Weight rows of a group (lanes of a 512-bit register of 32-bit sums).
pub(super) const LANES: usize = 16;
/// Bytes of one group's block.
pub(super) const GROUP_BLOCK: usize = LANES * BLOCK;
/// Groups per parallel task (96 weight rows).
const GROUPS_PER_TASK: usize = 6;
/// Activation rows per parallel task (kept hot in cache while the task's groups pass).
const ROWS_PER_TASK: usize = 64;

/// Q4_0 weights in the group layout.
#[derive(Clone)]
pub(super) struct GroupMatrix {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) groups: usize,
    pub(super) blocks: usize,
    /// `groups × blocks × 512` signed weights.
    pub(super) weights: Vec<i8>,
    /// `groups × blocks × 16` block scales (0 for padding rows).
    pub(super) scales: Vec<f32>,
    /// `groups × blocks × 16` values `-128 · Σ (q - 8)` of each block and row: the start of
    /// the integer sum with unsigned activations.
    pub(super) correction: Vec<i32>,
}

impl GroupMatrix {
    /// Packs GGML Q4_0 bytes of a row-major `(rows × cols)` matrix (`cols` a multiple of
    /// 32 and the byte count checked by the caller).
    pub(super) fn from_q4_0(bytes: &[u8], rows: usize, cols: usize) -> Self {
        let blocks = cols / BLOCK;
        let groups = rows.div_ceil(LANES);
        let mut weights = vec![0i8; groups * blocks * GROUP_BLOCK];
        let mut scales = vec![0f32; groups * blocks * LANES];
        let mut correction = vec![0i32; groups * blocks * LANES];
        for r in 0..rows {
            let (g, n) = (r / LANES, r % LANES);
            for b in 0..blocks {
                let (d, q) = super::q4_0_block(&bytes[(r * blocks + b) * Q4_0_BYTES..]);
                let at = (g * blocks + b) * LANES + n;
                scales[at] = d;
                correction[at] = -128 * q.iter().map(|&v| v as i32 - 8).sum::<i32>();
                let block = &mut weights[(g * blocks + b) * GROUP_BLOCK..(g * blocks + b + 1) * GROUP_BLOCK];
                for (t, &v) in q.iter().enumerate() {
                    block[(t / 4) * 64 + n * 4 + t % 4] = v as i8 - 8;
                }
            }
        }
        Self { rows, cols, groups, blocks, weights, scales, correction }
    }

    /// `y = x · Wᵀ + bias` (through the exact GELU when `gelu`) for `x` of `m × cols`, on
    /// `kernel` (VNNI, AVX2 or portable).
    pub(super) fn matmul(&self, kernel: Kernel, x: &[f32], m: usize, bias: &[f32], gelu: bool) -> Vec<f32> {
        let xq = quantize_unsigned(x, m, self.cols);
        let group_tasks = self.groups.div_ceil(GROUPS_PER_TASK);
        let row_tasks = m.div_ceil(ROWS_PER_TASK);
        let fill = |out: &SyncPtr| {
            (0..group_tasks * row_tasks).into_par_iter().for_each(|task| {
                let (gt, rt) = (task % group_tasks, task / group_tasks);
                let groups = gt * GROUPS_PER_TASK..((gt + 1) * GROUPS_PER_TASK).min(self.groups);
                let acts = rt * ROWS_PER_TASK..((rt + 1) * ROWS_PER_TASK).min(m);
                // SAFETY: tasks write disjoint output elements (their activation rows × their
                // groups' columns), and the output outlives the parallel loop.
                unsafe { kernel.group_tile(self, &xq, groups, acts, bias, out, gelu) };
            })
        };
        // SAFETY: the tasks cover every (activation row, group) pair once.
        unsafe { super::written_in_parallel(m * self.rows, fill) }
    }

    /// The columns of group `g` that are real rows (not padding).
    pub(super) fn width(&self, g: usize) -> usize {
        LANES.min(self.rows - g * LANES)
    }
}

/// Activations quantised per row and block (Q8_0 rounding) and stored as `q + 128`,
/// row-major.
pub(super) struct UnsignedRows {
    pub(super) cols: usize,
    pub(super) blocks: usize,
    /// `m × cols` bytes.
    pub(super) q: Vec<u8>,
    /// `m × blocks` scales.
    pub(super) d: Vec<f32>,
}

/// Q8_0-style quantisation of each row, block by block (`d = max|x| / 127`, rounding half
/// away from zero), stored as `q + 128`.
pub(super) fn quantize_unsigned(x: &[f32], m: usize, cols: usize) -> UnsignedRows {
    assert!(cols.is_multiple_of(BLOCK) && x.len() == m * cols, "input is not m × cols in whole blocks");
    let blocks = cols / BLOCK;
    let mut q = vec![0u8; m * cols];
    let mut d = vec![0f32; m * blocks];
    if m > 0 {
        q.par_chunks_mut(cols).zip(d.par_chunks_mut(blocks)).zip(x.par_chunks(cols)).with_min_len(16).for_each(|((qr, dr), xr)| {
            for (b, (qb, xb)) in qr.chunks_exact_mut(BLOCK).zip(xr.chunks_exact(BLOCK)).enumerate() {
                let (bytes, scale) = quantize_block(xb.try_into().unwrap());
                for (o, v) in qb.iter_mut().zip(bytes) {
                    *o = (v as u8) ^ 0x80; // two's complement + 128
                }
                dr[b] = scale;
            }
        });
    }
    UnsignedRows { cols, blocks, q, d }
}

/// One block quantised (vectorised where the CPU allows; every path gives the same bytes).
#[inline]
pub(super) fn quantize_block(x: &[f32; BLOCK]) -> ([i8; BLOCK], f32) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the feature was just detected.
        let (bytes, scale, _) = unsafe { quantize_block_avx512(x) };
        return (bytes, scale);
    }
    quantize_block_generic(x)
}

/// [`quantize_block`] in portable code.
pub(super) fn quantize_block_generic(x: &[f32; BLOCK]) -> ([i8; BLOCK], f32) {
    let amax = x.iter().fold(0f32, |a, &v| if v.abs() > a { v.abs() } else { a });
    let scale = amax / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    let mut q = [0i8; BLOCK];
    for (qv, &v) in q.iter_mut().zip(x) {
        let s = v * inv;
        *qv = (s + if s >= 0.0 { 0.5 } else { -0.5 }) as i32 as i8; // round half away from zero
    }
    (q, scale)
}

/// One block of 32 values quantised as [`quantize_block_generic`] does (same rounding,
/// half away from zero, same result): the 32 bytes, the scale and the sum of the bytes.
///
/// # Safety
/// The CPU must support AVX-512 F; `x` holds at least 32 values.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn quantize_block_avx512(x: &[f32]) -> ([i8; BLOCK], f32, i32) {
    use std::arch::x86_64::*;
    assert!(x.len() >= BLOCK);
    let sign = _mm512_set1_ps(-0.0);
    let half = _mm512_set1_ps(0.5);
    let x0 = _mm512_loadu_ps(x.as_ptr());
    let x1 = _mm512_loadu_ps(x.as_ptr().add(16));
    let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, x0), _mm512_andnot_ps(sign, x1)));
    let scale = amax / 127.0;
    let inv = _mm512_set1_ps(if scale > 0.0 { 1.0 / scale } else { 0.0 });
    let round = |v: __m512| {
        let s = _mm512_mul_ps(v, inv);
        // s + copysign(0.5, s), truncated: rounds half away from zero.
        _mm512_cvttps_epi32(_mm512_add_ps(s, _mm512_or_ps(half, _mm512_and_ps(sign, s))))
    };
    let (r0, r1) = (round(x0), round(x1));
    let sum = _mm512_reduce_add_epi32(_mm512_add_epi32(r0, r1));
    let mut bytes = [0i8; BLOCK];
    _mm_storeu_si128(bytes.as_mut_ptr() as *mut __m128i, _mm512_cvtepi32_epi8(r0));
    _mm_storeu_si128(bytes.as_mut_ptr().add(16) as *mut __m128i, _mm512_cvtepi32_epi8(r1));
    (bytes, scale, sum)
}

/// The portable kernel: activation rows `acts` × groups `groups`.
///
/// # Safety
/// `out` points to `m × w.rows` floats of which this call alone writes the rows `acts` and
/// the columns of `groups`.
pub(super) unsafe fn tile_portable(
    w: &GroupMatrix,
    x: &UnsignedRows,
    groups: Range<usize>,
    acts: Range<usize>,
    bias: &[f32],
    out: &SyncPtr,
    gelu: bool,
) {
    let blocks = w.blocks;
    for i in acts {
        for g in groups.clone() {
            let mut acc = [0f32; LANES];
            for b in 0..blocks {
                let at = (g * blocks + b) * LANES;
                let block = &w.weights[(g * blocks + b) * GROUP_BLOCK..(g * blocks + b + 1) * GROUP_BLOCK];
                let xb = &x.q[i * x.cols + b * BLOCK..i * x.cols + (b + 1) * BLOCK];
                let xd = x.d[i * blocks + b];
                for (n, a) in acc.iter_mut().enumerate() {
                    let mut dot = w.correction[at + n];
                    for (t, &xv) in xb.iter().enumerate() {
                        dot += xv as i32 * block[(t / 4) * 64 + n * 4 + t % 4] as i32;
                    }
                    *a += dot as f32 * (w.scales[at + n] * xd);
                }
            }
            let (col0, width) = (g * LANES, w.width(g));
            let row = std::slice::from_raw_parts_mut(out.at(i * w.rows + col0), width);
            for ((o, a), b) in row.iter_mut().zip(acc).zip(&bias[col0..col0 + width]) {
                *o = a + b;
            }
            if gelu {
                crate::embed::activation::gelu_erf_in_place(row);
            }
        }
    }
}
