//! Approximate nearest-neighbour index over chunk embeddings.
//!
//! [`ChunkIndex`] keeps every chunk vector (L2-normalised `f32`, typically
//! dimension 384 for multilingual-e5-small) in a flat array together with an
//! HNSW graph built with `hnsw_rs`. Similarity is cosine similarity, computed as
//! a plain dot product of unit vectors; [`Hit::score`] is in `[-1, 1]`, higher is
//! better.
//!
//! * [`ChunkIndex::search`] walks the HNSW graph, re-checks every candidate
//!   (tombstones, caller filter) against the index's own copy of the vectors and
//!   falls back to [`ChunkIndex::exact_search`] when a filter is very selective
//!   or the graph returns too few hits.
//! * Deletion is by tombstone (`hnsw_rs` cannot delete points);
//!   [`ChunkIndex::compacted`] rebuilds without the dead points.
//! * [`ChunkIndex::save`] / [`ChunkIndex::load`] persist vectors, ids,
//!   tombstones, parameters, a caller fingerprint and the HNSW graph itself.
//!
//! Caller ids are arbitrary `u64`; internally each inserted vector gets a dense
//! *slot* (its position in the flat array), which is also the `hnsw_rs` data id.

mod chunk_index;
mod graph;
mod persist;
mod quantized;
#[cfg(test)]
mod shortlist_tests;
mod store;

pub use chunk_index::{ChunkIndex, Staged, COMPACTION_TOMBSTONE_FRACTION, SELECTIVE_FILTER_FRACTION};
pub(crate) use store::dot;
pub use store::{Shortlist, SHORTLIST_FROM_LIVE};

use serde::{Deserialize, Serialize};

/// Errors returned by the index. Bad input never panics; it yields one of these.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A vector (inserted item or query) does not have the index dimension.
    #[error("dimension mismatch: index has dimension {expected}, got a vector of length {got}")]
    DimensionMismatch {
        /// Dimension of the index.
        expected: usize,
        /// Length of the offending vector.
        got: usize,
    },
    /// A vector contains NaN/infinite values or has zero norm.
    #[error("invalid vector{}: {reason}", id.map(|i| format!(" for id {i}")).unwrap_or_default())]
    InvalidVector {
        /// Caller id of the offending item, `None` for a query.
        id: Option<u64>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The id is already live in the index (or repeated inside one batch).
    #[error("duplicate id {0}: already present in the index or repeated in the batch")]
    DuplicateId(u64),
    /// The batch would exceed the maximum number of slots (`u32::MAX`).
    #[error("index capacity exceeded")]
    CapacityExceeded,
    /// Filesystem error while saving or loading.
    #[error("index i/o error on {path}: {source}")]
    Io {
        /// File or directory concerned.
        path: std::path::PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Persisted files exist but are inconsistent or unreadable.
    #[error("corrupt index files in {path}: {reason}")]
    Corrupt {
        /// Directory concerned.
        path: std::path::PathBuf,
        /// Description of the problem.
        reason: String,
    },
    /// The HNSW library reported an error (e.g. while dumping the graph).
    #[error("hnsw error: {0}")]
    Hnsw(String),
}

/// HNSW parameters (part of the service configuration). Serde-(de)serialisable;
/// missing fields take their defaults ([`DEFAULT_M`], [`DEFAULT_EF_CONSTRUCTION`],
/// [`DEFAULT_EF_SEARCH`]).
///
/// How the defaults were chosen (`benches/index_recall.rs`, release build,
/// 100,000 unit vectors of dimension 384, k = 10, recall@10 against exact
/// search, 500 queries, one thread per query, quiet 2-core machine):
///
/// * Uniform random 384-d vectors are the worst case for HNSW (no low-dimensional
///   structure). With `M = 32`, `ef_construction = 200` (build 465 s): recall@10
///   0.41 / 0.93 / 0.992 / 0.998 at `ef_search` 64 / 1024 / 2048 / 3072, i.e.
///   191 / 17 / 12 / 9 queries/s, while exact search answered 198 queries/s with
///   100 % recall. On such data at this size, use exact search.
/// * Clustered data (`SIMTHEME_BENCH_DATA=clustered`: 1,000 Gaussian clusters,
///   cosine ~0.8 to the centre), same parameters (build 342 s): recall@10 0.75 /
///   0.96 / 0.992 / 0.9996 at `ef_search` 64 / 512 / 1024 / 2048, i.e. 407 / 46 /
///   32 / 16 queries/s; exact 272 queries/s.
///
/// Hence `ef_search` defaults to 1024, the smallest swept value meeting the
/// recall@10 ≥ 0.99 target on clustered data. At ~100k vectors exact search
/// is faster *and* exact; HNSW pays off only for much larger indexes or when
/// lower recall is acceptable (lower `ef_search` via
/// [`ChunkIndex::set_ef_search`]: 64 gives ~0.75 recall at ~13× the speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexParams {
    /// Maximum number of links per node (`M`, a count) on layers ≥ 1; `hnsw_rs`
    /// keeps `2 * M` on layer 0. Default [`DEFAULT_M`] = 32. Larger `M` helps
    /// high-dimensional data but costs memory (~`2 * M` links per vector) and
    /// build time (roughly linear in `M`). Changing it requires a rebuild.
    /// Clamped to `2..=255` by [`ChunkIndex::new`] (`hnsw_rs` aborts above 256).
    pub m: usize,
    /// Candidate list size (a count) while inserting. Default
    /// [`DEFAULT_EF_CONSTRUCTION`] = 200. Higher gives a better graph and
    /// proportionally slower inserts; changing it requires a rebuild.
    pub ef_construction: usize,
    /// Candidate list size (a count) while searching (`ef`). Default
    /// [`DEFAULT_EF_SEARCH`]. Adaptive: the effective value is
    /// `max(ef_search, EF_PER_K * k)` so large `k` keep enough candidates for
    /// the tombstone/filter re-check. Query time grows about linearly with it.
    /// Only affects queries, so it may differ between a saved index and the
    /// configuration that loads it (see [`ChunkIndex::set_ef_search`]).
    pub ef_search: usize,
}

/// Default [`IndexParams::m`]: 32 links per node (64 on layer 0).
pub const DEFAULT_M: usize = 32;
/// Default [`IndexParams::ef_construction`]: 200 candidates.
pub const DEFAULT_EF_CONSTRUCTION: usize = 200;
/// Default [`IndexParams::ef_search`]: 1024 candidates (see [`IndexParams`]).
pub const DEFAULT_EF_SEARCH: usize = 1024;
/// Lower bound of the effective search list size per requested hit: a search
/// for `k` hits uses `ef = max(ef_search, EF_PER_K * k)`.
pub const EF_PER_K: usize = 4;

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams { m: DEFAULT_M, ef_construction: DEFAULT_EF_CONSTRUCTION, ef_search: DEFAULT_EF_SEARCH }
    }
}

impl IndexParams {
    /// Returns the parameters with `m` clamped to `2..=255` and
    /// `ef_construction`/`ef_search` raised to at least 1.
    pub fn sanitized(self) -> Self {
        IndexParams { m: self.m.clamp(2, 255), ef_construction: self.ef_construction.max(1), ef_search: self.ef_search.max(1) }
    }

    /// True when a graph built with `self` can serve `other`: same `m` and
    /// `ef_construction` (after sanitising); `ef_search` is free to differ.
    pub fn graph_compatible(&self, other: &IndexParams) -> bool {
        let (a, b) = (self.sanitized(), other.sanitized());
        a.m == b.m && a.ef_construction == b.ef_construction
    }
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Caller id of the chunk.
    pub id: u64,
    /// Cosine similarity to the query (`1 - cosine distance`), in `[-1, 1]`;
    /// higher is more similar.
    pub score: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_defaults_and_serde() {
        let p: IndexParams = serde_json::from_str("{\"ef_search\": 100}").unwrap();
        assert_eq!(p.m, DEFAULT_M);
        assert_eq!(p.ef_construction, DEFAULT_EF_CONSTRUCTION);
        assert_eq!(p.ef_search, 100);
        let back: IndexParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let s = IndexParams { m: 1000, ef_construction: 0, ef_search: 0 }.sanitized();
        assert_eq!((s.m, s.ef_construction, s.ef_search), (255, 1, 1));
        assert!(p.graph_compatible(&IndexParams::default()));
        assert!(!p.graph_compatible(&IndexParams { m: DEFAULT_M + 1, ..p }));
    }

    #[test]
    fn errors_display() {
        let e = IndexError::InvalidVector { id: Some(7), reason: "zero norm" };
        assert_eq!(e.to_string(), "invalid vector for id 7: zero norm");
        let e = IndexError::DimensionMismatch { expected: 384, got: 3 };
        assert!(e.to_string().contains("384"));
    }
}
