//! `simtheme serve`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::Config;
use crate::engine::{Engine, IngestStatus};
use crate::index::IndexParams;
use crate::service;

/// Server settings from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed in the ready line).
    #[arg(long, default_value = "127.0.0.1:50051", env = "SIMTHEME_LISTEN")]
    pub listen: SocketAddr,
    /// Do not ingest the shipped seed documents into an empty data directory.
    #[arg(long)]
    pub no_seed: bool,
    /// Storage backend and its connection settings.
    #[command(flatten)]
    pub storage: super::BackendArgs,
    /// HNSW: max links per node.
    #[arg(long, default_value_t = crate::index::DEFAULT_M)]
    pub hnsw_m: usize,
    /// HNSW: candidate list size while building.
    #[arg(long, default_value_t = crate::index::DEFAULT_EF_CONSTRUCTION)]
    pub hnsw_ef_construction: usize,
    /// HNSW: candidate list size while searching.
    #[arg(long, default_value_t = crate::index::DEFAULT_EF_SEARCH)]
    pub hnsw_ef_search: usize,
    /// Largest gRPC message, bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Per-request deadline, seconds.
    #[arg(long, default_value_t = 120)]
    pub request_timeout_secs: u64,
    /// Requests handled at once per connection.
    #[arg(long, default_value_t = 64)]
    pub concurrency_limit: usize,
    /// Embedding requests that may wait before new ones are refused (RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = 256)]
    pub queue_capacity: usize,
    /// Tokens of waiting embedding requests merged into one model call (a larger request runs alone).
    #[arg(long, default_value_t = crate::config::Config::default().queue_batch_tokens)]
    pub queue_batch_tokens: usize,
    /// Below this many stored chunks every search is exact (brute force); HNSW above.
    /// 0 always uses HNSW (unless a request asks for exact search or a filter is selective).
    #[arg(long, default_value_t = crate::config::Config::default().exact_search_below)]
    pub exact_search_below: usize,
}

/// Runs the server until SIGINT/SIGTERM. Prints one ready line with the bound address.
pub fn run_serve(mut config: Config, args: ServeArgs) -> anyhow::Result<()> {
    config.listen = args.listen;
    config.seed_when_empty = !args.no_seed;
    config.backend = args.storage.choice();
    config.index = IndexParams { m: args.hnsw_m, ef_construction: args.hnsw_ef_construction, ef_search: args.hnsw_ef_search };
    config.max_message_bytes = args.max_message_bytes;
    config.request_timeout = Duration::from_secs(args.request_timeout_secs.max(1));
    config.concurrency_limit = args.concurrency_limit.max(1);
    config.queue_capacity = args.queue_capacity.max(1);
    config.queue_batch_tokens = args.queue_batch_tokens.max(1);
    config.exact_search_below = args.exact_search_below;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(service::serve(
        config,
        |config| async move {
            let engine = Engine::open(config).await?;
            let seeded = engine.seed_if_empty().await?;
            for r in &seeded {
                if let IngestStatus::Failed(e) = &r.status {
                    eprintln!("seed document #{} failed: {e}", r.index);
                }
            }
            if !seeded.is_empty() {
                eprintln!("ingested {} seed documents into an empty data directory", seeded.len());
            }
            Ok(engine)
        },
        service::shutdown_signal(),
        |addr, engine, stats| {
            let (docs, paragraphs) = stats.map(|s| (s.store.documents, s.store.paragraphs)).unwrap_or_default();
            let backend = engine.backend().info();
            let data = match backend.kind {
                "embedded" => format!("data {}", backend.location),
                kind => format!("{kind} {}", backend.location),
            };
            println!(
                "simtheme ready on {addr} (model {}, {} dims, {docs} documents, {paragraphs} paragraphs, {data})",
                engine.model_name(),
                engine.dim(),
            );
            use std::io::Write;
            let _ = std::io::stdout().flush();
        },
    ))
}
