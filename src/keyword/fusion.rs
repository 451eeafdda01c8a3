//! Reciprocal-rank fusion (RRF) of a dense and a keyword ranking.
//!
//! An item at 1-based rank `r` in a list of weight `w` earns `w / (k + r)`; its fused score is
//! the sum over the lists that contain it (Cormack, Clarke & Büttcher, SIGIR 2009). Only ranks
//! count, so cosine similarities and BM25 scores need no calibration. `k` (default
//! [`DEFAULT_RRF_K`] = 60) damps the head: small `k` lets a first place dominate, large `k`
//! rewards agreement between the lists. Ties are broken deterministically: higher fused score,
//! then the better (smaller) best rank, then the smaller id.
//!
//! An item ranked first by both lists has the highest possible score whatever the weights, so
//! fusion never demotes a paragraph both rankings agree on.

use std::collections::HashMap;
use std::hash::Hash;

use super::KeywordError;

/// Default RRF constant `k`.
pub const DEFAULT_RRF_K: f64 = 60.0;
/// Largest accepted `k`.
pub const MAX_RRF_K: f64 = 10_000.0;
/// Largest accepted list weight.
pub const MAX_RRF_WEIGHT: f64 = 100.0;
/// Scale of the adaptive keyword weight: `ADAPTIVE_KEYWORD_SCALE × coverage²`.
pub const ADAPTIVE_KEYWORD_SCALE: f64 = 1.5;

/// Keyword weight of a HYBRID query whose glossary bridging fired and whose best keyword hit
/// holds a bridged phrase whole: the exact other-language term is the strongest evidence the
/// query has. Chosen on the tuning half of `tests/fixtures/crosslingual_queries.json` (`cargo
/// bench --bench crosslingual`): against the adaptive 1.5 it kept MRR@10 (1.000 / 0.865 vs
/// 1.000 / 0.862, English→Chinese / Chinese→English) and raised the share of the top 5 from
/// the policy's era (0.89 / 0.73 vs 0.86 / 0.67); 0.5 and 1.0 were worse on both.
pub const BRIDGED_KEYWORD_WEIGHT: f64 = 2.0;

/// The keyword ranking's weight for a query whose best keyword hit holds `coverage` (in
/// [0, 1]) of its terms ([`super::KeywordQuery::coverage`]): `1.5 × coverage²`. A query that is
/// an exact term, a name or a plan number (coverage 1) gives the keyword ranking weight 1.5, more
/// than the dense ranking's 1; a long question whose best keyword hit shares a few common words
/// (coverage 0.3) gives it 0.14, so those incidental matches barely move the dense ranking.
/// Chosen on the retrieval fixture (`cargo bench --bench retrieval -- modes`, where the sweep
/// prints fixed and adaptive weights side by side).
pub fn adaptive_keyword_weight(coverage: f64) -> f64 {
    let c = coverage.clamp(0.0, 1.0);
    ADAPTIVE_KEYWORD_SCALE * c * c
}

/// Fusion parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RrfParams {
    /// The constant `k` added to every rank; in [0, [`MAX_RRF_K`]]. Default 60.
    pub k: f64,
    /// Weight of the dense list; in [0, [`MAX_RRF_WEIGHT`]]. Default 1.
    pub dense_weight: f64,
    /// Weight of the keyword list; in [0, [`MAX_RRF_WEIGHT`]]. Default 1. Replaced by
    /// [`adaptive_keyword_weight`] when `adaptive_keyword_weight` is set.
    pub keyword_weight: f64,
    /// Derive the keyword weight from the query ([`adaptive_keyword_weight`]) instead of
    /// `keyword_weight`. Default true (the server sets it false when a request gives a weight).
    pub adaptive_keyword_weight: bool,
}

impl Default for RrfParams {
    fn default() -> Self {
        RrfParams { k: DEFAULT_RRF_K, dense_weight: 1.0, keyword_weight: 1.0, adaptive_keyword_weight: true }
    }
}

impl RrfParams {
    /// Checks the ranges; at least one weight must be positive.
    pub fn validate(&self) -> Result<(), KeywordError> {
        if !(self.k.is_finite() && (0.0..=MAX_RRF_K).contains(&self.k)) {
            return Err(KeywordError::InvalidArgument(format!("rrf k = {} is outside [0, {MAX_RRF_K}]", self.k)));
        }
        for (name, w) in [("dense_weight", self.dense_weight), ("keyword_weight", self.keyword_weight)] {
            if !(w.is_finite() && (0.0..=MAX_RRF_WEIGHT).contains(&w)) {
                return Err(KeywordError::InvalidArgument(format!("rrf {name} = {w} is outside [0, {MAX_RRF_WEIGHT}]")));
            }
        }
        if self.dense_weight == 0.0 && self.keyword_weight == 0.0 && !self.adaptive_keyword_weight {
            return Err(KeywordError::InvalidArgument("rrf weights are both 0; give at least one a positive weight".into()));
        }
        Ok(())
    }
}

/// One fused item with its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused<T> {
    /// The item.
    pub id: T,
    /// Fused RRF score.
    pub score: f64,
    /// 1-based rank in the dense list, if it was there.
    pub dense_rank: Option<u32>,
    /// 1-based rank in the keyword list, if it was there.
    pub keyword_rank: Option<u32>,
}

impl<T> Fused<T> {
    fn best_rank(&self) -> u32 {
        self.dense_rank.unwrap_or(u32::MAX).min(self.keyword_rank.unwrap_or(u32::MAX))
    }
}

/// Fuses two rankings (best first; a repeated item keeps its first rank) into one ranking of
/// every item of either list. Parameters are assumed validated ([`RrfParams::validate`]).
pub fn fuse_rrf<T: Clone + Eq + Hash + Ord>(dense: &[T], keyword: &[T], params: &RrfParams) -> Vec<Fused<T>> {
    let mut items: HashMap<T, Fused<T>> = HashMap::new();
    for (list, weight, is_dense) in [(dense, params.dense_weight, true), (keyword, params.keyword_weight, false)] {
        for (i, id) in list.iter().enumerate() {
            let rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let entry =
                items.entry(id.clone()).or_insert_with(|| Fused { id: id.clone(), score: 0.0, dense_rank: None, keyword_rank: None });
            let slot = if is_dense { &mut entry.dense_rank } else { &mut entry.keyword_rank };
            if slot.is_none() {
                *slot = Some(rank);
                entry.score += weight / (params.k + f64::from(rank));
            }
        }
    }
    let mut out: Vec<Fused<T>> = items.into_values().collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.best_rank().cmp(&b.best_rank())).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classic_example() {
        let fused = fuse_rrf(&[1, 2, 3], &[3, 4, 1], &RrfParams::default());
        let ids: Vec<i32> = fused.iter().map(|f| f.id).collect();
        // 1: 1/61 + 1/63, 3: 1/63 + 1/61 (tie, broken by best rank then id), 2: 1/62, 4: 1/62.
        assert_eq!(ids, [1, 3, 2, 4]);
        assert_eq!((fused[0].dense_rank, fused[0].keyword_rank), (Some(1), Some(3)));
        assert_eq!((fused[2].dense_rank, fused[2].keyword_rank), (Some(2), None));
        assert!((fused[0].score - (1.0 / 61.0 + 1.0 / 63.0)).abs() < 1e-12);
    }

    #[test]
    fn weights_and_duplicates() {
        let p = RrfParams { keyword_weight: 3.0, ..Default::default() };
        let fused = fuse_rrf(&[1, 2], &[2, 2, 5], &p);
        assert_eq!(fused[0].id, 2);
        assert_eq!(fused[0].keyword_rank, Some(1));
        assert_eq!(fused.len(), 3);
        let only_dense = RrfParams { keyword_weight: 0.0, ..Default::default() };
        assert_eq!(fuse_rrf(&[7, 8], &[8], &only_dense)[0].id, 7);
    }

    #[test]
    fn adaptive_weight_follows_coverage() {
        assert_eq!(adaptive_keyword_weight(1.0), 1.5);
        assert_eq!(adaptive_keyword_weight(0.0), 0.0);
        assert!(adaptive_keyword_weight(0.3) < 0.2);
        assert_eq!(adaptive_keyword_weight(7.0), 1.5, "clamped");
        assert!(adaptive_keyword_weight(0.5) < adaptive_keyword_weight(0.8));
    }

    #[test]
    fn validation() {
        assert!(RrfParams::default().validate().is_ok());
        for p in [
            RrfParams { k: -1.0, ..Default::default() },
            RrfParams { k: f64::NAN, ..Default::default() },
            RrfParams { dense_weight: -0.5, ..Default::default() },
            RrfParams { keyword_weight: f64::INFINITY, ..Default::default() },
            RrfParams { dense_weight: 0.0, keyword_weight: 0.0, adaptive_keyword_weight: false, ..Default::default() },
        ] {
            assert!(p.validate().unwrap_err().is_invalid_argument(), "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn agreed_first_stays_first(
            dense in proptest::collection::vec(0u16..50, 1..30),
            keyword in proptest::collection::vec(0u16..50, 0..30),
            k in 0.0f64..500.0,
            wd in 0.01f64..10.0,
            wk in 0.01f64..10.0,
        ) {
            let mut keyword = keyword;
            keyword.insert(0, dense[0]);
            let p = RrfParams { k, dense_weight: wd, keyword_weight: wk, adaptive_keyword_weight: false };
            let fused = fuse_rrf(&dense, &keyword, &p);
            prop_assert_eq!(fused[0].id, dense[0]);
            prop_assert_eq!(fuse_rrf(&dense, &keyword, &p), fused.clone());
            // Every item of either list appears exactly once.
            let mut all: Vec<u16> = dense.iter().chain(&keyword).copied().collect();
            all.sort();
            all.dedup();
            prop_assert_eq!(fused.len(), all.len());
        }
    }
}
