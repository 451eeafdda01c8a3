//! Thin wrapper around the `hnsw_rs` graph: construction, insertion, filtered
//! search, dump and reload (owning the `HnswIo` loader the reloaded graph borrows).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::NonNull;

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::{Hnsw, Neighbour};
use hnsw_rs::hnswio::HnswIo;

use super::store::dot;
use super::IndexParams;

/// Batches at least this large are inserted with `parallel_insert_slice`.
pub(crate) const PARALLEL_INSERT_MIN: usize = 1_000;
/// Maximum number of layers handed to `hnsw_rs` (its own cap is 16).
const MAX_LAYERS: usize = 16;

/// Cosine distance for unit vectors: `1 - dot`, clamped to `>= 0` because
/// `hnsw_rs` asserts non-negative distances (rounding can make `dot` exceed 1).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnitCosine;

impl Distance<f32> for UnitCosine {
    #[inline]
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        let d = 1.0 - dot(va, vb);
        if d > 0.0 {
            d
        } else {
            0.0
        }
    }
}

/// Owns the heap-allocated `HnswIo` a reloaded graph may borrow from.
/// Freed in `Drop`; declared after the graph in [`Graph`] so it outlives it.
struct LoaderGuard(NonNull<HnswIo>);

// SAFETY: the guard only owns a `HnswIo` (paths, options, optional mmap, an
// `Arc<AtomicUsize>`), which is itself Send + Sync; the pointer is never
// dereferenced mutably after the graph is loaded.
unsafe impl Send for LoaderGuard {}
unsafe impl Sync for LoaderGuard {}

impl Drop for LoaderGuard {
    fn drop(&mut self) {
        // SAFETY: the pointer comes from `Box::into_raw` in `Graph::load` and is
        // freed exactly once, here, after `Graph::hnsw` (declared first) is dropped.
        unsafe { drop(Box::from_raw(self.0.as_ptr())) };
    }
}

/// The HNSW graph over slots (`hnsw_rs` data id == slot).
pub(crate) struct Graph {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    /// Must stay declared after `hnsw` (fields drop in declaration order).
    _loader: Option<LoaderGuard>,
}

impl Graph {
    /// Empty graph sized for `capacity_hint` points.
    pub fn new(params: &IndexParams, capacity_hint: usize) -> Self {
        let p = params.sanitized();
        let mut hnsw = Hnsw::new(p.m, capacity_hint.max(1024), MAX_LAYERS, p.ef_construction, UnitCosine);
        hnsw.set_searching_mode(true);
        Graph { hnsw, _loader: None }
    }

    /// Number of points in the graph (tombstoned included).
    pub fn len(&self) -> usize {
        self.hnsw.get_nb_point()
    }

    /// Inserts `(vector, slot)` pairs; parallel for large batches.
    pub fn insert(&mut self, items: &[(&[f32], usize)]) {
        if items.len() >= PARALLEL_INSERT_MIN {
            self.hnsw.set_searching_mode(false);
            self.hnsw.parallel_insert_slice(&items.to_vec());
        } else {
            self.insert_shared(items);
        }
        // Required after parallel_insert before searching; harmless otherwise.
        self.hnsw.set_searching_mode(true);
    }

    /// Inserts `(vector, slot)` pairs one by one through a shared borrow: `hnsw_rs` locks
    /// per node, so searches may run at the same time.
    pub fn insert_shared(&self, items: &[(&[f32], usize)]) {
        for &(v, slot) in items {
            self.hnsw.insert_slice((v, slot));
        }
    }

    /// Up to `knbn` nearest slots, restricted by `filter` when given. Results
    /// may still contain rejected slots (hnsw_rs issue #27); callers re-check.
    pub fn search(&self, q: &[f32], knbn: usize, ef: usize, filter: Option<&(dyn Fn(usize) -> bool + Sync)>) -> Vec<Neighbour> {
        match filter {
            None => self.hnsw.search(q, knbn, ef),
            Some(f) => {
                let adapter = |id: &usize| f(*id);
                self.hnsw.search_filter(q, knbn, ef, Some(&adapter))
            }
        }
    }

    /// Dumps the graph (and hnsw_rs's own copy of the data) into `dir` as
    /// `<basename>.hnsw.graph` / `<basename>.hnsw.data`; returns the basename used.
    pub fn dump(&self, dir: &Path, basename: &str) -> Result<String, String> {
        match catch_unwind(AssertUnwindSafe(|| self.hnsw.file_dump(dir, basename))) {
            Ok(Ok(name)) => Ok(name),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("hnsw_rs panicked while dumping".to_string()),
        }
    }

    /// Reloads a dump written by [`Graph::dump`]. Returns `Err` (never panics)
    /// if the files are missing or unreadable.
    pub fn load(dir: &Path, basename: &str) -> Result<Self, String> {
        let io = Box::new(HnswIo::new(dir, basename));
        let ptr = NonNull::from(Box::leak(io));
        let guard = LoaderGuard(ptr);
        // SAFETY: `ptr` stays valid until `guard` is dropped, and the returned
        // `Graph` keeps `guard` alive for at least as long as the graph that
        // borrows from it (field order). The loader is only accessed shared.
        let io_ref: &'static HnswIo = unsafe { &*ptr.as_ptr() };
        let res = catch_unwind(AssertUnwindSafe(|| io_ref.load_hnsw_with_dist::<f32, UnitCosine>(UnitCosine)));
        match res {
            Ok(Ok(mut hnsw)) => {
                hnsw.set_searching_mode(true);
                Ok(Graph { hnsw, _loader: Some(guard) })
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("hnsw_rs panicked while reloading".to_string()),
        }
    }
}

// ChunkIndex must be Send + Sync; fail the build if hnsw_rs ever changes that.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Graph>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_cosine_is_never_negative() {
        let v = [0.6f32, 0.8];
        assert_eq!(UnitCosine.eval(&v, &v), 0.0);
        let w = [1.0000001f32, 0.0];
        assert!(UnitCosine.eval(&w, &w) >= 0.0);
        assert!((UnitCosine.eval(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn load_missing_dump_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Graph::load(dir.path(), "nothing").is_err());
    }
}
