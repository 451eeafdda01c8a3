//! `simtheme serve`: its options, the `--config` TOML file, and the ready line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::config::{Config, EdgeConfig, LogFormat, SearchMode, Secret, TlsFiles};
use crate::engine::{Engine, IngestStatus};
use crate::service;

/// Server settings from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed in the ready line).
    #[arg(long, default_value_t = Config::default().listen, env = "SIMTHEME_LISTEN")]
    pub listen: SocketAddr,
    /// Do not ingest the shipped seed documents into an empty data directory.
    #[arg(long)]
    pub no_seed: bool,
    /// Storage backend, its connection settings and the embedded index's settings.
    #[command(flatten)]
    pub storage: super::BackendArgs,
    /// Largest gRPC message (and HTTP/JSON body), bytes.
    #[arg(long, default_value_t = Config::default().max_message_bytes, env = "SIMTHEME_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: usize,
    /// Deadline of a call, seconds; for StreamDocuments, of the wait for each next document
    /// (a stream may last as long as documents keep coming).
    #[arg(long, default_value_t = Config::default().request_timeout.as_secs(), env = "SIMTHEME_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: u64,
    /// Requests handled at once per connection; more wait for a slot (at most
    /// --request-timeout-secs, then RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = Config::default().concurrency_limit, env = "SIMTHEME_CONCURRENCY_LIMIT")]
    pub concurrency_limit: usize,
    /// Requests one client may have in flight (a client is an API key, or a connection on a
    /// server without keys); more get RESOURCE_EXHAUSTED / HTTP 429 with retry-after. 0: no limit.
    #[arg(long, default_value_t = Config::default().max_requests_per_client, env = "SIMTHEME_MAX_REQUESTS_PER_CLIENT")]
    pub max_requests_per_client: usize,
    /// Tokens one client may have waiting in the embedding queue (a single larger request is
    /// taken when it is the client's only one); more get RESOURCE_EXHAUSTED / 429. 0: no limit.
    #[arg(long, default_value_t = Config::default().max_queued_tokens_per_client, env = "SIMTHEME_MAX_QUEUED_TOKENS_PER_CLIENT")]
    pub max_queued_tokens_per_client: usize,
    /// Close a connection that has had no request in flight for this many seconds; 0: never.
    #[arg(long, default_value_t = Config::default().idle_timeout.as_secs(), env = "SIMTHEME_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: u64,
    /// Embedding queue: lane capacity, round and forward-pass sizes, the ingestion lane's priority.
    #[command(flatten)]
    pub queue: super::QueueArgs,
    /// Mode of NearestParagraphs text queries that do not set one: hybrid (BM25 fused with
    /// dense; `score` is the fused score), dense (`score` is the cosine) or keyword.
    #[arg(long, value_enum, default_value_t = Config::default().default_search_mode, env = "SIMTHEME_DEFAULT_SEARCH_MODE")]
    pub default_search_mode: SearchMode,
    /// Bilingual glossary (CSV or TSV, header `zh,en,source`; several terms in a cell separated
    /// by `|`) adding entries to the shipped one; re-read on SIGHUP (a broken file keeps the
    /// glossary in use). Its phrases in a KEYWORD or HYBRID query add their other-language terms
    /// to the keyword side.
    #[arg(long, env = "SIMTHEME_GLOSSARY")]
    pub glossary: Option<std::path::PathBuf>,
    /// TOML file with serve settings: keys are the long option names (`listen`, `tls_cert`,
    /// `api_key_file`, `data_dir`, ...). Precedence: flag > environment > file > default.
    #[arg(long, env = "SIMTHEME_CONFIG")]
    pub config: Option<PathBuf>,
    /// TLS certificate chain (PEM) for every listener; needs --tls-key. Re-read on SIGHUP and on change.
    #[arg(long, env = "SIMTHEME_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) of --tls-cert.
    #[arg(long, env = "SIMTHEME_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA bundle (PEM): clients must present a certificate it signed (mutual TLS).
    #[arg(long, env = "SIMTHEME_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Full-access API key (prefer --api-key-file or the environment: flags show in `ps`).
    #[arg(long, env = "SIMTHEME_API_KEY", hide_env_values = true, conflicts_with = "api_key_file")]
    pub api_key: Option<Secret>,
    /// File holding the full-access API key (surrounding whitespace ignored).
    #[arg(long, env = "SIMTHEME_API_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Read-only API key: search, similarity, embed, get/list, stats and themes; no writes.
    #[arg(long, env = "SIMTHEME_READ_ONLY_API_KEY", hide_env_values = true, conflicts_with = "read_only_api_key_file")]
    pub read_only_api_key: Option<Secret>,
    /// File holding the read-only API key.
    #[arg(long, env = "SIMTHEME_READ_ONLY_API_KEY_FILE")]
    pub read_only_api_key_file: Option<PathBuf>,
    /// Serve gRPC reflection without a key even when keys are set.
    #[arg(long, env = "SIMTHEME_OPEN_REFLECTION")]
    pub open_reflection: bool,
    /// Prometheus metrics address (GET /metrics); "" disables. Default 127.0.0.1:9464 (if that
    /// address is taken the server warns and runs without metrics; an address given here must bind).
    #[arg(long, env = "SIMTHEME_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// HTTP/JSON address (POST /v1/<Rpc>, GET /healthz, GET /openapi.json, the workbench at /); off
    /// unless set, e.g. 127.0.0.1:8080.
    #[arg(long, env = "SIMTHEME_HTTP_LISTEN")]
    pub http_listen: Option<String>,
    /// Do not serve the workbench web page at / of the HTTP listener (the API stays).
    #[arg(long, env = "SIMTHEME_NO_UI")]
    pub no_ui: bool,
    /// Log lines on stderr: text or json (one request line per call at INFO, target simtheme::access).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "SIMTHEME_LOG_FORMAT")]
    pub log_format: LogFormat,
}

fn read_key(path: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the API key file {}", path.display()))?;
    text.parse::<Secret>().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn address(flag: &str, value: &str) -> anyhow::Result<Option<SocketAddr>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    value.trim().parse().map(Some).map_err(|e| anyhow::anyhow!("--{flag} {value:?} is not an address such as 127.0.0.1:8080: {e}"))
}

impl ServeArgs {
    /// The edge settings these arguments describe (key files are read here).
    pub fn edge(&self) -> anyhow::Result<EdgeConfig> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone(), client_ca: self.tls_client_ca.clone() }),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        let api_key = match &self.api_key_file {
            Some(p) => Some(read_key(p)?),
            None => self.api_key.clone(),
        };
        let read_only_api_key = match &self.read_only_api_key_file {
            Some(p) => Some(read_key(p)?),
            None => self.read_only_api_key.clone(),
        };
        if api_key.is_some() && api_key == read_only_api_key {
            anyhow::bail!("the full-access and read-only API keys must differ");
        }
        let default = EdgeConfig::default();
        let (metrics_listen, metrics_optional) = match &self.metrics_listen {
            None => (default.metrics_listen, true),
            Some(v) => (address("metrics-listen", v)?, false),
        };
        Ok(EdgeConfig {
            tls,
            api_key,
            read_only_api_key,
            open_reflection: self.open_reflection,
            ui: !self.no_ui,
            metrics_listen,
            metrics_optional,
            http_listen: address("http-listen", self.http_listen.as_deref().unwrap_or(""))?,
        })
    }
}

/// Runs the server until SIGINT/SIGTERM. Prints one ready line with the bound address.
pub fn run_serve(mut config: Config, args: ServeArgs) -> anyhow::Result<()> {
    config.listen = args.listen;
    config.seed_when_empty = !args.no_seed;
    config.max_message_bytes = args.max_message_bytes;
    config.request_timeout = Duration::from_secs(args.request_timeout_secs.max(1));
    config.concurrency_limit = args.concurrency_limit.max(1);
    config.max_requests_per_client = args.max_requests_per_client;
    config.max_queued_tokens_per_client = args.max_queued_tokens_per_client;
    config.idle_timeout = Duration::from_secs(args.idle_timeout_secs);
    config.queue = args.queue.options()?;
    config.default_search_mode = args.default_search_mode;
    config.glossary = args.glossary.clone();
    config.edge = args.edge()?;
    let json_log = matches!(args.log_format, LogFormat::Json);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(service::serve(
        config,
        |config| async move {
            let engine = Engine::open(config).await?;
            engine.load_glossary()?;
            for line in engine.glossary_status().skipped {
                eprintln!("glossary line skipped: {line}");
            }
            let seeded = engine.seed_if_empty().await?;
            for r in &seeded {
                if let IngestStatus::Failed(e) = &r.status {
                    eprintln!("seed document #{} failed: {e}", r.index);
                }
            }
            if !seeded.is_empty() {
                eprintln!("ingested {} seed documents into an empty data directory", seeded.len());
            }
            // Model loading and seeding leave tens of MB free inside malloc's arenas.
            crate::memory::release_free_memory();
            Ok(engine)
        },
        service::shutdown_signal(),
        move |bound, engine, stats| {
            let (docs, paragraphs) = stats.map(|s| (s.store.documents, s.store.paragraphs)).unwrap_or_default();
            let backend = engine.backend().info();
            let data = match backend.kind {
                "embedded" => format!("data {}", backend.location),
                kind => format!("{kind} {}", backend.location),
            };
            let mut extra = String::new();
            if let Some(a) = bound.metrics {
                extra.push_str(&format!(", metrics {a}"));
            }
            if let Some(a) = bound.http {
                extra.push_str(&format!(", http {a}"));
            }
            if bound.tls {
                extra.push_str(", tls");
            }
            if bound.keys {
                extra.push_str(", api keys");
            }
            let line = format!(
                "simtheme ready on {} (model {}, {} dims, {docs} documents, {paragraphs} paragraphs, {data}{extra})",
                bound.grpc,
                engine.model_name(),
                engine.dim(),
            );
            if json_log {
                // one JSON object like the log lines, with the addresses as fields
                let ready = serde_json::json!({
                    "level": "INFO",
                    "message": line,
                    "grpc": bound.grpc.to_string(),
                    "http": bound.http.map(|a| a.to_string()),
                    "metrics": bound.metrics.map(|a| a.to_string()),
                    "model": engine.model_name(),
                    "dims": engine.dim(),
                    "documents": docs,
                    "paragraphs": paragraphs,
                    "backend": backend.kind,
                    "location": backend.location,
                    "tls": bound.tls,
                    "api_keys": bound.keys,
                });
                println!("{ready}");
            } else {
                println!("{line}");
            }
            use std::io::Write;
            let _ = std::io::stdout().flush();
        },
    ))
}
