//! External clustering quality measures: normalised mutual information and the
//! adjusted Rand index. Outliers should be passed as their own label value.

use std::collections::BTreeMap;

type Counts = BTreeMap<usize, f64>;

/// Contingency table of two labellings (sorted maps → deterministic sums).
fn contingency(a: &[usize], b: &[usize]) -> (BTreeMap<(usize, usize), f64>, Counts, Counts) {
    let mut joint = BTreeMap::new();
    let mut ma = BTreeMap::new();
    let mut mb = BTreeMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_insert(0.0) += 1.0;
        *ma.entry(x).or_insert(0.0) += 1.0;
        *mb.entry(y).or_insert(0.0) += 1.0;
    }
    (joint, ma, mb)
}

fn entropy(m: &Counts, n: f64) -> f64 {
    m.values().filter(|&&c| c > 0.0).map(|&c| -(c / n) * (c / n).ln()).sum()
}

/// Normalised mutual information with arithmetic-mean normalisation
/// (`2·I / (H(true) + H(pred))`, as scikit-learn's default).
///
/// Returns 1.0 when both labellings are single-cluster (or empty) and identical in
/// structure, and 0.0 when the slices differ in length.
pub fn nmi(labels_true: &[usize], labels_pred: &[usize]) -> f64 {
    if labels_true.len() != labels_pred.len() {
        return 0.0;
    }
    let n = labels_true.len() as f64;
    if labels_true.is_empty() {
        return 1.0;
    }
    let (joint, ma, mb) = contingency(labels_true, labels_pred);
    let (ha, hb) = (entropy(&ma, n), entropy(&mb, n));
    if ha == 0.0 && hb == 0.0 {
        return 1.0;
    }
    let mut mi = 0.0;
    for (&(x, y), &c) in &joint {
        let p = c / n;
        mi += p * (c * n / (ma[&x] * mb[&y])).ln();
    }
    let den = (ha + hb) / 2.0;
    if den <= 0.0 {
        return 0.0;
    }
    (mi / den).clamp(0.0, 1.0)
}

fn comb2(x: f64) -> f64 {
    x * (x - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert & Arabie). Returns 1.0 for identical partitions
/// (including the degenerate single-cluster case) and 0.0 for mismatched lengths.
pub fn ari(labels_true: &[usize], labels_pred: &[usize]) -> f64 {
    if labels_true.len() != labels_pred.len() {
        return 0.0;
    }
    let n = labels_true.len() as f64;
    if n < 2.0 {
        return 1.0;
    }
    let (joint, ma, mb) = contingency(labels_true, labels_pred);
    let sum_ij: f64 = joint.values().map(|&c| comb2(c)).sum();
    let sum_a: f64 = ma.values().map(|&c| comb2(c)).sum();
    let sum_b: f64 = mb.values().map(|&c| comb2(c)).sum();
    let expected = sum_a * sum_b / comb2(n);
    let max = (sum_a + sum_b) / 2.0;
    if (max - expected).abs() < 1e-12 {
        return if (sum_ij - expected).abs() < 1e-12 { 1.0 } else { 0.0 };
    }
    (sum_ij - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_and_permuted() {
        let a = [0, 0, 1, 1, 2, 2, 2];
        let b = [5, 5, 3, 3, 9, 9, 9];
        assert!((nmi(&a, &a) - 1.0).abs() < 1e-12);
        assert!((ari(&a, &a) - 1.0).abs() < 1e-12);
        assert!((nmi(&a, &b) - 1.0).abs() < 1e-12);
        assert!((ari(&a, &b) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn known_values() {
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714
        assert!((ari(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 0.571_428_571_4).abs() < 1e-9);
        // normalized_mutual_info_score([0,0,1,1],[0,0,1,2]) = 0.8
        assert!((nmi(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 0.8).abs() < 1e-9);
        // independent labellings
        assert!(nmi(&[0, 0, 1, 1], &[0, 1, 0, 1]).abs() < 1e-12);
        assert!(ari(&[0, 0, 1, 1], &[0, 1, 0, 1]) < 0.0);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(nmi(&[], &[]), 1.0);
        assert_eq!(ari(&[0], &[0]), 1.0);
        assert_eq!(nmi(&[0, 1], &[0]), 0.0);
        assert_eq!(ari(&[0, 0, 0], &[1, 1, 1]), 1.0);
        assert_eq!(nmi(&[0, 0, 0], &[1, 1, 1]), 1.0);
    }
}
