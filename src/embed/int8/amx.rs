//! Intel AMX kernel of [`super`]: the same Q4_0 × Q8_0 arithmetic on the CPU's tile
//! matrix unit (`tdpbssd`: 16 × 16 int32 dot products of 32 signed bytes in one
//! instruction), where the AVX-512 VNNI kernel needs 128 instructions for the same work.
//!
//! Layout. The weights are the group layout of `groups.rs` (signed `q - 8`, so `tdpbssd`
//! needs no offset correction): each group's block is one 512-byte *B tile*.
//! Activations are quantised signed and row-major, 16 rows per *A tile* (padded with zero
//! rows), with one scale per row and block.
//!
//! One `tdpbssd` per block gives the block's 256 integer dot products; they leave the
//! tile unit through a 1 KiB buffer in L1 and are scaled by `d_w · d_x` into float
//! accumulators held in 16 registers, block after block, in the same order as the
//! portable kernel. Two blocks are in flight at a time (tiles 0-2 and 3-5).
//!
//! Linux lends the tile registers to a process only once it asks (`arch_prctl`), which
//! [`available`] does once; each parallel task loads the tile configuration on its thread
//! and releases the tiles when done.

use std::arch::asm;
use std::arch::x86_64::*;
use std::ops::Range;

use rayon::prelude::*;

use super::groups::{GroupMatrix, GROUP_BLOCK, LANES};
use super::BLOCK;

/// Rows of a tile: activation rows of an A tile, weight rows of a group.
const TILE: usize = LANES;
/// Bytes of one B tile (one block of a group).
const B_TILE: usize = GROUP_BLOCK;
/// Groups (of 16 weight rows) per parallel task.
const GROUPS_PER_TASK: usize = 4;
/// A tiles (of 16 activation rows) per parallel task.
const A_TILES_PER_TASK: usize = 4;

/// True when this CPU has AMX-INT8 and AVX-512 F and the kernel let this process use the
/// tile registers. Asked once; `SIMTHEME_NO_AMX` turns AMX off.
pub fn available() -> bool {
    use std::sync::OnceLock;
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if std::env::var_os("SIMTHEME_NO_AMX").is_some() || !is_x86_feature_detected!("avx512f") {
            return false;
        }
        // CPUID leaf 7 exists on every x86-64 CPU with AVX-512.
        let edx = __cpuid_count(7, 0).edx;
        let (tile, int8) = (edx & (1 << 24) != 0, edx & (1 << 25) != 0);
        tile && int8 && request_tile_permission()
    })
}

#[cfg(target_os = "linux")]
fn request_tile_permission() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: asks the kernel for a process-wide permission; touches no memory.
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn request_tile_permission() -> bool {
    false
}

/// `y = x · Wᵀ + bias` (through the exact GELU when `gelu`) for `x` of `m × cols`.
///
/// # Safety
/// AMX must be [`available`].
pub unsafe fn matmul(w: &GroupMatrix, x: &[f32], m: usize, bias: &[f32], gelu: bool) -> Vec<f32> {
    let xq = quantize_rows(x, m, w.cols);
    let group_tasks = w.groups.div_ceil(GROUPS_PER_TASK);
    let a_tasks = xq.tiles.div_ceil(A_TILES_PER_TASK);
    let fill = |out: &super::SyncPtr| {
        (0..group_tasks * a_tasks).into_par_iter().for_each(|task| {
            let (gt, at) = (task % group_tasks, task / group_tasks);
            let groups = gt * GROUPS_PER_TASK..((gt + 1) * GROUPS_PER_TASK).min(w.groups);
            let a_tiles = at * A_TILES_PER_TASK..((at + 1) * A_TILES_PER_TASK).min(xq.tiles);
            // SAFETY: AMX is available (the caller's contract); tasks write disjoint elements
            // of the output, which outlives the loop.
            unsafe { run_task(w, &xq, groups, a_tiles, bias, out, m, gelu) };
        })
    };
    // SAFETY: the tasks' (A tile, group) pairs cover every output element once.
    unsafe { super::written_in_parallel(m * w.rows, fill) }
}

/// Activations quantised per row and block (Q8_0 rounding), row-major, padded to whole
/// A tiles with zero rows.
struct TileRows {
    tiles: usize,
    cols: usize,
    /// `16·tiles × cols` values.
    q: Vec<i8>,
    /// `16·tiles × cols/32` scales.
    d: Vec<f32>,
}

fn quantize_rows(x: &[f32], m: usize, cols: usize) -> TileRows {
    let tiles = m.div_ceil(TILE);
    let blocks = cols / BLOCK;
    let len = tiles * TILE * cols;
    let mut q: Vec<i8> = Vec::with_capacity(len);
    let mut d = vec![0f32; tiles * TILE * blocks];
    let (body, padding) = q.spare_capacity_mut()[..len].split_at_mut(m * cols);
    padding.fill(std::mem::MaybeUninit::new(0));
    if m > 0 {
        body.par_chunks_mut(cols).zip(d.par_chunks_mut(blocks)).zip(x.par_chunks(cols)).with_min_len(16).for_each(|((qr, dr), xr)| {
            // SAFETY: AVX-512 F is part of `available()`; the slices fit one row.
            unsafe { quantize_row_plain_avx512(xr, qr, dr) }
        });
    }
    // SAFETY: the first `m` rows were written above and the padding rows zeroed.
    unsafe { q.set_len(len) };
    TileRows { tiles, cols, q, d }
}

/// One row quantised block by block as [`super::groups::quantize_block_avx512`] does, written row-major
/// (the AMX layout): `q` gets the row's bytes, `d` one scale per block.
///
/// # Safety
/// The CPU must support AVX-512 F; `x` holds whole blocks, `q` as many bytes and `d` one
/// value per block.
#[target_feature(enable = "avx512f")]
unsafe fn quantize_row_plain_avx512(x: &[f32], q: &mut [std::mem::MaybeUninit<i8>], d: &mut [f32]) {
    let blocks = x.len() / BLOCK;
    assert!(q.len() >= blocks * BLOCK && d.len() >= blocks);
    for b in 0..blocks {
        let (bytes, scale, _) = super::groups::quantize_block_avx512(&x[b * BLOCK..]);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), q.as_mut_ptr().add(b * BLOCK) as *mut i8, BLOCK);
        d[b] = scale;
    }
}

/// Tile configuration (palette 1): tiles 0 and 3 are C (16 × 16 int32), 1 and 4 are A
/// (16 rows × 32 bytes), 2 and 5 are B (8 rows × 64 bytes).
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    fn new() -> Self {
        let mut c = [0u8; 64];
        c[0] = 1;
        for (t, rows, bytes_per_row) in [(0, 16, 64u16), (1, 16, 32), (2, 8, 64), (3, 16, 64), (4, 16, 32), (5, 8, 64)] {
            c[16 + 2 * t..18 + 2 * t].copy_from_slice(&bytes_per_row.to_le_bytes());
            c[48 + t] = rows;
        }
        Self(c)
    }
}

/// Two C tiles leaving the tile unit.
#[repr(C, align(64))]
struct Dots([[i32; TILE * TILE]; 2]);

/// # Safety
/// AMX must be [`available`]; `out` must point to `m × w.rows` floats of which this task
/// alone writes the rows of `a_tiles` and the columns of `groups`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,fma")]
unsafe fn run_task(
    w: &GroupMatrix,
    x: &TileRows,
    groups: Range<usize>,
    a_tiles: Range<usize>,
    bias: &[f32],
    out: &super::SyncPtr,
    m: usize,
    gelu: bool,
) {
    let config = TileConfig::new();
    asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr(), options(nostack, readonly));
    let mut dots = Dots([[0; TILE * TILE]; 2]);
    for g in groups {
        for t in a_tiles.clone() {
            let acc = tile_product(w, x, g, t, &mut dots);
            write_rows(w, &acc, g, t, bias, out, m, gelu);
        }
    }
    asm!("tilerelease", options(nostack, nomem));
}

/// The float sums of A tile `t` times group `g` over all blocks: `acc[i][n]` for
/// activation row `16t + i` and weight row `16g + n`.
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn tile_product(w: &GroupMatrix, x: &TileRows, g: usize, t: usize, dots: &mut Dots) -> [__m512; TILE] {
    let blocks = w.blocks;
    let a_row0 = x.q.as_ptr().add(t * TILE * x.cols);
    let b_group = w.weights.as_ptr().add(g * blocks * B_TILE);
    let (c0, c1) = (dots.0[0].as_mut_ptr(), dots.0[1].as_mut_ptr());
    let mut acc = [_mm512_setzero_ps(); TILE];
    let mut b = 0;
    while b < blocks {
        let pair = b + 1 < blocks;
        if pair {
            asm!(
                "tileloadd tmm1, [{a0} + {sa}*1]",
                "tileloadd tmm2, [{b0} + {s64}*1]",
                "tileloadd tmm4, [{a1} + {sa}*1]",
                "tileloadd tmm5, [{b1} + {s64}*1]",
                "tilezero tmm0",
                "tilezero tmm3",
                "tdpbssd tmm0, tmm1, tmm2",
                "tdpbssd tmm3, tmm4, tmm5",
                "tilestored [{c0} + {s64}*1], tmm0",
                "tilestored [{c1} + {s64}*1], tmm3",
                a0 = in(reg) a_row0.add(b * BLOCK),
                a1 = in(reg) a_row0.add((b + 1) * BLOCK),
                sa = in(reg) x.cols,
                b0 = in(reg) b_group.add(b * B_TILE),
                b1 = in(reg) b_group.add((b + 1) * B_TILE),
                c0 = in(reg) c0,
                c1 = in(reg) c1,
                s64 = in(reg) 64usize,
                options(nostack),
            );
        } else {
            asm!(
                "tileloadd tmm1, [{a0} + {sa}*1]",
                "tileloadd tmm2, [{b0} + {s64}*1]",
                "tilezero tmm0",
                "tdpbssd tmm0, tmm1, tmm2",
                "tilestored [{c0} + {s64}*1], tmm0",
                a0 = in(reg) a_row0.add(b * BLOCK),
                sa = in(reg) x.cols,
                b0 = in(reg) b_group.add(b * B_TILE),
                c0 = in(reg) c0,
                s64 = in(reg) 64usize,
                options(nostack),
            );
        }
        for (k, c) in [c0 as *const i32, c1 as *const i32].into_iter().enumerate().take(if pair { 2 } else { 1 }) {
            let blk = b + k;
            let dw = _mm512_loadu_ps(w.scales.as_ptr().add((g * blocks + blk) * TILE));
            let dx = x.d.as_ptr().add(t * TILE * blocks + blk);
            for (i, a) in acc.iter_mut().enumerate() {
                let v = _mm512_cvtepi32_ps(_mm512_load_si512(c.add(i * TILE) as *const _));
                *a = _mm512_fmadd_ps(v, _mm512_mul_ps(dw, _mm512_set1_ps(*dx.add(i * blocks))), *a);
            }
        }
        b += if pair { 2 } else { 1 };
    }
    acc
}

/// Adds the bias to the valid rows and columns of a tile product, applies GELU if asked
/// and stores them.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn write_rows(w: &GroupMatrix, acc: &[__m512; TILE], g: usize, t: usize, bias: &[f32], out: &super::SyncPtr, m: usize, gelu: bool) {
    let col0 = g * TILE;
    let width = TILE.min(w.rows - col0);
    let mask: __mmask16 = if width == TILE { 0xffff } else { (1u16 << width) - 1 };
    let b = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(col0));
    for (i, a) in acc.iter().enumerate().take(m.saturating_sub(t * TILE).min(TILE)) {
        let dst = out.at((t * TILE + i) * w.rows + col0);
        _mm512_mask_storeu_ps(dst, mask, _mm512_add_ps(*a, b));
        if gelu {
            crate::embed::activation::gelu_erf_in_place(std::slice::from_raw_parts_mut(dst, width));
        }
    }
}
