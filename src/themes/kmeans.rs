//! Weighted spherical k-means (k-means++ seeding, seeded restarts) and helpers.
//!
//! Items carry the sum of their member unit vectors and a count, so the same code
//! clusters single paragraphs (count 1) and micro-clusters. Assignment runs in
//! parallel per item; centroid sums are accumulated sequentially in item order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::items::{densify, Items};
use super::vecmath::{add_into, dot, normalize};

/// Index and cosine of the nearest centroid row of `cents` to `x`.
pub(crate) fn nearest(cents: &[f32], d: usize, x: &[f32]) -> (usize, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (c, row) in cents.chunks_exact(d).enumerate() {
        let s = dot(row, x);
        if s > best.1 {
            best = (c, s);
        }
    }
    best
}

pub(crate) fn centroids_of(items: &Items, labels: &[usize], k: usize) -> Vec<f32> {
    let d = items.d;
    let mut cents = vec![0f32; k * d];
    for (i, &l) in labels.iter().enumerate() {
        add_into(&mut cents[l * d..(l + 1) * d], items.row(i));
    }
    for c in cents.chunks_exact_mut(d) {
        normalize(c);
    }
    cents
}

/// Up to `k` distinct indices of `0..n` in ascending order (all of them if `k >= n`).
pub(crate) fn sample_indices(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = rng.random_range(i..n);
        idx.swap(i, j);
    }
    let mut out = idx[..k].to_vec();
    out.sort_unstable();
    out
}

/// Weighted spherical k-means with `restarts` seeded k-means++ starts; returns the
/// labels and objective (Σ member cosine to centroid) of the best run.
pub(crate) fn kmeans_items(items: &Items, k: usize, seed: u64, restarts: usize, max_iter: usize) -> (Vec<usize>, f64) {
    let mut best: Option<(Vec<usize>, f64)> = None;
    for r in 0..restarts.max(1) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(r as u64 * 7919));
        let (labels, obj, _) = kmeans_once(items, k, &mut rng, max_iter);
        if best.as_ref().is_none_or(|b| obj > b.1 + 1e-9) {
            best = Some((labels, obj));
        }
    }
    let (labels, obj) = best.unwrap_or_else(|| (vec![0; items.len()], 0.0));
    (densify(&labels), obj)
}

pub(crate) fn kmeans_once(items: &Items, k: usize, rng: &mut ChaCha8Rng, max_iter: usize) -> (Vec<usize>, f64, Vec<f32>) {
    let (m, d) = (items.len(), items.d);
    let k = k.clamp(1, m.max(1));
    let dirs: Vec<f32> = {
        let mut v = items.sums.clone();
        for r in v.chunks_exact_mut(d) {
            normalize(r);
        }
        v
    };
    // k-means++ seeding weighted by count × cosine distance
    let mut cents = Vec::with_capacity(k * d);
    let total: f64 = items.counts.iter().map(|&c| c as f64).sum();
    let first = pick_weighted(&items.counts.iter().map(|&c| c as f64).collect::<Vec<_>>(), total, rng);
    cents.extend_from_slice(&dirs[first * d..(first + 1) * d]);
    let mut best_sim: Vec<f32> = dirs.par_chunks(d).map(|x| dot(x, &cents[0..d])).collect();
    for c in 1..k {
        let w: Vec<f64> = best_sim.iter().zip(&items.counts).map(|(&s, &n)| n as f64 * (1.0 - s as f64).max(0.0)).collect();
        let tot: f64 = w.iter().sum();
        let pick = if tot > 0.0 { pick_weighted(&w, tot, rng) } else { c % m };
        cents.extend_from_slice(&dirs[pick * d..(pick + 1) * d]);
        let new_c = &cents[c * d..(c + 1) * d];
        best_sim.par_iter_mut().zip(dirs.par_chunks(d)).for_each(|(b, x)| {
            let s = dot(x, new_c);
            if s > *b {
                *b = s;
            }
        });
    }
    let mut labels = vec![usize::MAX; m];
    let mut obj = 0f64;
    for _ in 0..max_iter.max(1) {
        let assign: Vec<(usize, f32)> = dirs.par_chunks(d).map(|x| nearest(&cents, d, x)).collect();
        let changed = assign.iter().zip(&labels).any(|(a, &l)| a.0 != l);
        labels = assign.iter().map(|a| a.0).collect();
        obj = assign.iter().zip(&items.counts).map(|(a, &n)| a.1 as f64 * n as f64).sum();
        if !changed {
            break;
        }
        // update, re-seeding empty clusters with the worst-fitting item
        let mut new_c = vec![0f32; k * d];
        let mut sizes = vec![0u32; k];
        for (i, &l) in labels.iter().enumerate() {
            add_into(&mut new_c[l * d..(l + 1) * d], items.row(i));
            sizes[l] += 1;
        }
        for c in 0..k {
            if sizes[c] == 0 {
                let worst = (0..m).filter(|&i| sizes[labels[i]] > 1).min_by(|&a, &b| assign[a].1.total_cmp(&assign[b].1).then(a.cmp(&b)));
                if let Some(w) = worst {
                    let old = labels[w];
                    sizes[old] -= 1;
                    for j in 0..d {
                        new_c[old * d + j] -= items.sums[w * d + j];
                    }
                    labels[w] = c;
                    sizes[c] = 1;
                    new_c[c * d..(c + 1) * d].copy_from_slice(items.row(w));
                }
            }
            normalize(&mut new_c[c * d..(c + 1) * d]);
        }
        cents = new_c;
    }
    (labels, obj, cents)
}

fn pick_weighted(w: &[f64], total: f64, rng: &mut ChaCha8Rng) -> usize {
    let mut r = rng.random::<f64>() * total;
    for (i, &x) in w.iter().enumerate() {
        if r < x {
            return i;
        }
        r -= x;
    }
    w.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}
