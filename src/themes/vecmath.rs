//! Small deterministic vector helpers (fixed summation order).

use super::ThemesError;

/// Dot product with eight fixed accumulators (deterministic, auto-vectorisable).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Normalises `v` in place; returns false when its norm is zero or not finite.
pub(crate) fn normalize(v: &mut [f32]) -> bool {
    let n = dot(v, v).sqrt();
    if !n.is_finite() || n <= 1e-12 {
        return false;
    }
    for x in v.iter_mut() {
        *x /= n;
    }
    true
}

/// Adds `src` into `dst` element-wise.
#[inline]
pub(crate) fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}

/// Validates and flattens vectors into a row-major `n × d` matrix of unit rows.
pub(crate) fn flatten_unit(vectors: &[&[f32]]) -> Result<(Vec<f32>, usize), ThemesError> {
    let d = vectors.first().map(|v| v.len()).ok_or_else(|| ThemesError::InvalidArgument("no vectors".into()))?;
    if d == 0 {
        return Err(ThemesError::InvalidArgument("vectors have dimension 0".into()));
    }
    let mut data = Vec::with_capacity(vectors.len() * d);
    for (i, v) in vectors.iter().enumerate() {
        if v.len() != d {
            return Err(ThemesError::InvalidArgument(format!("vector {i} has dimension {} but the first has {d}", v.len())));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(ThemesError::InvalidArgument(format!("vector {i} contains NaN or infinity")));
        }
        let start = data.len();
        data.extend_from_slice(v);
        if !normalize(&mut data[start..]) {
            return Err(ThemesError::InvalidArgument(format!("vector {i} has zero norm")));
        }
    }
    Ok((data, d))
}

/// Subtracts the mean vector from every row and re-normalises the rows (in place).
///
/// Sentence-embedding spaces are anisotropic: all e5 vectors share a large common
/// component, so raw cosines bunch up (0.8–0.95) and the distances that separate themes are
/// small differences on top of it. Removing the corpus mean leaves the directions that
/// distinguish paragraphs, which clustering then sees at full contrast. The sum runs
/// sequentially in row order, so the result is deterministic.
pub(crate) fn center_rows(data: &mut [f32], d: usize) {
    if d == 0 || data.len() < 2 * d {
        return;
    }
    let n = data.len() / d;
    let mut mean = vec![0f32; d];
    for row in data.chunks_exact(d) {
        add_into(&mut mean, row);
    }
    mean.iter_mut().for_each(|m| *m /= n as f32);
    for row in data.chunks_exact_mut(d) {
        row.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m);
        if !normalize(row) {
            // A row equal to the mean has no direction of its own; keep it at the origin's
            // neighbourhood by giving it a tiny fixed direction instead of NaN.
            row[0] = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }

    #[test]
    fn flatten_rejects_bad_vectors() {
        assert!(flatten_unit(&[]).is_err());
        assert!(flatten_unit(&[&[f32::NAN, 1.0][..]]).is_err());
        assert!(flatten_unit(&[&[0.0, 0.0][..]]).is_err());
        assert!(flatten_unit(&[&[1.0, 0.0][..], &[1.0][..]]).is_err());
        let (d, dim) = flatten_unit(&[&[3.0, 4.0][..]]).unwrap();
        assert_eq!(dim, 2);
        assert!((d[0] - 0.6).abs() < 1e-6);
    }
}
