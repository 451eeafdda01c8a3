//! Weighted items shared by the clustering algorithms (average linkage, k-means,
//! silhouette): each item is the sum of its member unit vectors and the member count.

/// Weighted items: row sums of member unit vectors and member counts.
pub(crate) struct Items {
    /// Row-major sums of member unit vectors.
    pub sums: Vec<f32>,
    /// Member count per item.
    pub counts: Vec<u32>,
    /// Dimension.
    pub d: usize,
}

impl Items {
    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.sums[i * self.d..(i + 1) * self.d]
    }
}

/// Relabels to dense `0..k` in order of first appearance.
pub(crate) fn densify(labels: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    labels
        .iter()
        .map(|&l| {
            let next = map.len();
            *map.entry(l).or_insert(next)
        })
        .collect()
}
