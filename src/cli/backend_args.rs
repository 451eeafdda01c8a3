//! Command-line choice of the storage backend (`--backend`, Qdrant connection settings).

use std::time::Duration;

use crate::backend::qdrant::QdrantSettings;
use crate::config::BackendChoice;

/// Which backend holds the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// SQLite + in-process HNSW in --data-dir (zero setup).
    Embedded,
    /// A collection of a Qdrant server or cluster (replicas share it).
    Qdrant,
}

/// Storage backend settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Storage backend: `embedded` (SQLite + HNSW in --data-dir) or `qdrant`.
    #[arg(long, value_enum, default_value = "embedded", env = "SIMTHEME_BACKEND")]
    pub backend: BackendKind,
    /// Qdrant gRPC URL (port 6334), with --backend qdrant.
    #[arg(long, default_value = "http://127.0.0.1:6334", env = "SIMTHEME_QDRANT_URL")]
    pub qdrant_url: String,
    /// API key of the Qdrant server, if it needs one (prefer the environment variable).
    #[arg(long, env = "SIMTHEME_QDRANT_API_KEY", hide_env_values = true)]
    pub qdrant_api_key: Option<String>,
    /// Qdrant collection holding the corpus (created on first start).
    #[arg(long, default_value = "simtheme", env = "SIMTHEME_COLLECTION")]
    pub collection: String,
    /// Shards of a new Qdrant collection (ignored when it exists).
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// Copies of each shard of a new Qdrant collection (ignored when it exists).
    #[arg(long, default_value_t = 1)]
    pub replication_factor: u32,
    /// Deadline of one Qdrant call, seconds.
    #[arg(long, default_value_t = 30)]
    pub qdrant_timeout_secs: u64,
}

impl BackendArgs {
    /// The configured backend.
    pub fn choice(&self) -> BackendChoice {
        match self.backend {
            BackendKind::Embedded => BackendChoice::Embedded,
            BackendKind::Qdrant => BackendChoice::Qdrant(self.qdrant_settings(&self.qdrant_url, &self.collection)),
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
        }
    }
}
