//! x86 microkernels of [`super`] on the group layout (`groups.rs`): AVX-512 VNNI and AVX2.

use std::arch::x86_64::*;
use std::ops::Range;

use super::groups::{GroupMatrix, UnsignedRows, GROUP_BLOCK, LANES};
use super::{SyncPtr, BLOCK};

/// Activation rows × groups of the VNNI microkernel.
const VNNI_MR: usize = 6;
const VNNI_NR: usize = 2;
/// Activation rows × half groups (8 weight rows) of the AVX2 microkernel.
const AVX2_MR: usize = 2;
const AVX2_NR: usize = 2;

/// Calls `$f::<MR, NR>` for the runtime sizes `$mr ≤ 6`, `$nr ≤ 2` (edge tiles).
macro_rules! dispatch {
    ($f:ident, $mr:expr, $nr:expr, $args:tt) => {
        match ($mr, $nr) {
            (6, 2) => dispatch!(@call $f, 6, 2, $args),
            (6, 1) => dispatch!(@call $f, 6, 1, $args),
            (5, 2) => dispatch!(@call $f, 5, 2, $args),
            (5, 1) => dispatch!(@call $f, 5, 1, $args),
            (4, 2) => dispatch!(@call $f, 4, 2, $args),
            (4, 1) => dispatch!(@call $f, 4, 1, $args),
            (3, 2) => dispatch!(@call $f, 3, 2, $args),
            (3, 1) => dispatch!(@call $f, 3, 1, $args),
            (2, 2) => dispatch!(@call $f, 2, 2, $args),
            (2, 1) => dispatch!(@call $f, 2, 1, $args),
            (1, 2) => dispatch!(@call $f, 1, 2, $args),
            (1, 1) => dispatch!(@call $f, 1, 1, $args),
            _ => unreachable!("microkernel size"),
        }
    };
    (@call $f:ident, $a:literal, $b:literal, ($($arg:expr),*)) => { $f::<$a, $b>($($arg),*) };
}

/// Walks a task's activation rows × units (groups for VNNI, half groups for AVX2) in
/// microkernel steps of at most `$mr × $nr`.
macro_rules! walk {
    ($f:ident, $mr:expr, $nr:expr, $units:expr, $acts:expr, ($($arg:expr),*)) => {{
        let (units, acts) = ($units, $acts);
        let mut u = units.start;
        while u < units.end {
            let nr = $nr.min(units.end - u);
            let mut i = acts.start;
            while i < acts.end {
                let mr = $mr.min(acts.end - i);
                dispatch!($f, mr, nr, ($($arg,)* i, u));
                i += mr;
            }
            u += nr;
        }
    }};
}

/// # Safety
/// The CPU must support AVX-512 F/VNNI and FMA; see [`super::Kernel::group_tile`].
#[target_feature(enable = "avx512f,avx512vnni,fma")]
pub unsafe fn tile_vnni(
    w: &GroupMatrix,
    x: &UnsignedRows,
    groups: Range<usize>,
    acts: Range<usize>,
    bias: &[f32],
    out: &SyncPtr,
    gelu: bool,
) {
    walk!(micro_vnni, VNNI_MR, VNNI_NR, groups, acts, (w, x, bias, out, gelu));
}

/// Activation rows `i0..i0+R` × groups `g0..g0+N` over the whole row: float sums in
/// registers, one `vpdpbusd` per 4 activation bytes and group.
#[inline]
#[target_feature(enable = "avx512f,avx512vnni,fma")]
#[allow(clippy::needless_range_loop)] // lane-indexed register arrays
unsafe fn micro_vnni<const R: usize, const N: usize>(
    w: &GroupMatrix,
    x: &UnsignedRows,
    bias: &[f32],
    out: &SyncPtr,
    gelu: bool,
    i0: usize,
    g0: usize,
) {
    let blocks = x.blocks;
    let mut acc = [[_mm512_setzero_ps(); N]; R];
    for b in 0..blocks {
        let mut dot = [[_mm512_setzero_si512(); N]; R];
        let mut wp = [std::ptr::null::<i8>(); N];
        for j in 0..N {
            let at = (g0 + j) * blocks + b;
            wp[j] = w.weights.as_ptr().add(at * GROUP_BLOCK);
            let c = _mm512_loadu_si512(w.correction.as_ptr().add(at * LANES) as *const _);
            for i in 0..R {
                dot[i][j] = c;
            }
        }
        let xp = x.q.as_ptr().add(i0 * x.cols + b * BLOCK);
        for kk in 0..BLOCK / 4 {
            let mut wv = [_mm512_setzero_si512(); N];
            for j in 0..N {
                wv[j] = _mm512_loadu_si512(wp[j].add(kk * 64) as *const _);
            }
            for i in 0..R {
                let xv = _mm512_set1_epi32((xp.add(i * x.cols + kk * 4) as *const i32).read_unaligned());
                for j in 0..N {
                    dot[i][j] = _mm512_dpbusd_epi32(dot[i][j], xv, wv[j]);
                }
            }
        }
        for j in 0..N {
            let ws = _mm512_loadu_ps(w.scales.as_ptr().add(((g0 + j) * blocks + b) * LANES));
            for i in 0..R {
                let xd = _mm512_set1_ps(*x.d.get_unchecked((i0 + i) * blocks + b));
                acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i][j]), _mm512_mul_ps(ws, xd), acc[i][j]);
            }
        }
    }
    for j in 0..N {
        let (col0, width) = ((g0 + j) * LANES, w.width(g0 + j));
        let mask: __mmask16 = if width == LANES { 0xffff } else { (1u16 << width) - 1 };
        let bv = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(col0));
        for i in 0..R {
            let mut v = _mm512_add_ps(acc[i][j], bv);
            if gelu {
                v = crate::embed::activation::gelu_erf_avx512(v);
            }
            _mm512_mask_storeu_ps(out.at((i0 + i) * w.rows + col0), mask, v);
        }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA; see [`super::Kernel::group_tile`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn tile_avx2(
    w: &GroupMatrix,
    x: &UnsignedRows,
    groups: Range<usize>,
    acts: Range<usize>,
    bias: &[f32],
    out: &SyncPtr,
    gelu: bool,
) {
    walk!(micro_avx2, AVX2_MR, AVX2_NR, 2 * groups.start..2 * groups.end, acts, (w, x, bias, out, gelu));
}

/// Activation rows `i0..i0+R` × half groups `h0..h0+N` (8 weight rows each, one 256-bit
/// half of the group's 64-byte rows). `vpmaddubsw` sums pairs of `u8 × i8` products to
/// 16 bits; eight of those sums (one block) stay below 8 · 2 · 255 · 8 = 32,640, so they are
/// added in 16 bits and widened once per block with `vpmaddwd`.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // lane-indexed register arrays
unsafe fn micro_avx2<const R: usize, const N: usize>(
    w: &GroupMatrix,
    x: &UnsignedRows,
    bias: &[f32],
    out: &SyncPtr,
    gelu: bool,
    i0: usize,
    h0: usize,
) {
    let blocks = x.blocks;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); N]; R];
    for b in 0..blocks {
        let mut sum16 = [[_mm256_setzero_si256(); N]; R];
        let mut wp = [std::ptr::null::<i8>(); N];
        let mut at = [0usize; N];
        for j in 0..N {
            let (g, half) = ((h0 + j) / 2, (h0 + j) % 2);
            at[j] = (g * blocks + b) * LANES + 8 * half;
            wp[j] = w.weights.as_ptr().add((g * blocks + b) * GROUP_BLOCK + 32 * half);
        }
        let xp = x.q.as_ptr().add(i0 * x.cols + b * BLOCK);
        for kk in 0..BLOCK / 4 {
            let mut wv = [_mm256_setzero_si256(); N];
            for j in 0..N {
                wv[j] = _mm256_loadu_si256(wp[j].add(kk * 64) as *const __m256i);
            }
            for i in 0..R {
                let xv = _mm256_set1_epi32((xp.add(i * x.cols + kk * 4) as *const i32).read_unaligned());
                for j in 0..N {
                    sum16[i][j] = _mm256_add_epi16(sum16[i][j], _mm256_maddubs_epi16(xv, wv[j]));
                }
            }
        }
        for j in 0..N {
            let c = _mm256_loadu_si256(w.correction.as_ptr().add(at[j]) as *const __m256i);
            let ws = _mm256_loadu_ps(w.scales.as_ptr().add(at[j]));
            for i in 0..R {
                let dot = _mm256_add_epi32(_mm256_madd_epi16(sum16[i][j], ones), c);
                let xd = _mm256_set1_ps(*x.d.get_unchecked((i0 + i) * blocks + b));
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(ws, xd), acc[i][j]);
            }
        }
    }
    for j in 0..N {
        let col0 = (h0 + j) * 8;
        let width = 8.min(w.rows.saturating_sub(col0));
        for i in 0..R {
            if width == 0 {
                continue;
            }
            let mut v = [0f32; 8];
            _mm256_storeu_ps(v.as_mut_ptr(), acc[i][j]);
            let row = std::slice::from_raw_parts_mut(out.at((i0 + i) * w.rows + col0), width);
            for ((o, a), b) in row.iter_mut().zip(v).zip(&bias[col0..col0 + width]) {
                *o = a + b;
            }
            if gelu {
                crate::embed::activation::gelu_erf_in_place(row);
            }
        }
    }
}
