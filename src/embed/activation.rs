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
}
