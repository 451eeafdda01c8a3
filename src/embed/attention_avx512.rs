//! AVX-512 kernel of one attention head of size 32 (BERT-small): explicit intrinsics, as
//! the compiler did not keep the 4 × 32 running sums of the value pass in registers.

use std::arch::x86_64::*;

/// Query rows processed together.
const ROWS: usize = 4;
/// Head size of this kernel.
pub const HD: usize = 32;

/// `e^x` on 16 lanes for `x ≤ 0`: Cody–Waite reduction `x = n·ln 2 + f`, a degree-6
/// polynomial for `e^f` and `vscalefps` for the `2^n` factor (relative error below 2e-7).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn exp16(x: __m512) -> __m512 {
    let x = _mm512_max_ps(x, _mm512_set1_ps(-87.0));
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
        x,
        _mm512_set1_ps(std::f32::consts::LOG2_E),
    ));
    let f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let f = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), f);
    let mut p = _mm512_set1_ps(1.0 / 720.0);
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c));
    }
    _mm512_scalef_ps(p, n)
}

/// Context rows of all `n` tokens of the sequence starting at token `at` for head `head`,
/// into `out` (`n × 32`). `qkv` rows are `3·hidden` wide (queries | keys | values).
///
/// # Safety
/// The CPU must support AVX-512 F; `hidden ≥ 32·(head + 1)`, `qkv` holds rows `at..at + n`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::needless_range_loop)] // lane-indexed register arrays
pub unsafe fn attend_head(qkv: &[f32], at: usize, n: usize, head: usize, hidden: usize, out: &mut [f32]) {
    assert!(n > 0 && qkv.len() >= (at + n) * 3 * hidden && out.len() >= n * HD && hidden >= HD * (head + 1));
    let stride = 3 * hidden;
    let padded = n.div_ceil(16) * 16;
    // Keys transposed (32 × padded, zero beyond n) and values (n × 32).
    let mut kt = vec![0f32; HD * padded];
    let mut v = vec![0f32; n * HD];
    for j in 0..n {
        let row = &qkv[(at + j) * stride..(at + j + 1) * stride];
        for d in 0..HD {
            kt[d * padded + j] = row[hidden + head * HD + d];
        }
        v[j * HD..(j + 1) * HD].copy_from_slice(&row[2 * hidden + head * HD..2 * hidden + (head + 1) * HD]);
    }
    let scale = 1.0 / (HD as f32).sqrt();
    let mut scores = vec![0f32; ROWS * padded];
    let mut q = [[0f32; HD]; ROWS];
    let tail = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut i = 0;
    while i < n {
        let rows = ROWS.min(n - i);
        for (r, qr) in q.iter_mut().enumerate() {
            let src = &qkv[(at + i + r.min(rows - 1)) * stride + head * HD..][..HD];
            for (qd, s) in qr.iter_mut().zip(src) {
                *qd = s * scale;
            }
        }
        // Scores: 4 rows × 16 keys per pass, keys streamed from the transposed copy.
        let sp = scores.as_mut_ptr();
        for jc in (0..padded).step_by(16) {
            let mut acc = [_mm512_setzero_ps(); ROWS];
            for d in 0..HD {
                let k = _mm512_loadu_ps(kt.as_ptr().add(d * padded + jc));
                for r in 0..ROWS {
                    acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r][d]), k, acc[r]);
                }
            }
            // Keys beyond n get -inf so they vanish from the softmax.
            let valid: __mmask16 = if jc + 16 <= n { 0xffff } else { ((1u32 << (n - jc)) - 1) as __mmask16 };
            for (r, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(sp.add(r * padded + jc), _mm512_mask_blend_ps(valid, tail, *a));
            }
        }
        // Softmax numerators and their sums.
        let mut inv = [0f32; ROWS];
        for (r, inv) in inv.iter_mut().enumerate() {
            let row = sp.add(r * padded);
            let mut m = tail;
            for jc in (0..padded).step_by(16) {
                m = _mm512_max_ps(m, _mm512_loadu_ps(row.add(jc)));
            }
            let m = _mm512_set1_ps(_mm512_reduce_max_ps(m));
            let mut sum = _mm512_setzero_ps();
            for jc in (0..padded).step_by(16) {
                let e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row.add(jc)), m));
                let e = _mm512_maskz_mov_ps(if jc + 16 <= n { 0xffff } else { ((1u32 << (n - jc)) - 1) as __mmask16 }, e);
                _mm512_storeu_ps(row.add(jc), e);
                sum = _mm512_add_ps(sum, e);
            }
            *inv = 1.0 / _mm512_reduce_add_ps(sum);
        }
        // Weighted values: 4 rows × 32 sums in 8 registers while the values stream by.
        let mut o = [[_mm512_setzero_ps(); 2]; ROWS];
        for j in 0..n {
            let v0 = _mm512_loadu_ps(v.as_ptr().add(j * HD));
            let v1 = _mm512_loadu_ps(v.as_ptr().add(j * HD + 16));
            for r in 0..ROWS {
                let p = _mm512_set1_ps(*sp.add(r * padded + j));
                o[r][0] = _mm512_fmadd_ps(p, v0, o[r][0]);
                o[r][1] = _mm512_fmadd_ps(p, v1, o[r][1]);
            }
        }
        for r in 0..rows {
            let s = _mm512_set1_ps(inv[r]);
            let dst = out.as_mut_ptr().add((i + r) * HD);
            _mm512_storeu_ps(dst, _mm512_mul_ps(o[r][0], s));
            _mm512_storeu_ps(dst.add(16), _mm512_mul_ps(o[r][1], s));
        }
        i += rows;
    }
}
