//! Element-wise activation functions of the encoder, shared by the quantised matmul kernels
//! (fused GELU epilogue) and the encoder itself.

/// `x ← 0.5·x·(1 + erf(x/√2))` with a rational approximation of erf (odd degree-13
/// numerator over degree-8 denominator in x, argument clamped to ±4; the minimax form
/// used by Eigen and XNNPACK, |error| < 1e-6 against libm, see the test), written as
/// branch-free arithmetic so the compiler vectorises it, unlike libm's `erff`.
pub(crate) fn gelu_erf_in_place(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            return unsafe { gelu_avx2(xs) };
        }
    }
    gelu_generic(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_avx2(xs: &mut [f32]) {
    gelu_generic(xs)
}

/// [`gelu_erf_in_place`] on the 16 lanes of a register, with the same operations in the same
/// order (so the same result to the bit), for kernels that apply it before storing.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn gelu_erf_avx512(v: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    let c = |f: f32| _mm512_set1_ps(f);
    let x = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, c(std::f32::consts::FRAC_1_SQRT_2)), c(-4.0)), c(4.0));
    let x2 = _mm512_mul_ps(x, x);
    let mut p = _mm512_fmadd_ps(x2, c(-2.726_142_3e-10), c(2.770_681_4e-8));
    for k in [-2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_6e-3, -1.609_603_3e-2] {
        p = _mm512_fmadd_ps(x2, p, c(k));
    }
    let mut q = _mm512_fmadd_ps(x2, c(-1.456_607_2e-5), c(-2.133_740_6e-4));
    for k in [-1.682_827e-3, -7.373_329_2e-3, -1.426_473_9e-2] {
        q = _mm512_fmadd_ps(x2, q, c(k));
    }
    let erf = _mm512_div_ps(_mm512_mul_ps(x, p), q);
    _mm512_mul_ps(_mm512_mul_ps(c(0.5), v), _mm512_add_ps(c(1.0), erf))
}

#[inline(always)]
fn gelu_generic(xs: &mut [f32]) {
    for v in xs.iter_mut() {
        let x = (*v * std::f32::consts::FRAC_1_SQRT_2).clamp(-4.0, 4.0);
        let x2 = x * x;
        let mut p = x2.mul_add(-2.726_142_3e-10, 2.770_681_4e-8);
        p = x2.mul_add(p, -2.101_024e-6);
        p = x2.mul_add(p, -5.692_506_4e-5);
        p = x2.mul_add(p, -7.349_906_3e-4);
        p = x2.mul_add(p, -2.954_6e-3);
        p = x2.mul_add(p, -1.609_603_3e-2);
        let mut q = x2.mul_add(-1.456_607_2e-5, -2.133_740_6e-4);
        q = x2.mul_add(q, -1.682_827e-3);
        q = x2.mul_add(q, -7.373_329_2e-3);
        q = x2.mul_add(q, -1.426_473_9e-2);
        let erf = x * p / q;
        *v = 0.5 * *v * (1.0 + erf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn fast_gelu_matches_the_erf_definition() {
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 / 500.0).collect();
        let mut got = xs.clone();
        gelu_erf_in_place(&mut got);
        let want: Vec<f32> = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap().gelu_erf().unwrap().to_vec1().unwrap();
        for ((x, g), w) in xs.iter().zip(&got).zip(&want) {
            assert!((g - w).abs() <= 2e-6 * x.abs().max(1.0), "gelu({x}) = {g}, want {w}");
        }
    }

    /// The register version gives the slice version's result to the bit, clamped tails and
    /// signed zeros included.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_gelu_equals_the_slice_gelu_bit_for_bit() {
        if !is_x86_feature_detected!("avx512f") {
            return;
        }
        let mut xs: Vec<f32> = (-5000..5000).map(|i| i as f32 / 700.0).collect();
        xs.extend([0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0]);
        xs.resize(xs.len().next_multiple_of(16), 0.5);
        let mut want = xs.clone();
        gelu_erf_in_place(&mut want);
        for (chunk, want) in xs.chunks_exact(16).zip(want.chunks_exact(16)) {
            let mut got = [0f32; 16];
            // SAFETY: AVX-512 F was detected; both pointers hold 16 floats.
            unsafe {
                use std::arch::x86_64::*;
                _mm512_storeu_ps(got.as_mut_ptr(), gelu_erf_avx512(_mm512_loadu_ps(chunk.as_ptr())));
            }
            for ((g, w), x) in got.iter().zip(want).zip(chunk) {
                assert_eq!(g.to_bits(), w.to_bits(), "gelu({x})");
            }
        }
    }
}
