//! Which backend holds the corpus and how to reach it: the part of the configuration that
//! [`super::open`] needs. `crate::config::Config` holds one [`BackendConfig`].

use std::path::PathBuf;

use super::embedded::index::IndexParams;
use super::qdrant::QdrantSettings;

/// Settings of the embedded backend (SQLite + in-process hnsw_rs in a data directory).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedConfig {
    /// Directory of the SQLite store, the index dump and the keyword index. Default `./data`.
    pub data_dir: PathBuf,
    /// HNSW parameters.
    pub index: IndexParams,
    /// Below this many chunks, searches are exact (brute force). Default 100,000: on the 2-core
    /// reference machine exact search over 100,000 vectors takes 4-5 ms per query on one thread
    /// (198-272 queries/s) and is always right, while hnsw_rs at recall@10 >= 0.99 answered 32
    /// (clustered data, ef 1,024) or 12 (random data, ef 2,048) queries/s; above, HNSW
    /// (`cargo bench --bench index_recall`).
    pub exact_search_below: usize,
    /// What answers searches at or above `exact_search_below` chunks. Default
    /// [`LargeSearch::Shortlist`].
    pub large_search: LargeSearch,
}

/// What answers the embedded backend's searches over many chunks (at or above
/// [`EmbeddedConfig::exact_search_below`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LargeSearch {
    /// 1-bit sign codes of every chunk shortlist 1 % of them (at least 5,000), which are
    /// scored with their floats. recall@10 0.997 at 1,000,000 chunks in 5 ms per query on
    /// 2 cores of the reference machine (`cargo bench --bench million`).
    #[default]
    Shortlist,
    /// The hnsw_rs graph with ef_search (recall@10 0.99 needed ef 1,024-2,048: 9-32
    /// queries/s at 100,000 chunks, `cargo bench --bench index_recall`).
    Hnsw,
}

/// Default of [`EmbeddedConfig::exact_search_below`].
pub const DEFAULT_EXACT_SEARCH_BELOW: usize = 100_000;

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            index: IndexParams::default(),
            exact_search_below: DEFAULT_EXACT_SEARCH_BELOW,
            large_search: LargeSearch::default(),
        }
    }
}

/// The storage backend of an instance and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendConfig {
    /// SQLite + in-process hnsw_rs in a data directory (the zero-setup default).
    Embedded(EmbeddedConfig),
    /// A collection of a Qdrant server or cluster, shared by any number of replicas.
    Qdrant(QdrantSettings),
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self::Embedded(EmbeddedConfig::default())
    }
}

impl BackendConfig {
    /// The embedded backend in `data_dir` with default index settings.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        Self::Embedded(EmbeddedConfig { data_dir: data_dir.into(), ..EmbeddedConfig::default() })
    }

    /// `"embedded"` or `"qdrant"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Embedded(_) => "embedded",
            Self::Qdrant(_) => "qdrant",
        }
    }

    /// The embedded settings; `None` for another backend.
    pub fn as_embedded(&self) -> Option<&EmbeddedConfig> {
        match self {
            Self::Embedded(c) => Some(c),
            Self::Qdrant(_) => None,
        }
    }
}
