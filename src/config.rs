//! The one configuration struct of simtheme, shared by the server, the CLI and the tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::backend::qdrant::QdrantSettings;
use crate::corpus::SegmentConfig;
use crate::embed::EmbedderConfig;
use crate::index::IndexParams;

/// Which storage backend holds the corpus.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum BackendChoice {
    /// SQLite + in-process hnsw_rs in `data_dir` (the zero-setup default).
    #[default]
    Embedded,
    /// A collection of a Qdrant server or cluster, shared by any number of replicas.
    Qdrant(QdrantSettings),
}

/// Every setting of a simtheme instance. `Config::default()` is what `simtheme serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of the SQLite store and the index dump. Default `./data`.
    pub data_dir: PathBuf,
    /// Storage backend. Default [`BackendChoice::Embedded`].
    pub backend: BackendChoice,
    /// Most paragraphs a themes computation clusters; above, a fixed deterministic sample of
    /// this many (the same on every call and replica). Default 50,000 (~2 s on 2 cores).
    pub max_theme_paragraphs: usize,
    /// Model, threads and batch size of the embedder.
    pub embedder: EmbedderConfig,
    /// HNSW parameters.
    pub index: IndexParams,
    /// Paragraph chunking.
    pub segment: SegmentConfig,
    /// Ingest the shipped seed documents when the store is empty at start-up. Default true.
    pub seed_when_empty: bool,
    /// gRPC listen address. Default `127.0.0.1:50051`.
    pub listen: SocketAddr,
    /// Largest gRPC message accepted or sent, bytes. Default 16 MiB.
    pub max_message_bytes: usize,
    /// Deadline of one request (ingestion of a batch included). Default 120 s.
    pub request_timeout: Duration,
    /// Requests handled at once per connection. Default 64.
    pub concurrency_limit: usize,
    /// Embedding requests that may wait for the model before new ones get RESOURCE_EXHAUSTED. Default 256.
    pub queue_capacity: usize,
    /// Tokens of waiting requests merged into one embedder call by the queue (special
    /// tokens and prefixes included; a larger request runs alone). Default 4,096: 32
    /// concurrent short queries (~15 tokens each) share one call, while a query waiting behind
    /// ingestion waits for at most ~4k tokens of passages (a few seconds on 2 cores).
    pub queue_batch_tokens: usize,
    /// Largest document accepted, bytes of UTF-8. Default 5 MB.
    pub max_document_bytes: usize,
    /// Documents per AddDocuments request (and per stream). Default 100 (stream: 10,000).
    pub max_documents_per_request: usize,
    /// Texts per Embed request. Default 64.
    pub max_embed_texts: usize,
    /// Characters of a query or Similarity text. Default 8,000.
    pub max_query_chars: usize,
    /// Largest `k` of NearestParagraphs. Default 100.
    pub max_k: usize,
    /// Below this many chunks, searches are exact (brute force). Default 100,000: on the 2-core
    /// reference machine exact search over 100,000 vectors takes 4-5 ms per query on one thread
    /// (198-272 queries/s) and is always right, while hnsw_rs at recall@10 >= 0.99 answered 32
    /// (clustered data, ef 1,024) or 12 (random data, ef 2,048) queries/s; above, HNSW
    /// (`cargo bench --bench index_recall`).
    pub exact_search_below: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            backend: BackendChoice::Embedded,
            max_theme_paragraphs: 50_000,
            embedder: EmbedderConfig::default(),
            index: IndexParams::default(),
            segment: SegmentConfig::default(),
            seed_when_empty: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(120),
            concurrency_limit: 64,
            queue_capacity: 256,
            queue_batch_tokens: 4_096,
            max_document_bytes: 5_000_000,
            max_documents_per_request: 100,
            max_embed_texts: 64,
            max_query_chars: 8_000,
            max_k: 100,
            exact_search_below: 100_000,
        }
    }
}
