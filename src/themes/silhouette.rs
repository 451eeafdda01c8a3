//! Exact cosine silhouette of item partitions, evaluated on a seeded sample.
//!
//! For a paragraph `x` and cluster `C` with member-sum `S_C`, the mean cosine to
//! all members is `x·S_C / |C|`, so the silhouette needs only `x·S_item` for every
//! item: O(sample × items) per candidate partition.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::items::Items;
use super::kmeans::sample_indices;
use super::vecmath::dot;

/// Maximum number of paragraphs on which the silhouette is evaluated.
pub const SILHOUETTE_SAMPLE: usize = 1500;
/// Precomputed dot products between a seeded sample of paragraphs and all items,
/// used to evaluate the exact cosine silhouette of item partitions in O(sample × m).
pub(crate) struct SilhouetteData {
    /// sample × m matrix of `x_s · S_item`.
    p: Vec<f32>,
    /// item of each sample paragraph.
    item_of: Vec<usize>,
    m: usize,
}

impl SilhouetteData {
    pub(crate) fn new(data: &[f32], d: usize, items: &Items, of_point: &[usize], seed: u64) -> Self {
        let n = data.len() / d;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x51_1E77E);
        let idx = sample_indices(n, SILHOUETTE_SAMPLE, &mut rng);
        let m = items.len();
        let p: Vec<f32> = idx
            .par_iter()
            .flat_map_iter(|&i| {
                let x = &data[i * d..(i + 1) * d];
                (0..m).map(move |j| dot(x, items.row(j)))
            })
            .collect();
        SilhouetteData { p, item_of: idx.iter().map(|&i| of_point[i]).collect(), m }
    }

    /// Mean silhouette over the sample; paragraphs in clusters smaller than
    /// `min_size` count as 0, partitions with fewer than two valid clusters score -∞.
    pub(crate) fn score(&self, labels: &[usize], counts: &[u32], min_size: usize) -> f64 {
        let k = labels.iter().max().map_or(0, |x| x + 1);
        let mut sizes = vec![0f64; k];
        for (i, &l) in labels.iter().enumerate() {
            sizes[l] += counts[i] as f64;
        }
        let valid: Vec<bool> = sizes.iter().map(|&s| s >= min_size.max(2) as f64).collect();
        if valid.iter().filter(|&&v| v).count() < 2 {
            return f64::NEG_INFINITY;
        }
        let mut total = 0f64;
        let mut dots = vec![0f64; k];
        for (s, &own_item) in self.item_of.iter().enumerate() {
            let own = labels[own_item];
            if !valid[own] {
                continue;
            }
            dots.iter_mut().for_each(|x| *x = 0.0);
            let row = &self.p[s * self.m..(s + 1) * self.m];
            for (j, &v) in row.iter().enumerate() {
                dots[labels[j]] += v as f64;
            }
            let a = 1.0 - (dots[own] - 1.0) / (sizes[own] - 1.0);
            let mut b = f64::INFINITY;
            for c in 0..k {
                if c != own && valid[c] {
                    b = b.min(1.0 - dots[c] / sizes[c]);
                }
            }
            let den = a.max(b);
            if den > 0.0 {
                total += (b - a) / den;
            }
        }
        total / self.item_of.len().max(1) as f64
    }
}
