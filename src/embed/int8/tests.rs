//! Tests of the integer kernels: every kernel against the portable one and the f32 product.

use super::*;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

fn sample(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// Q4_0 bytes of a random `(rows × cols)` matrix and its dequantised values.
fn q4_matrix(rows: usize, cols: usize, seed: u32) -> (Vec<u8>, Vec<f32>) {
    let t = Tensor::from_vec(sample(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap();
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

/// Every kernel of this CPU agrees with the portable one (same integer arithmetic, so
/// only float rounding differs) and with the f32 product of the dequantised weights within
/// the error of 8-bit activations; shapes cover 1 and 7 rows, edge tiles in both
/// directions (16-row groups padded with zero rows, AVX2's half groups with no real row,
/// activation rows left over by every microkernel size, an odd block count).
#[test]
fn every_kernel_matches_portable_and_dequantised_f32_on_awkward_shapes() {
    let shapes =
        [(1, 32, 1), (7, 96, 5), (1, 384, 384), (7, 416, 70), (65, 1536, 50), (130, 384, 97), (4, 544, 3), (17, 160, 33), (33, 64, 16)];
    let kernels = Kernel::supported();
    assert_eq!(kernels.last(), Some(&Kernel::Scalar));
    assert_eq!(Kernel::detect(), kernels[0]);
    for (n, (m, cols, rows)) in shapes.into_iter().enumerate() {
        let (bytes, w) = q4_matrix(rows, cols, 7 + n as u32);
        let bias = sample(rows, 3);
        let x = sample(m * cols, 11 + m as u32);
        let want = reference(&x, m, &w, rows, cols, &bias);
        let portable = NibbleMatrix::from_q4_0_for(Kernel::Scalar, &bytes, rows, cols).unwrap().matmul(&x, m, &bias);
        let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
        for (g, e) in portable.iter().zip(&want) {
            assert!((g - e).abs() <= 0.01 * scale, "portable m={m} k={cols} n={rows}: {g} vs {e}");
        }
        for k in &kernels {
            let mat = NibbleMatrix::from_q4_0_for(*k, &bytes, rows, cols).unwrap();
            assert_eq!(mat.kernel(), *k);
            let got = mat.matmul(&x, m, &bias);
            assert_eq!(got.len(), m * rows);
            for (g, e) in got.iter().zip(&portable) {
                assert!((g - e).abs() <= 1e-4 * e.abs().max(1.0), "{k:?} m={m} k={cols} n={rows}: {g} vs {e}");
            }
        }
    }
}

#[test]
fn quantisation_is_the_same_on_every_path() {
    let cols = 544; // 17 blocks
    let mut x = sample(3 * cols, 21);
    x[5] = 0.0;
    x[32..64].iter_mut().for_each(|v| *v = 0.0); // an all-zero block
    x[100] = 2.5;
    x[200] = -2.5;
    let got = groups::quantize_unsigned(&x, 3, cols);
    assert_eq!((got.q.len(), got.d.len()), (3 * cols, 3 * cols / BLOCK));
    for (b, xb) in x.chunks_exact(BLOCK).enumerate() {
        let (want, scale) = groups::quantize_block_generic(xb.try_into().unwrap());
        assert_eq!(got.d[b], scale, "block {b}");
        let unsigned: Vec<u8> = want.iter().map(|&v| (v as i32 + 128) as u8).collect();
        assert_eq!(&got.q[b * BLOCK..(b + 1) * BLOCK], &unsigned[..], "block {b}");
        if b == 1 {
            assert!(want.iter().all(|&v| v == 0) && scale == 0.0, "the zero block");
        }
    }
    // the largest magnitude maps to ±127
    assert_eq!(got.q[100], 255);
    assert_eq!(got.q[200], 1);
}

#[test]
fn gelu_epilogue_equals_gelu_of_the_product_on_every_kernel() {
    let (rows, cols, m) = (50, 384, 9);
    let (bytes, _) = q4_matrix(rows, cols, 5);
    let (x, bias) = (sample(m * cols, 2), sample(rows, 4));
    for k in Kernel::supported() {
        let mat = NibbleMatrix::from_q4_0_for(k, &bytes, rows, cols).unwrap();
        let mut want = mat.matmul(&x, m, &bias);
        crate::embed::activation::gelu_erf_in_place(&mut want);
        assert_eq!(mat.matmul_gelu(&x, m, &bias), want, "{k:?}");
    }
}

#[test]
fn a_row_does_not_depend_on_its_neighbours_on_every_kernel() {
    let (rows, cols) = (100, 1536);
    let (bytes, _) = q4_matrix(rows, cols, 9);
    let bias = sample(rows, 1);
    let x = sample(70 * cols, 8);
    for k in Kernel::supported() {
        let mat = NibbleMatrix::from_q4_0_for(k, &bytes, rows, cols).unwrap();
        let all = mat.matmul(&x, 70, &bias);
        for i in [0, 3, 15, 16, 63, 64, 69] {
            let alone = mat.matmul(&x[i * cols..(i + 1) * cols], 1, &bias);
            assert_eq!(alone, all[i * rows..(i + 1) * rows], "{k:?} row {i}");
        }
    }
}

#[test]
fn empty_input_gives_empty_output_on_every_kernel() {
    let (bytes, _) = q4_matrix(4, 64, 1);
    for k in Kernel::supported() {
        let mat = NibbleMatrix::from_q4_0_for(k, &bytes, 4, 64).unwrap();
        assert!(mat.matmul(&[], 0, &[0.0; 4]).is_empty(), "{k:?}");
    }
}

#[test]
fn rejects_shapes_that_are_not_whole_blocks() {
    assert!(NibbleMatrix::from_q4_0(&[0; 18], 1, 30).is_none());
    assert!(NibbleMatrix::from_q4_0(&[0; 17], 1, 32).is_none());
    assert!(NibbleMatrix::from_q4_0(&[0; 18], 1, 32).is_some());
}
