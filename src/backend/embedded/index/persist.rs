//! Saving and loading a [`ChunkIndex`].
//!
//! Layout of the index directory:
//! ```text
//! <dir>/CURRENT              name of the live generation, replaced atomically (rename)
//! <dir>/gen-<nanos>-<pid>/   one complete generation:
//!     manifest.json          format version, fingerprint, params, dim, counts, graph basename
//!     vectors.f32            slots * dim little-endian f32 (normalised)
//!     ids.u64                slots little-endian u64 caller ids
//!     dead.u8                slots bytes, 1 = tombstoned
//!     graph.hnsw.graph/.data hnsw_rs dump of the graph (absent when empty)
//! ```
//! A generation is fully written and fsynced before `CURRENT` points to it,
//! so a crash during `save` leaves the previous generation readable.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::chunk_index::ChunkIndex;
use super::graph::Graph;
use super::store::Store;
use super::{IndexError, IndexParams};

/// Bumped whenever the on-disk layout changes; older dumps load as stale (`None`).
const FORMAT_VERSION: u32 = 1;
const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";
const VECTORS: &str = "vectors.f32";
const IDS: &str = "ids.u64";
const DEAD: &str = "dead.u8";
const GRAPH_BASENAME: &str = "graph";
const GEN_PREFIX: &str = "gen-";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format_version: u32,
    fingerprint: String,
    params: IndexParams,
    dim: usize,
    slots: usize,
    tombstones: usize,
    /// `None` when no graph was dumped (empty index).
    graph_basename: Option<String>,
    saved_unix_ms: u128,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io { path: path.to_path_buf(), source }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> IndexError {
    IndexError::Corrupt { path: path.to_path_buf(), reason: reason.into() }
}

/// Writes `bytes` produced chunk-wise by `fill` to `path` and fsyncs it.
fn write_file(path: &Path, mut fill: impl FnMut(&mut dyn Write) -> std::io::Result<()>) -> Result<(), IndexError> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    fill(&mut w).map_err(io_err(path))?;
    let file = w.into_inner().map_err(|e| IndexError::Io { path: path.to_path_buf(), source: e.into_error() })?;
    file.sync_all().map_err(io_err(path))
}

fn write_le<const N: usize, T: Copy>(w: &mut dyn Write, items: &[T], enc: impl Fn(T) -> [u8; N]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(N * 16_384);
    for chunk in items.chunks(16_384) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&enc(x));
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Reads a whole file whose length must be `count * N` bytes and decodes it.
fn read_le<const N: usize, T>(path: &Path, dir: &Path, count: usize, dec: impl Fn([u8; N]) -> T) -> Result<Vec<T>, IndexError> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    if len != (count as u64).saturating_mul(N as u64) {
        return Err(corrupt(dir, format!("{} has {len} bytes, expected {}", path.display(), count * N)));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    BufReader::new(file).read_to_end(&mut bytes).map_err(io_err(path))?;
    Ok(bytes.chunks_exact(N).map(|c| dec(c.try_into().expect("chunk of N bytes"))).collect())
}

/// Reads `count` little-endian `f32` straight into their vector: one allocation the size of the
/// file (the vectors of a million chunks are 1.5 GB; decoding through a byte buffer first
/// doubled the memory touched, and page faults dominated the start).
fn read_f32_le(path: &Path, dir: &Path, count: usize) -> Result<Vec<f32>, IndexError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    if len != (count as u64).saturating_mul(4) {
        return Err(corrupt(dir, format!("{} has {len} bytes, expected {}", path.display(), count * 4)));
    }
    let mut out = vec![0f32; count];
    file.read_exact(bytemuck::cast_slice_mut::<f32, u8>(&mut out)).map_err(io_err(path))?;
    if cfg!(target_endian = "big") {
        out.iter_mut().for_each(|x| *x = f32::from_le_bytes(x.to_ne_bytes()));
    }
    Ok(out)
}

fn sync_dir(dir: &Path) {
    // Best effort: directory fsync is not supported on every platform.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl ChunkIndex {
    /// Saves the index into `dir` (created if needed): vectors, id map,
    /// tombstones, params, `fingerprint` (any caller string, e.g. model id +
    /// chunking config + data version) and the HNSW graph. Atomic: a new
    /// generation directory is written and fsynced, then `dir/CURRENT` is
    /// switched by rename; older generations are removed afterwards.
    /// Not safe against two processes saving into the same `dir` concurrently.
    pub fn save(&self, dir: &Path, fingerprint: &str) -> Result<(), IndexError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let gen = format!("{GEN_PREFIX}{nanos}-{}", std::process::id());
        let gen_dir = dir.join(&gen);
        fs::create_dir(&gen_dir).map_err(io_err(&gen_dir))?;
        let result = self.write_generation(&gen_dir, fingerprint).and_then(|()| {
            sync_dir(&gen_dir);
            let tmp = dir.join(format!("{CURRENT}.tmp-{}", std::process::id()));
            write_file(&tmp, |w| w.write_all(gen.as_bytes()))?;
            let cur = dir.join(CURRENT);
            fs::rename(&tmp, &cur).map_err(io_err(&cur))?;
            sync_dir(dir);
            Ok(())
        });
        if result.is_err() {
            let _ = fs::remove_dir_all(&gen_dir);
            return result;
        }
        // Remove superseded generations (and leftovers of crashed saves).
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(GEN_PREFIX) && name != gen {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    fn write_generation(&self, gen_dir: &Path, fingerprint: &str) -> Result<(), IndexError> {
        let s = &self.store;
        write_file(&gen_dir.join(VECTORS), |w| write_le(w, &s.data, f32::to_le_bytes))?;
        write_file(&gen_dir.join(IDS), |w| write_le(w, &s.ids, u64::to_le_bytes))?;
        write_file(&gen_dir.join(DEAD), |w| write_le(w, &s.dead, |d| [d as u8]))?;
        let graph_basename = if self.graph.len() > 0 {
            let name = self.graph.dump(gen_dir, GRAPH_BASENAME).map_err(IndexError::Hnsw)?;
            for ext in ["hnsw.graph", "hnsw.data"] {
                if let Ok(f) = File::open(gen_dir.join(format!("{name}.{ext}"))) {
                    let _ = f.sync_all();
                }
            }
            Some(name)
        } else {
            None
        };
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            fingerprint: fingerprint.to_string(),
            params: self.params,
            dim: s.dim,
            slots: s.slots(),
            tombstones: s.n_dead,
            graph_basename,
            saved_unix_ms: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
        };
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| IndexError::Hnsw(e.to_string()))?;
        write_file(&gen_dir.join(MANIFEST), |w| w.write_all(&json))
    }

    /// Loads an index saved by [`save`](Self::save).
    ///
    /// Returns `Ok(None)` when `dir` or its `CURRENT` file is missing, or the
    /// saved index is stale: other format version or fingerprint different
    /// from `expected_fingerprint` (include the model name, dimension and
    /// HNSW params in the fingerprint, or use [`load_matching`](Self::load_matching)).
    /// The caller then rebuilds. Inconsistent files give
    /// [`IndexError::Corrupt`] (treat as "log and rebuild"). If only the
    /// graph dump is unreadable, the graph is rebuilt from the stored vectors
    /// (see [`graph_was_reloaded`](Self::graph_was_reloaded)).
    pub fn load(dir: &Path, expected_fingerprint: &str) -> Result<Option<ChunkIndex>, IndexError> {
        load_impl(dir, expected_fingerprint, None, true)
    }

    /// Like [`load`](Self::load), with `graph` false for an index kept without a graph
    /// ([`ChunkIndex::without_graph`]): a dumped graph is not read, none is rebuilt. With
    /// `graph` true a dump saved without one has its graph built from the stored vectors.
    pub fn load_with_graph(dir: &Path, expected_fingerprint: &str, graph: bool) -> Result<Option<ChunkIndex>, IndexError> {
        load_impl(dir, expected_fingerprint, None, graph)
    }

    /// Like [`load`](Self::load), and additionally returns `Ok(None)` when the
    /// saved `m`/`ef_construction` differ from `params`; the loaded index uses
    /// `params.ef_search`.
    pub fn load_matching(dir: &Path, expected_fingerprint: &str, params: &IndexParams) -> Result<Option<ChunkIndex>, IndexError> {
        load_impl(dir, expected_fingerprint, Some(params), true)
    }
}

fn load_impl(dir: &Path, fingerprint: &str, want: Option<&IndexParams>, graph: bool) -> Result<Option<ChunkIndex>, IndexError> {
    let cur = dir.join(CURRENT);
    let gen = match fs::read_to_string(&cur) {
        Ok(s) => s.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IndexError::Io { path: cur, source: e }),
    };
    if !gen.starts_with(GEN_PREFIX) || gen.contains(['/', '\\']) || gen.contains("..") {
        return Err(corrupt(dir, format!("bad generation name {gen:?} in CURRENT")));
    }
    let gen_dir: PathBuf = dir.join(&gen);
    let mpath = gen_dir.join(MANIFEST);
    let mbytes = fs::read(&mpath).map_err(io_err(&mpath))?;
    let m: Manifest = match serde_json::from_slice(&mbytes) {
        Ok(m) => m,
        Err(e) => {
            // A manifest from another format version may not parse: stale, not corrupt.
            let v: Option<u64> =
                serde_json::from_slice::<serde_json::Value>(&mbytes).ok().and_then(|j| j.get("format_version").and_then(|x| x.as_u64()));
            if v.is_some_and(|v| v != u64::from(FORMAT_VERSION)) {
                return Ok(None);
            }
            return Err(corrupt(&gen_dir, format!("manifest: {e}")));
        }
    };
    if m.format_version != FORMAT_VERSION || m.fingerprint != fingerprint {
        return Ok(None);
    }
    if want.is_some_and(|p| !p.graph_compatible(&m.params)) {
        return Ok(None);
    }
    if m.slots > u32::MAX as usize || m.dim == 0 && m.slots > 0 {
        return Err(corrupt(&gen_dir, "bad sizes in manifest"));
    }
    let n_floats = m.slots.checked_mul(m.dim).ok_or_else(|| corrupt(&gen_dir, "size overflow"))?;
    let mut store = Store::new(m.dim, 0);
    store.data = read_f32_le(&gen_dir.join(VECTORS), &gen_dir, n_floats)?;
    store.ids = read_le(&gen_dir.join(IDS), &gen_dir, m.slots, u64::from_le_bytes)?;
    store.dead = read_le(&gen_dir.join(DEAD), &gen_dir, m.slots, |[b]: [u8; 1]| b != 0)?;
    store.rebuild_map().map_err(|id| corrupt(&gen_dir, format!("id {id} live twice")))?;
    if store.n_dead != m.tombstones {
        return Err(corrupt(&gen_dir, "tombstone count differs from manifest"));
    }
    if store.data.iter().any(|x| !x.is_finite()) {
        return Err(corrupt(&gen_dir, "non-finite vector component"));
    }
    let mut params = m.params.sanitized();
    if let Some(p) = want {
        params.ef_search = p.sanitized().ef_search;
    }
    if !graph {
        let graph = Graph::new(&params, 0);
        return Ok(Some(ChunkIndex { params, store, graph, graph_reloaded: false, graph_enabled: false }));
    }
    let reloaded = match &m.graph_basename {
        Some(name) if !name.contains(['/', '\\']) => match Graph::load(&gen_dir, name) {
            Ok(g) if g.len() == m.slots => Some(g),
            other => {
                let why = other.err().unwrap_or_else(|| "it holds another number of vectors".into());
                tracing::warn!(
                    "the HNSW graph dump in {} could not be reloaded ({why}; a dump of an older simtheme, most often); \
                     rebuilding the graph from the {} stored vectors, nothing is lost",
                    gen_dir.display(),
                    m.slots
                );
                None
            }
        },
        _ => None,
    };
    let graph_reloaded = reloaded.is_some();
    let graph = match reloaded {
        Some(g) => g,
        None => {
            // Rebuild from the stored vectors (also the path for empty indexes).
            let mut g = Graph::new(&params, m.slots);
            let batch: Vec<(&[f32], usize)> = (0..store.slots()).map(|s| (store.vector(s), s)).collect();
            if !batch.is_empty() {
                g.insert(&batch);
            }
            g
        }
    };
    Ok(Some(ChunkIndex { params, store, graph, graph_reloaded, graph_enabled: true }))
}
