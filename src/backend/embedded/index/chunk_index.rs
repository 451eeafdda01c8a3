//! [`ChunkIndex`]: HNSW + exact search over chunk vectors with tombstones.

use std::collections::HashSet;

use super::graph::Graph;
use super::store::{dot, normalized, sort_hits, Shortlist, Store};
use super::{Hit, IndexError, IndexParams, EF_PER_K};

/// When a filter is estimated to accept less than this fraction of the live
/// points, [`ChunkIndex::search`] answers with exact search instead (a graph
/// walk under a very selective filter visits a large part of the graph anyway).
pub const SELECTIVE_FILTER_FRACTION: f64 = 0.10;
/// Number of live slots sampled to estimate a filter's selectivity.
const SELECTIVITY_SAMPLE: usize = 256;
/// `needs_compaction` triggers when tombstones exceed this fraction of all points.
pub const COMPACTION_TOMBSTONE_FRACTION: f64 = 0.20;

/// Store slots appended by [`ChunkIndex::stage`] and not yet linked into the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "staged slots must be linked into the graph"]
pub struct Staged {
    first: usize,
    end: usize,
}

impl Staged {
    /// The staged slots, in insertion order.
    pub fn slots(&self) -> std::ops::Range<usize> {
        self.first..self.end
    }
}

/// Nearest-neighbour index over L2-normalised chunk vectors.
///
/// Keeps a flat copy of every vector (for exact search and re-checks), a map
/// from caller ids (`u64`) to internal slots, a tombstone flag per slot and an
/// `hnsw_rs` graph over the slots. `Send + Sync`: searches take `&self` and
/// may run concurrently; mutations take `&mut self`, except linking staged
/// points into the graph ([`ChunkIndex::stage`], [`ChunkIndex::link`]).
pub struct ChunkIndex {
    pub(crate) params: IndexParams,
    pub(crate) store: Store,
    pub(crate) graph: Graph,
    /// True when the graph came from a persisted dump (not rebuilt) at load.
    pub(crate) graph_reloaded: bool,
    /// False for an index kept without a graph ([`ChunkIndex::without_graph`]): nothing is
    /// linked, and [`ChunkIndex::search`] answers through the shortlist.
    pub(crate) graph_enabled: bool,
}

impl std::fmt::Debug for ChunkIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkIndex")
            .field("dim", &self.store.dim)
            .field("params", &self.params)
            .field("live", &self.len())
            .field("tombstones", &self.tombstones())
            .finish()
    }
}

impl ChunkIndex {
    /// The stored (normalised) vector of a live id.
    pub fn vector_of(&self, id: u64) -> Option<&[f32]> {
        self.store.slot_of.get(&id).map(|&slot| self.store.vector(slot as usize))
    }

    /// Creates an empty index for vectors of dimension `dim` (e.g. 384).
    /// `params` are sanitised (see [`IndexParams::sanitized`]);
    /// `capacity_hint` is the expected number of vectors (pre-allocation only).
    pub fn new(dim: usize, params: IndexParams, capacity_hint: usize) -> Self {
        let params = params.sanitized();
        ChunkIndex {
            params,
            store: Store::new(dim, capacity_hint),
            graph: Graph::new(&params, capacity_hint),
            graph_reloaded: false,
            graph_enabled: true,
        }
    }

    /// An empty index that keeps no HNSW graph: insertions only store the vectors and their
    /// sign codes (tens of thousands per second instead of hundreds), and every search is
    /// exact or goes through the shortlist ([`ChunkIndex::shortlist_search`]). For the
    /// embedded backend's `--large-search shortlist`, where the graph would never be read.
    pub fn without_graph(dim: usize, params: IndexParams, capacity_hint: usize) -> Self {
        let params = params.sanitized();
        ChunkIndex {
            params,
            store: Store::new(dim, capacity_hint),
            graph: Graph::new(&params, 0),
            graph_reloaded: false,
            graph_enabled: false,
        }
    }

    /// True when this index keeps an HNSW graph.
    pub fn has_graph(&self) -> bool {
        self.graph_enabled
    }

    /// Inserts a batch of `(caller id, vector)`. Vectors are L2-normalised
    /// defensively. The batch is validated first and is all-or-nothing:
    /// a wrong length gives [`IndexError::DimensionMismatch`], NaN/inf or a zero
    /// vector [`IndexError::InvalidVector`], an id that is live or repeated in
    /// the batch [`IndexError::DuplicateId`]. A tombstoned id may be inserted
    /// again. Batches of 1,000 or more are inserted in parallel (rayon).
    pub fn insert(&mut self, items: &[(u64, &[f32])]) -> Result<(), IndexError> {
        let (ids, normed) = self.validated(items)?;
        self.insert_normalized(&ids, &normed);
        Ok(())
    }

    /// First half of an insertion that searches need not wait for: validates `items` like
    /// [`insert`](Self::insert) (all-or-nothing, same errors) and appends their vectors to the
    /// flat store (a copy, microseconds), but does not link them into the HNSW graph yet. Call
    /// [`link`](Self::link) with the returned slots under a shared borrow (a read lock)
    /// afterwards: until then exact search already finds the new points and graph search does
    /// not. A write that stages must link before the next stage, compaction or dump.
    pub fn stage(&mut self, items: &[(u64, &[f32])]) -> Result<Staged, IndexError> {
        let (ids, normed) = self.validated(items)?;
        Ok(self.push_normalized(&ids, &normed))
    }

    /// Appends validated, normalised vectors to the flat store only; returns their slots.
    fn push_normalized(&mut self, ids: &[u64], normed: &[f32]) -> Staged {
        let dim = self.store.dim;
        let first = self.store.slots();
        for (i, &id) in ids.iter().enumerate() {
            self.store.push(id, &normed[i * dim..(i + 1) * dim]);
        }
        Staged { first, end: self.store.slots() }
    }

    /// Second half of a staged insertion: links staged slots into the graph. Takes `&self`:
    /// `hnsw_rs` inserts concurrently with searches (its own locks per node), so a writer links
    /// under a read lock and searches go on meanwhile. Slots outside the store are ignored.
    pub fn link(&self, slots: std::ops::Range<usize>) {
        if !self.graph_enabled {
            return;
        }
        let store = &self.store;
        let batch: Vec<(&[f32], usize)> = slots.filter(|&s| s < store.slots()).map(|s| (store.vector(s), s)).collect();
        self.graph.insert_shared(&batch);
    }

    /// Validates a batch for insertion: `(ids, normalised vectors)`.
    fn validated(&self, items: &[(u64, &[f32])]) -> Result<(Vec<u64>, Vec<f32>), IndexError> {
        let dim = self.store.dim;
        let mut seen = HashSet::with_capacity(items.len());
        let mut normed = Vec::with_capacity(items.len().saturating_mul(dim));
        for &(id, v) in items {
            if self.store.slot_of.contains_key(&id) || !seen.insert(id) {
                return Err(IndexError::DuplicateId(id));
            }
            normed.extend_from_slice(&normalized(v, dim, Some(id))?);
        }
        if self.store.slots() + items.len() > u32::MAX as usize {
            return Err(IndexError::CapacityExceeded);
        }
        let ids: Vec<u64> = items.iter().map(|&(id, _)| id).collect();
        Ok((ids, normed))
    }

    /// Appends validated, normalised vectors (`normed.len() == ids.len() * dim`).
    pub(crate) fn insert_normalized(&mut self, ids: &[u64], normed: &[f32]) {
        let slots = self.push_normalized(ids, normed).slots();
        if !self.graph_enabled {
            return;
        }
        let store = &self.store;
        let batch: Vec<(&[f32], usize)> = slots.map(|s| (store.vector(s), s)).collect();
        self.graph.insert(&batch);
    }

    /// Tombstones the given caller ids (they are never returned again and
    /// no longer count in [`len`](Self::len)). Unknown or already dead ids are
    /// ignored. Returns how many ids were live.
    pub fn tombstone(&mut self, ids: &[u64]) -> usize {
        ids.iter().filter(|&&id| self.store.kill(id)).count()
    }

    /// Approximate top-`k` by cosine similarity using the HNSW graph
    /// (`ef = max(params.ef_search, k)`). Tombstoned ids are never returned;
    /// `filter` (called with caller ids) is passed to the graph walk *and*
    /// re-checked on every result. Scores are recomputed from the stored
    /// vectors. Sorted by score desc, then id asc. Falls back to
    /// [`exact_search`](Self::exact_search) when the filter accepts fewer than
    /// [`SELECTIVE_FILTER_FRACTION`] of a sample of live points, or when the
    /// graph returns fewer than `min(k, live)` acceptable hits.
    /// Errors on a query of the wrong dimension or with non-finite/zero values.
    pub fn search(&self, query: &[f32], k: usize, filter: Option<&(dyn Fn(u64) -> bool + Sync)>) -> Result<Vec<Hit>, IndexError> {
        let q = self.normalize_query(query)?;
        Ok(self.search_normalized(&q, k, filter, None))
    }

    /// Validates and normalises a query vector.
    pub(crate) fn normalize_query(&self, query: &[f32]) -> Result<Vec<f32>, IndexError> {
        normalized(query, self.store.dim, None)
    }

    /// HNSW search for a normalised query. `graph_filter` overrides the filter
    /// handed to the graph walk (tests use it to simulate hnsw_rs returning
    /// rejected points); results are always re-checked against `filter`.
    pub(crate) fn search_normalized(
        &self,
        q: &[f32],
        k: usize,
        filter: Option<&(dyn Fn(u64) -> bool + Sync)>,
        graph_filter: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Vec<Hit> {
        let store = &self.store;
        if k == 0 || store.live() == 0 {
            return Vec::new();
        }
        if !self.graph_enabled {
            return store.shortlist_search(q, k, filter, Shortlist::default());
        }
        if let Some(f) = filter {
            if self.estimate_selectivity(f) < SELECTIVE_FILTER_FRACTION {
                return store.exact(q, k, filter);
            }
        }
        let ef = self.params.ef_search.max(k.saturating_mul(EF_PER_K));
        let accept = |slot: usize| -> bool { store.is_live(slot) && filter.is_none_or(|f| f(store.ids[slot])) };
        let walk_filter = graph_filter.or(filter);
        let walk = |slot: usize| -> bool { store.is_live(slot) && walk_filter.is_none_or(|f| f(store.ids[slot])) };
        let walk_opt: Option<&(dyn Fn(usize) -> bool + Sync)> = if walk_filter.is_some() || store.n_dead > 0 { Some(&walk) } else { None };
        // Ask for `ef` results (not `k`): re-checking may drop some.
        let found = self.graph.search(q, ef, ef, walk_opt);
        let mut hits: Vec<Hit> = Vec::with_capacity(found.len());
        let mut seen = HashSet::with_capacity(found.len());
        for n in found {
            let slot = n.get_origin_id();
            if slot < store.slots() && accept(slot) && seen.insert(slot) {
                hits.push(Hit { id: store.ids[slot], score: dot(q, store.vector(slot)) });
            }
        }
        sort_hits(&mut hits, k);
        if hits.len() < k.min(store.live()) {
            return store.exact(q, k, filter);
        }
        hits
    }

    /// Top-`k` by sign-code shortlist and float rescoring (see `quantized`): at least 50,000
    /// live vectors are compared by their 1-bit codes, the nearest `size` of them (widened
    /// until that many pass `filter`; [`Shortlist::default`]: 0.5 %, at least 100 per result)
    /// are scored exactly. Below 50,000 live
    /// vectors it is [`exact_search`](Self::exact_search). Approximate above that: recall is
    /// measured by `benches/million.rs`. Same ordering and errors as [`search`](Self::search).
    pub fn shortlist_search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&(dyn Fn(u64) -> bool + Sync)>,
        size: Shortlist,
    ) -> Result<Vec<Hit>, IndexError> {
        let q = normalized(query, self.store.dim, None)?;
        Ok(self.store.shortlist_search(&q, k, filter, size))
    }

    /// Exact top-`k` by brute force over all live vectors (rayon above ~16k
    /// points), restricted to ids accepted by `filter`. Same ordering and
    /// errors as [`search`](Self::search).
    pub fn exact_search(&self, query: &[f32], k: usize, filter: Option<&(dyn Fn(u64) -> bool + Sync)>) -> Result<Vec<Hit>, IndexError> {
        let q = normalized(query, self.store.dim, None)?;
        Ok(self.store.exact(&q, k, filter))
    }

    /// Fraction of a deterministic sample of live slots accepted by `f`.
    fn estimate_selectivity(&self, f: &(dyn Fn(u64) -> bool + Sync)) -> f64 {
        let n = self.store.slots();
        let step = (n / SELECTIVITY_SAMPLE).max(1);
        let (mut live, mut pass) = (0usize, 0usize);
        for slot in (0..n).step_by(step) {
            if self.store.is_live(slot) {
                live += 1;
                if f(self.store.ids[slot]) {
                    pass += 1;
                }
            }
        }
        if live == 0 {
            0.0
        } else {
            pass as f64 / live as f64
        }
    }

    /// Number of live (non-tombstoned) vectors.
    pub fn len(&self) -> usize {
        self.store.live()
    }

    /// True when there are no live vectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of tombstoned vectors still held (until [`compacted`](Self::compacted)).
    pub fn tombstones(&self) -> usize {
        self.store.n_dead
    }

    /// True when `id` is live.
    pub fn contains(&self, id: u64) -> bool {
        self.store.slot_of.contains_key(&id)
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.store.dim
    }

    /// Parameters in use (sanitised).
    pub fn params(&self) -> &IndexParams {
        &self.params
    }

    /// Changes `ef_search` (query-time only; no rebuild needed). Minimum 1.
    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.params.ef_search = ef_search.max(1);
    }

    /// True when tombstones exceed [`COMPACTION_TOMBSTONE_FRACTION`] (20 %)
    /// of all stored points.
    pub fn needs_compaction(&self) -> bool {
        let total = self.store.slots();
        total > 0 && self.store.n_dead as f64 > COMPACTION_TOMBSTONE_FRACTION * total as f64
    }

    /// A new index with the same dimension and parameters holding only the
    /// live points (fresh graph, no tombstones). Ids and vectors are unchanged.
    pub fn compacted(&self) -> ChunkIndex {
        let live = self.store.live();
        let mut out = if self.graph_enabled {
            ChunkIndex::new(self.store.dim, self.params, live)
        } else {
            ChunkIndex::without_graph(self.store.dim, self.params, live)
        };
        let mut ids = Vec::with_capacity(live);
        let mut data = Vec::with_capacity(live * self.store.dim);
        for slot in 0..self.store.slots() {
            if self.store.is_live(slot) {
                ids.push(self.store.ids[slot]);
                data.extend_from_slice(self.store.vector(slot));
            }
        }
        out.insert_normalized(&ids, &data);
        out
    }

    /// True when the last [`load`](Self::load) reused the persisted HNSW
    /// graph; false for fresh indexes and when the graph had to be rebuilt.
    pub fn graph_was_reloaded(&self) -> bool {
        self.graph_reloaded
    }
}

#[cfg(test)]
#[path = "chunk_index_tests.rs"]
mod tests;
