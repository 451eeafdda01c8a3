//! Clustering of unit vectors: micro-cluster reduction, average-linkage
//! agglomerative clustering (nearest-neighbour chain), spherical k-means and
//! silhouette-based selection of the number of clusters.
//!
//! Items are *weighted groups*: each item keeps the exact sum of its member unit
//! vectors and the member count. Because the mean cosine similarity between every
//! pair of two groups `A`, `B` equals `S_A·S_B / (|A||B|)`, average linkage over
//! items reproduces exact average linkage over the underlying paragraphs, except
//! that members of one micro-cluster are never separated.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::items::{densify, Items};
use super::kmeans::{centroids_of, kmeans_items, kmeans_once, nearest, sample_indices};
use super::silhouette::SilhouetteData;
use super::vecmath::{add_into, dot};
use super::{Method, Selection, ThemesError};

/// Inputs up to this size are clustered exactly (one item per paragraph);
/// larger inputs are first reduced to [`MICRO_CLUSTERS`] k-means micro-clusters.
pub const EXACT_MAX: usize = 1500;
/// Number of micro-clusters used for inputs larger than [`EXACT_MAX`].
pub const MICRO_CLUSTERS: usize = 256;
/// Maximum number of paragraphs used to fit the micro-clusters (the rest are assigned).
pub const MICRO_FIT_SAMPLE: usize = 8000;
pub use super::silhouette::SILHOUETTE_SAMPLE;
/// Upper bound on the number of clusters tried by [`Selection::Silhouette`].
pub const MAX_AUTO_THEMES: usize = 40;
/// [`Selection::RelativeThreshold`] cuts the average-linkage dendrogram at this
/// fraction of the corpus' mean pairwise cosine distance.
pub const AUTO_REL_THRESHOLD: f64 = 0.9;

/// Clusters `n` unit rows of `data` (row-major, dimension `d`); returns a raw cluster
/// label per row (labels are dense `0..k`). Small clusters are *not* removed here.
pub(crate) fn cluster_points(
    data: &[f32],
    d: usize,
    method: Method,
    selection: Selection,
    target: Option<usize>,
    min_size: usize,
    seed: u64,
) -> Result<Vec<usize>, ThemesError> {
    let n = data.len() / d;
    if n == 0 {
        return Err(ThemesError::InvalidArgument("no paragraphs".into()));
    }
    if let Some(k) = target {
        if k == 0 || k > n {
            return Err(ThemesError::InvalidArgument(format!("target_themes {k} must be in 1..={n}")));
        }
    }
    // 1. reduction to items
    let (items, of_point) = if n <= EXACT_MAX {
        (Items { sums: data.to_vec(), counts: vec![1; n], d }, (0..n).collect::<Vec<_>>())
    } else {
        let m = MICRO_CLUSTERS.max(target.unwrap_or(0) * 2).min(n);
        micro_reduce(data, d, m, seed)
    };
    let m = items.len();
    if let Some(k) = target {
        if k > m {
            return Err(ThemesError::InvalidArgument(format!("target_themes {k} exceeds {m} clusterable groups")));
        }
    }
    let merges = if method == Method::Agglomerative || (target.is_none() && selection == Selection::RelativeThreshold) {
        average_linkage(&items)
    } else {
        Vec::new()
    };
    let partition = |k: usize| -> Vec<usize> {
        match method {
            Method::Agglomerative => cut(&merges, m, k),
            Method::KMeans => kmeans_items(&items, k, seed ^ (k as u64).wrapping_mul(0x9E37_79B9), 4, 50).0,
        }
    };
    let item_labels: Vec<usize> = match (target, selection) {
        (Some(k), _) => partition(k),
        _ if m < 2 => vec![0; m],
        (None, Selection::RelativeThreshold) => {
            let tau = AUTO_REL_THRESHOLD * mean_pairwise_distance(&items);
            let by_threshold = cut_at(&merges, m, tau as f32);
            match method {
                Method::Agglomerative => by_threshold,
                Method::KMeans => {
                    let k = big_clusters(&by_threshold, &items.counts, min_size).clamp(2, m);
                    partition(k)
                }
            }
        }
        (None, Selection::Silhouette) => {
            let kmax = MAX_AUTO_THEMES.min(n / min_size.max(1)).max(2).min(m);
            let sil = SilhouetteData::new(data, d, &items, &of_point, seed);
            let mut best: Option<(f64, Vec<usize>)> = None;
            for k in 2..=kmax {
                let labels = partition(k);
                let s = sil.score(&labels, &items.counts, min_size);
                if best.as_ref().is_none_or(|b| s > b.0 + 1e-9) {
                    best = Some((s, labels));
                }
            }
            best.map(|b| b.1).unwrap_or_else(|| vec![0; m])
        }
    };
    let mut labels: Vec<usize> = of_point.iter().map(|&it| item_labels[it]).collect();
    if method == Method::KMeans && m < n {
        // final exact k-means assignment of every paragraph to the nearest centroid
        let k = item_labels.iter().max().map_or(1, |x| x + 1);
        let cents = centroids_of(&items, &item_labels, k);
        labels = data.par_chunks(d).map(|x| nearest(&cents, d, x).0).collect();
        labels = densify(&labels);
    }
    Ok(labels)
}

/// Seeded spherical k-means reduction of the paragraphs into `m` micro-clusters.
fn micro_reduce(data: &[f32], d: usize, m: usize, seed: u64) -> (Items, Vec<usize>) {
    let n = data.len() / d;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_0001);
    let fit_idx = sample_indices(n, MICRO_FIT_SAMPLE.max(m), &mut rng);
    let mut fit = Vec::with_capacity(fit_idx.len() * d);
    for &i in &fit_idx {
        fit.extend_from_slice(&data[i * d..(i + 1) * d]);
    }
    let fit_items = Items { counts: vec![1; fit_idx.len()], sums: fit, d };
    let (_, _, cents) = kmeans_once(&fit_items, m, &mut rng, 12);
    let of_point: Vec<usize> = data.par_chunks(d).map(|x| nearest(&cents, d, x).0).collect();
    let of_point = densify(&of_point);
    let k = of_point.iter().max().map_or(0, |x| x + 1);
    let mut sums = vec![0f32; k * d];
    let mut counts = vec![0u32; k];
    for (i, &c) in of_point.iter().enumerate() {
        add_into(&mut sums[c * d..(c + 1) * d], &data[i * d..(i + 1) * d]);
        counts[c] += 1;
    }
    (Items { sums, counts, d }, of_point)
}

/// One merge of the dendrogram: slots `keep` and `drop` joined at `dist`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Merge {
    keep: usize,
    drop: usize,
    dist: f32,
}

/// Average-linkage (UPGMA) clustering of weighted items by the nearest-neighbour
/// chain algorithm on a dense distance matrix; O(m²) memory and time.
pub(crate) fn average_linkage(items: &Items) -> Vec<Merge> {
    let m = items.len();
    if m < 2 {
        return Vec::new();
    }
    let counts: Vec<f64> = items.counts.iter().map(|&c| c as f64).collect();
    let mut dist: Vec<f32> = (0..m)
        .into_par_iter()
        .flat_map_iter(|i| {
            let ri = items.row(i);
            let ci = counts[i];
            let counts = &counts;
            (0..m).map(move |j| (1.0 - dot(ri, items.row(j)) as f64 / (ci * counts[j])) as f32)
        })
        .collect();
    let mut size = counts;
    let mut active = vec![true; m];
    let mut remaining = m;
    let mut chain: Vec<usize> = Vec::with_capacity(m);
    let mut merges = Vec::with_capacity(m - 1);
    while remaining > 1 {
        if chain.is_empty() {
            chain.push(active.iter().position(|&a| a).unwrap_or(0));
        }
        loop {
            let a = chain[chain.len() - 1];
            let prev = if chain.len() >= 2 { Some(chain[chain.len() - 2]) } else { None };
            let mut best = prev;
            let mut best_d = prev.map_or(f32::INFINITY, |p| dist[a * m + p]);
            for j in 0..m {
                if j != a && active[j] {
                    let dj = dist[a * m + j];
                    if dj < best_d {
                        best_d = dj;
                        best = Some(j);
                    }
                }
            }
            let Some(b) = best else {
                // no other active slot (cannot happen while remaining > 1)
                return merges;
            };
            if Some(b) == prev {
                chain.pop();
                chain.pop();
                let (keep, drop) = (a.min(b), a.max(b));
                let (wk, wd) = (size[keep], size[drop]);
                for j in 0..m {
                    if active[j] && j != keep && j != drop {
                        let nd = ((wk * dist[keep * m + j] as f64 + wd * dist[drop * m + j] as f64) / (wk + wd)) as f32;
                        dist[keep * m + j] = nd;
                        dist[j * m + keep] = nd;
                    }
                }
                active[drop] = false;
                size[keep] = wk + wd;
                remaining -= 1;
                merges.push(Merge { keep, drop, dist: best_d });
                break;
            }
            chain.push(b);
        }
    }
    merges
}

/// Mean cosine distance over all pairs of distinct paragraphs, computed exactly
/// from the item sums: `1 - (|ΣS|² - n) / (n (n - 1))`.
pub(crate) fn mean_pairwise_distance(items: &Items) -> f64 {
    let mut total = vec![0f64; items.d];
    let mut n = 0f64;
    for i in 0..items.len() {
        for (t, &x) in total.iter_mut().zip(items.row(i)) {
            *t += x as f64;
        }
        n += items.counts[i] as f64;
    }
    if n < 2.0 {
        return 0.0;
    }
    let sq: f64 = total.iter().map(|x| x * x).sum();
    1.0 - (sq - n) / (n * (n - 1.0))
}

/// Number of clusters holding at least `min_size` paragraphs.
fn big_clusters(labels: &[usize], counts: &[u32], min_size: usize) -> usize {
    let k = labels.iter().max().map_or(0, |x| x + 1);
    let mut sizes = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        sizes[l] += counts[i] as usize;
    }
    sizes.iter().filter(|&&s| s >= min_size).count()
}

/// Cuts the dendrogram at distance `tau` (merges with distance ≤ `tau` applied).
pub(crate) fn cut_at(merges: &[Merge], m: usize, tau: f32) -> Vec<usize> {
    let below = merges.iter().filter(|mg| mg.dist <= tau).count();
    cut(merges, m, m - below)
}

/// Cuts the dendrogram into `k` clusters; returns dense labels per item.
pub(crate) fn cut(merges: &[Merge], m: usize, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..merges.len()).collect();
    order.sort_by(|&a, &b| merges[a].dist.total_cmp(&merges[b].dist).then(a.cmp(&b)));
    let mut parent: Vec<usize> = (0..m).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let apply = m.saturating_sub(k.max(1)).min(merges.len());
    for &oi in order.iter().take(apply) {
        let (a, b) = (find(&mut parent, merges[oi].keep), find(&mut parent, merges[oi].drop));
        if a != b {
            parent[b.max(a)] = a.min(b);
        }
    }
    let roots: Vec<usize> = (0..m).map(|i| find(&mut parent, i)).collect();
    densify(&roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::testutil::blobs;

    #[test]
    fn agglomerative_recovers_blobs() {
        let (data, d, truth) = blobs(4, 20, 16, 0.15, 1);
        let labels = cluster_points(&data, d, Method::Agglomerative, Selection::default(), None, 3, 7).unwrap();
        assert!(crate::themes::metrics::ari(&truth, &labels) > 0.95);
    }

    #[test]
    fn kmeans_recovers_blobs_with_target() {
        let (data, d, truth) = blobs(5, 15, 16, 0.15, 2);
        let labels = cluster_points(&data, d, Method::KMeans, Selection::default(), Some(5), 3, 7).unwrap();
        assert!(crate::themes::metrics::ari(&truth, &labels) > 0.95);
    }

    #[test]
    fn micro_mode_recovers_blobs() {
        let (data, d, truth) = blobs(6, 260, 16, 0.2, 3);
        for method in [Method::Agglomerative, Method::KMeans] {
            let sels = [Selection::RelativeThreshold];
            for sel in sels {
                let labels = cluster_points(&data, d, method, sel, None, 3, 7).unwrap();
                assert!(crate::themes::metrics::nmi(&truth, &labels) > 0.9, "{method:?} {sel:?}");
                let again = cluster_points(&data, d, method, sel, None, 3, 7).unwrap();
                assert_eq!(labels, again, "determinism {method:?} {sel:?}");
            }
        }
    }

    #[test]
    fn silhouette_selection_recovers_blobs() {
        let (data, d, truth) = blobs(4, 20, 16, 0.15, 6);
        for method in [Method::Agglomerative, Method::KMeans] {
            let labels = cluster_points(&data, d, method, Selection::Silhouette, None, 3, 7).unwrap();
            assert!(crate::themes::metrics::ari(&truth, &labels) > 0.95, "{method:?}");
        }
    }

    #[test]
    fn cut_counts() {
        let (data, d, _) = blobs(3, 5, 8, 0.1, 4);
        let items = Items { sums: data.clone(), counts: vec![1; data.len() / d], d };
        let merges = average_linkage(&items);
        assert_eq!(merges.len(), 14);
        for k in 1..=15 {
            let l = cut(&merges, 15, k);
            assert_eq!(l.iter().max().unwrap() + 1, k);
        }
    }

    #[test]
    fn rejects_bad_k() {
        let (data, d, _) = blobs(2, 3, 8, 0.1, 5);
        assert!(cluster_points(&data, d, Method::KMeans, Selection::default(), Some(7), 1, 1).is_err());
        assert!(cluster_points(&data, d, Method::KMeans, Selection::default(), Some(0), 1, 1).is_err());
    }
}
