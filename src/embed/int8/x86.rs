//! x86 microkernels of [`super`]: AVX-512 VNNI and AVX2 tile products and the AVX-512
//! activation quantisation.

use std::arch::x86_64::*;
use std::ops::Range;

use super::{LaneMatrix, QuantizedRows, BLOCK, CHUNK, CHUNKS, SG, SG_BLOCKS};

/// One block of 32 values quantised as [`super::quantize_row_generic`] does (same rounding,
/// half away from zero, same result): the 32 bytes, the scale and the sum of the bytes.
///
/// # Safety
/// The CPU must support AVX-512 F; `x` holds at least 32 values.
#[inline]
#[target_feature(enable = "avx512f")]
pub unsafe fn quantize_block_avx512(x: &[f32]) -> ([i8; BLOCK], f32, i32) {
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

/// One row quantised block by block as [`quantize_block_avx512`] does, written row-major
/// (the AMX layout): `q` gets the row's bytes, `d` one scale per block.
///
/// # Safety
/// The CPU must support AVX-512 F; `x` holds whole blocks, `q` as many bytes and `d` one
/// value per block.
#[target_feature(enable = "avx512f")]
pub unsafe fn quantize_row_plain_avx512(x: &[f32], q: &mut [std::mem::MaybeUninit<i8>], d: &mut [f32]) {
    let blocks = x.len() / BLOCK;
    assert!(q.len() >= blocks * BLOCK && d.len() >= blocks);
    for b in 0..blocks {
        let (bytes, scale, _) = quantize_block_avx512(&x[b * BLOCK..]);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), q.as_mut_ptr().add(b * BLOCK) as *mut i8, BLOCK);
        d[b] = scale;
    }
}

/// [`super::quantize_row_generic`] with AVX-512: same rounding (half away from zero),
/// same result.
///
/// # Safety
/// The CPU must support AVX-512 F; `x` holds whole blocks and `q`, `d`, `offset` fit them.
#[target_feature(enable = "avx512f")]
pub unsafe fn quantize_row_avx512(x: &[f32], q: &mut [i8], d: &mut [f32], offset: &mut [i32]) {
    let blocks = x.len() / BLOCK;
    assert!(q.len() >= blocks.div_ceil(SG_BLOCKS) * SG && d.len() >= blocks && offset.len() >= blocks);
    for b in 0..blocks {
        let (bytes, scale, sum) = quantize_block_avx512(&x[b * BLOCK..]);
        let (sg, lane) = (b / SG_BLOCKS, b % SG_BLOCKS);
        let base = q.as_mut_ptr().add(sg * SG + lane * 4);
        for (c, word) in bytes.chunks_exact(4).enumerate() {
            std::ptr::copy_nonoverlapping(word.as_ptr(), base.add(c * CHUNK), 4);
        }
        d[b] = scale;
        offset[b] = 8 * sum;
    }
}

/// Activation rows × weight rows of the VNNI microkernel.
const VNNI_MR: usize = 4;
const VNNI_NR: usize = 3;
/// Activation rows × weight rows of the AVX2 microkernel.
const AVX2_MR: usize = 2;
const AVX2_NR: usize = 2;

/// Calls `$f::<MR, NR>` for the runtime sizes `$mr ≤ $MR`, `$nr ≤ $NR` (edge tiles).
macro_rules! dispatch {
    ($f:ident, $mr:expr, $nr:expr, $args:tt) => {
        match ($mr, $nr) {
            (4, 3) => dispatch!(@call $f, 4, 3, $args),
            (4, 2) => dispatch!(@call $f, 4, 2, $args),
            (4, 1) => dispatch!(@call $f, 4, 1, $args),
            (3, 3) => dispatch!(@call $f, 3, 3, $args),
            (3, 2) => dispatch!(@call $f, 3, 2, $args),
            (3, 1) => dispatch!(@call $f, 3, 1, $args),
            (2, 3) => dispatch!(@call $f, 2, 3, $args),
            (2, 2) => dispatch!(@call $f, 2, 2, $args),
            (2, 1) => dispatch!(@call $f, 2, 1, $args),
            (1, 3) => dispatch!(@call $f, 1, 3, $args),
            (1, 2) => dispatch!(@call $f, 1, 2, $args),
            (1, 1) => dispatch!(@call $f, 1, 1, $args),
            _ => unreachable!("microkernel size"),
        }
    };
    (@call $f:ident, $a:literal, $b:literal, ($($arg:expr),*)) => { $f::<$a, $b>($($arg),*) };
}

/// # Safety
/// The CPU must support AVX-512 F/VNNI and FMA; see [`super::Kernel::tile`].
#[target_feature(enable = "avx2,fma,avx512f,avx512vnni")]
pub unsafe fn tile_vnni(w: &LaneMatrix, x: &QuantizedRows, rows: Range<usize>, acts: Range<usize>, bias: &[f32], out: *mut f32) {
    let mut r = rows.start;
    while r < rows.end {
        let nr = VNNI_NR.min(rows.end - r);
        let mut i = acts.start;
        while i < acts.end {
            let mr = VNNI_MR.min(acts.end - i);
            dispatch!(micro_vnni, mr, nr, (w, x, i, r, bias, out));
            i += mr;
        }
        r += nr;
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,avx512f,avx512vnni")]
#[allow(clippy::needless_range_loop)] // lane-indexed register arrays
unsafe fn micro_vnni<const MR: usize, const NR: usize>(
    w: &LaneMatrix,
    x: &QuantizedRows,
    i0: usize,
    r0: usize,
    bias: &[f32],
    out: *mut f32,
) {
    let sgs = w.sgs;
    let mut acc = [[_mm512_setzero_ps(); NR]; MR];
    for s in 0..sgs {
        let mut dot = [[_mm512_setzero_si512(); NR]; MR];
        let mut wp = [std::ptr::null::<u8>(); NR];
        for (j, p) in wp.iter_mut().enumerate() {
            *p = w.nibbles.as_ptr().add(((r0 + j) * sgs + s) * SG);
        }
        let mut xp = [std::ptr::null::<i8>(); MR];
        for (i, p) in xp.iter_mut().enumerate() {
            *p = x.q.as_ptr().add(((i0 + i) * sgs + s) * SG);
        }
        for c in 0..CHUNKS {
            let mut wv = [_mm512_setzero_si512(); NR];
            for j in 0..NR {
                wv[j] = _mm512_loadu_si512(wp[j].add(c * CHUNK) as *const _);
            }
            for i in 0..MR {
                let xv = _mm512_loadu_si512(xp[i].add(c * CHUNK) as *const _);
                for j in 0..NR {
                    dot[i][j] = _mm512_dpbusd_epi32(dot[i][j], wv[j], xv);
                }
            }
        }
        let mut ws = [_mm512_setzero_ps(); NR];
        for j in 0..NR {
            ws[j] = _mm512_loadu_ps(w.scales.as_ptr().add(((r0 + j) * sgs + s) * SG_BLOCKS));
        }
        for i in 0..MR {
            let k = ((i0 + i) * sgs + s) * SG_BLOCKS;
            let xd = _mm512_loadu_ps(x.d.as_ptr().add(k));
            let off = _mm512_loadu_si512(x.offset.as_ptr().add(k) as *const _);
            for j in 0..NR {
                let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot[i][j], off));
                acc[i][j] = _mm512_fmadd_ps(v, _mm512_mul_ps(ws[j], xd), acc[i][j]);
            }
        }
    }
    for i in 0..MR {
        for j in 0..NR {
            *out.add((i0 + i) * w.rows + r0 + j) = _mm512_reduce_add_ps(acc[i][j]) + bias[r0 + j];
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
/// The CPU must support AVX2 and FMA; see [`super::Kernel::tile`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn tile_avx2(w: &LaneMatrix, x: &QuantizedRows, rows: Range<usize>, acts: Range<usize>, bias: &[f32], out: *mut f32) {
    let mut r = rows.start;
    while r < rows.end {
        let nr = AVX2_NR.min(rows.end - r);
        let mut i = acts.start;
        while i < acts.end {
            let mr = AVX2_MR.min(acts.end - i);
            dispatch!(micro_avx2, mr, nr, (w, x, i, r, bias, out));
            i += mr;
        }
        r += nr;
    }
}

/// Each 512-byte supergroup is processed as two 256-bit halves (blocks 0..8 and 8..16).
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // lane-indexed register arrays
unsafe fn micro_avx2<const MR: usize, const NR: usize>(
    w: &LaneMatrix,
    x: &QuantizedRows,
    i0: usize,
    r0: usize,
    bias: &[f32],
    out: *mut f32,
) {
    let sgs = w.sgs;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); NR]; MR];
    for s in 0..sgs {
        for half in 0..2 {
            let mut dot = [[_mm256_setzero_si256(); NR]; MR];
            for c in 0..CHUNKS {
                let at = s * SG + c * CHUNK + 32 * half;
                let mut wv = [_mm256_setzero_si256(); NR];
                for j in 0..NR {
                    wv[j] = _mm256_loadu_si256(w.nibbles.as_ptr().add((r0 + j) * sgs * SG + at) as *const __m256i);
                }
                for i in 0..MR {
                    let xv = _mm256_loadu_si256(x.q.as_ptr().add((i0 + i) * sgs * SG + at) as *const __m256i);
                    for j in 0..NR {
                        // u8 (≤ 15) × i8 pairs summed to i16: at most 2·15·128, no saturation.
                        let p = _mm256_madd_epi16(_mm256_maddubs_epi16(wv[j], xv), ones);
                        dot[i][j] = _mm256_add_epi32(dot[i][j], p);
                    }
                }
            }
            for i in 0..MR {
                let k = ((i0 + i) * sgs + s) * SG_BLOCKS + 8 * half;
                let xd = _mm256_loadu_ps(x.d.as_ptr().add(k));
                let off = _mm256_loadu_si256(x.offset.as_ptr().add(k) as *const __m256i);
                for j in 0..NR {
                    let ws = _mm256_loadu_ps(w.scales.as_ptr().add(((r0 + j) * sgs + s) * SG_BLOCKS + 8 * half));
                    let v = _mm256_cvtepi32_ps(_mm256_sub_epi32(dot[i][j], off));
                    acc[i][j] = _mm256_fmadd_ps(v, _mm256_mul_ps(ws, xd), acc[i][j]);
                }
            }
        }
    }
    for i in 0..MR {
        for j in 0..NR {
            *out.add((i0 + i) * w.rows + r0 + j) = hsum(acc[i][j]) + bias[r0 + j];
        }
    }
}
