//! Command-line choice of the storage backend (`--backend`, Qdrant connection settings, the
//! embedded index's settings), shared by every command that reads or writes the corpus.

use std::path::Path;
use std::time::Duration;

use crate::backend::embedded::index::{IndexParams, DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_M};
use crate::backend::qdrant::{self, QdrantSettings};
use crate::backend::{BackendConfig, EmbeddedConfig, LargeSearch, DEFAULT_EXACT_SEARCH_BELOW};

/// Which backend holds the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// SQLite + in-process HNSW in --data-dir (zero setup).
    Embedded,
    /// A collection of a Qdrant server or cluster (replicas share it).
    Qdrant,
}

/// Quantization of a new Qdrant collection's vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QdrantQuantization {
    /// Scalar int8, in RAM, with float rescoring.
    Int8,
    /// Float vectors only.
    None,
}

/// Storage backend settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Storage backend: `embedded` (SQLite + HNSW in --data-dir) or `qdrant`.
    #[arg(long, value_enum, default_value = "embedded", env = "SIMTHEME_BACKEND")]
    pub backend: BackendKind,
    /// Qdrant gRPC URL (port 6334), with --backend qdrant.
    #[arg(long, default_value = qdrant::DEFAULT_URL, env = "SIMTHEME_QDRANT_URL")]
    pub qdrant_url: String,
    /// API key of the Qdrant server, if it needs one (prefer the environment variable).
    #[arg(long, env = "SIMTHEME_QDRANT_API_KEY", hide_env_values = true)]
    pub qdrant_api_key: Option<String>,
    /// Qdrant collection holding the corpus (created on first start).
    #[arg(long, default_value = qdrant::DEFAULT_COLLECTION, env = "SIMTHEME_COLLECTION")]
    pub collection: String,
    /// Shards of a new Qdrant collection (ignored when it exists).
    #[arg(long, default_value_t = qdrant::DEFAULT_SHARDS)]
    pub shards: u32,
    /// Copies of each shard of a new Qdrant collection (ignored when it exists).
    #[arg(long, default_value_t = qdrant::DEFAULT_REPLICATION_FACTOR)]
    pub replication_factor: u32,
    /// Deadline of one Qdrant call, seconds.
    #[arg(long, default_value_t = qdrant::DEFAULT_TIMEOUT_SECS)]
    pub qdrant_timeout_secs: u64,
    /// Quantization of a new Qdrant collection's vectors (ignored when it exists): `int8`
    /// (kept in RAM; searches pick --qdrant-oversampling times the results on it and rescore
    /// them on the floats) or `none`.
    #[arg(long, value_enum, default_value_t = QdrantQuantization::Int8)]
    pub qdrant_quantization: QdrantQuantization,
    /// Qdrant searches on int8 vectors: candidates per result wanted, rescored on the floats.
    #[arg(long, default_value_t = qdrant::DEFAULT_OVERSAMPLING)]
    pub qdrant_oversampling: f64,
    /// Qdrant searches: size of the HNSW candidate list (0: Qdrant's default, 100).
    #[arg(long, default_value_t = qdrant::DEFAULT_HNSW_EF)]
    pub qdrant_hnsw_ef: u64,
    /// HNSW (embedded backend): max links per node.
    #[arg(long, default_value_t = DEFAULT_M)]
    pub hnsw_m: usize,
    /// HNSW (embedded backend): candidate list size while building.
    #[arg(long, default_value_t = DEFAULT_EF_CONSTRUCTION)]
    pub hnsw_ef_construction: usize,
    /// HNSW (embedded backend): candidate list size while searching.
    #[arg(long, default_value_t = DEFAULT_EF_SEARCH)]
    pub hnsw_ef_search: usize,
    /// Embedded backend: below this many stored chunks every search is exact (brute force);
    /// HNSW above. 0 always uses HNSW (unless a request asks for exact search or a filter is
    /// selective).
    #[arg(long, default_value_t = DEFAULT_EXACT_SEARCH_BELOW)]
    pub exact_search_below: usize,
    /// Embedded backend: what answers searches at or above --exact-search-below chunks:
    /// `shortlist` (1-bit codes pick 1 % of the chunks, scored exactly; recall@10 0.997 at a
    /// million chunks) or `hnsw` (the graph, with --hnsw-ef-search).
    #[arg(long, value_enum, default_value_t = LargeSearch::Shortlist)]
    pub large_search: LargeSearch,
}

impl BackendArgs {
    /// The configured backend; the embedded one lives in `data_dir`.
    pub fn config(&self, data_dir: &Path) -> BackendConfig {
        match self.backend {
            BackendKind::Embedded => BackendConfig::Embedded(EmbeddedConfig {
                data_dir: data_dir.to_path_buf(),
                index: IndexParams { m: self.hnsw_m, ef_construction: self.hnsw_ef_construction, ef_search: self.hnsw_ef_search },
                exact_search_below: self.exact_search_below,
                large_search: self.large_search,
            }),
            BackendKind::Qdrant => BackendConfig::Qdrant(self.qdrant_settings(&self.qdrant_url, &self.collection)),
        }
    }

    /// Qdrant settings for `url` and `collection`, with the other flags applied.
    pub fn qdrant_settings(&self, url: &str, collection: &str) -> QdrantSettings {
        QdrantSettings {
            url: url.to_string(),
            api_key: self.qdrant_api_key.clone().filter(|k| !k.is_empty()),
            collection: collection.to_string(),
            shards: self.shards.max(1),
            replication_factor: self.replication_factor.max(1),
            timeout: Duration::from_secs(self.qdrant_timeout_secs.max(1)),
            quantization: self.qdrant_quantization == QdrantQuantization::Int8,
            oversampling: self.qdrant_oversampling.max(1.0),
            hnsw_ef: (self.qdrant_hnsw_ef > 0).then_some(self.qdrant_hnsw_ef),
        }
    }
}
