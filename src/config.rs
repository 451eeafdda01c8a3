//! The one configuration struct of simtheme, shared by the server, the CLI and the tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::backend::BackendConfig;
use crate::corpus::SegmentConfig;
use crate::embed::{EmbedderConfig, QueueOptions};

/// How NearestParagraphs ranks (the type of [`Config::default_search_mode`]; requests name
/// one through [`crate::engine::SearchRequest::mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SearchMode {
    /// Cosine similarity of embeddings (the library default; the server's default for text
    /// queries is [`Config::default_search_mode`]).
    #[default]
    Dense,
    /// BM25 over jieba words.
    Keyword,
    /// Reciprocal-rank fusion of both.
    Hybrid,
}

/// Every setting of a simtheme instance. `Config::default()` is what `simtheme serve` runs with,
/// and every flag's default is read from it. Each limit can be set by a flag, an environment
/// variable (`SIMTHEME_` + the flag in capitals) and a key of the `serve --config` file.
#[derive(Debug, Clone)]
pub struct Config {
    /// Storage backend and its settings (for the embedded one: data directory, HNSW
    /// parameters, exact-search threshold). Default: embedded in `./data`.
    pub backend: BackendConfig,
    /// Most paragraphs a themes computation clusters; above, a fixed deterministic sample of
    /// this many (the same on every call and replica). Default 50,000 (~2 s on 2 cores);
    /// `--max-theme-paragraphs`.
    pub max_theme_paragraphs: usize,
    /// Most paragraphs one side of a text-reuse comparison may hold (a document, year or
    /// period); more is refused with RESOURCE_EXHAUSTED naming a shorter period. Default 10,000;
    /// `--max-reuse-paragraphs`.
    pub max_reuse_paragraphs: usize,
    /// Model, threads and batch size of the embedder.
    pub embedder: EmbedderConfig,
    /// Paragraph chunking.
    pub segment: SegmentConfig,
    /// Ingest the shipped seed documents when the store is empty at start-up. Default true.
    pub seed_when_empty: bool,
    /// gRPC listen address. Default `127.0.0.1:50051`.
    pub listen: SocketAddr,
    /// Largest gRPC message accepted or sent (and HTTP/JSON body), bytes. Default 16 MiB;
    /// `--max-message-bytes`.
    pub max_message_bytes: usize,
    /// Deadline of one request (ingestion of a batch included; for `StreamDocuments`, of the
    /// wait for each next document). Default 120 s; `--request-timeout-secs`.
    pub request_timeout: Duration,
    /// Requests handled at once per connection; more wait for a slot, at most the request
    /// timeout, then get RESOURCE_EXHAUSTED. Default 64; `--concurrency-limit`.
    pub concurrency_limit: usize,
    /// Requests one client (an API key; a connection on a server without keys) may have in
    /// flight; more get RESOURCE_EXHAUSTED (HTTP 429) with `retry-after`. Default 64, 0 for no
    /// limit; `--max-requests-per-client`.
    pub max_requests_per_client: usize,
    /// Tokens one client may have waiting or being embedded at once (one larger request is
    /// taken when it is the client's only one); more get RESOURCE_EXHAUSTED with
    /// `retry-after`. Default 65,536, 0 for no limit; `--max-queued-tokens-per-client`.
    pub max_queued_tokens_per_client: usize,
    /// A connection with no request in flight for this long is closed. Default 300 s, zero
    /// never; `--idle-timeout-secs`.
    pub idle_timeout: Duration,
    /// The embedding queue: waiting requests per lane before new ones get RESOURCE_EXHAUSTED
    /// (default 256), tokens merged into one round (default 4,096: 32 concurrent short
    /// queries share one call), the bulk lane's forward-pass size, priority and pauses, and
    /// which requests take the interactive lane. See [`QueueOptions`].
    pub queue: QueueOptions,
    /// Largest document accepted, bytes of UTF-8. Default 5 MB; `--max-document-bytes`.
    pub max_document_bytes: usize,
    /// Documents per AddDocuments request (a stream: 100 times as many). Default 100 (stream:
    /// 10,000); `--max-documents-per-request`.
    pub max_documents_per_request: usize,
    /// Texts per Embed request. Default 64; `--max-embed-texts`.
    pub max_embed_texts: usize,
    /// Characters of a query, Similarity or AssignTheme text. Default 8,000; `--max-query-chars`.
    pub max_query_chars: usize,
    /// Characters of one Embed text. Default 20,000; `--max-embed-chars`.
    pub max_embed_chars: usize,
    /// Largest `k` of NearestParagraphs. Default 100; `--max-k`.
    pub max_k: usize,
    /// Mode of NearestParagraphs text queries that name none. Default HYBRID: on the retrieval
    /// fixture it ranks the expected paragraph first for 83% of queries against DENSE's 71%,
    /// for ~2 ms more per query (README, "Search modes").
    pub default_search_mode: SearchMode,
    /// A bilingual glossary (CSV or TSV with columns zh, en, source) whose entries extend the
    /// shipped one; re-read on SIGHUP. Default none (the shipped glossary alone); `--glossary`.
    pub glossary: Option<PathBuf>,
    /// The production surface of `serve`: TLS, API keys, metrics and HTTP/JSON listeners.
    pub edge: EdgeConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            backend: BackendConfig::default(),
            max_theme_paragraphs: 50_000,
            max_reuse_paragraphs: 10_000,
            embedder: EmbedderConfig::default(),
            segment: SegmentConfig::default(),
            seed_when_empty: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(120),
            concurrency_limit: 64,
            max_requests_per_client: 64,
            max_queued_tokens_per_client: 65_536,
            idle_timeout: Duration::from_secs(300),
            queue: QueueOptions::default(),
            max_document_bytes: 5_000_000,
            max_documents_per_request: 100,
            max_embed_texts: 64,
            max_query_chars: 8_000,
            max_embed_chars: 20_000,
            max_k: 100,
            default_search_mode: SearchMode::Hybrid,
            glossary: None,
            edge: EdgeConfig::default(),
        }
    }
}

/// A secret (an API key): compared in constant time by the service, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key; surrounding whitespace (a file's trailing newline) is dropped.
    pub fn new(key: &str) -> Self {
        Self(key.trim().to_string())
    }

    /// The key itself, for comparison only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = Secret::new(s);
        if key.0.is_empty() {
            return Err("an API key must not be empty".into());
        }
        Ok(key)
    }
}

/// PEM files of the server's TLS identity. They are re-read on SIGHUP and when their contents
/// change, for new connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// Private key of the leaf certificate, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA bundle, PEM: when set, clients must present a certificate signed by one of these (mTLS).
    pub client_ca: Option<PathBuf>,
}

/// Format of the server's log lines on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (tracing's default format).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The service edge: everything between the network and the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// TLS for every listener (gRPC, HTTP/JSON, metrics). Default: none (plaintext).
    pub tls: Option<TlsFiles>,
    /// Full-access API key. Default: none. With no key at all every RPC is open.
    pub api_key: Option<Secret>,
    /// Read-only API key: every RPC except AddDocuments, StreamDocuments and DeleteDocument.
    pub read_only_api_key: Option<Secret>,
    /// Serve reflection without a key even when keys are set. Default false.
    pub open_reflection: bool,
    /// Prometheus metrics address (`GET /metrics`). Default `127.0.0.1:9464`; `None` disables.
    pub metrics_listen: Option<SocketAddr>,
    /// When the metrics address is taken, warn and run without metrics instead of failing
    /// (true while the address is the default one, so that several servers can share a machine).
    pub metrics_optional: bool,
    /// HTTP/JSON address (`POST /v1/<Rpc>`, `GET /healthz`). Default: none (off).
    pub http_listen: Option<SocketAddr>,
    /// Serve the analyst's workbench (a web page) at `/` of the HTTP listener. Default true;
    /// `--no-ui` turns it off.
    pub ui: bool,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            tls: None,
            api_key: None,
            read_only_api_key: None,
            open_reflection: false,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            metrics_optional: true,
            http_listen: None,
            ui: true,
        }
    }
}
