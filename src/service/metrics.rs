//! Prometheus metrics (the `prometheus` crate's registry and text encoder). Request figures are
//! recorded as calls finish; engine figures (queue, model calls, index and store sizes, corpus
//! version) are read from the engine when Prometheus scrapes, in [`EngineFigures::read`] (the
//! one function to adapt when the engine's stats change).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Counter, Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::engine::Engine;

/// Engine figures exported at scrape time. The only place that knows where they come from:
/// adapt [`EngineFigures::read`] when the engine's stats change.
#[derive(Debug, Clone, Default)]
pub struct EngineFigures {
    /// Embedding requests the queue has served.
    pub queue_jobs: u64,
    /// Model (embedder) calls the queue made for them.
    pub model_calls: u64,
    /// Requests that may wait in the queue.
    pub queue_capacity: u64,
    /// Requests waiting in the queue now (both lanes).
    pub queue_waiting: u64,
    /// Queries (interactive lane) served, and their total and longest wait, microseconds.
    pub query_jobs: u64,
    /// See `query_jobs`.
    pub query_wait_us: u64,
    /// See `query_jobs`.
    pub query_wait_max_us: u64,
    /// Embedding requests dropped or stopped because their caller had gone, and the forward
    /// passes skipped or stopped for that reason.
    pub cancelled: u64,
    /// See `cancelled`.
    pub cancelled_passes: u64,
    /// Passage (ingestion) tokens embedded by the bulk lane, and its forward passes.
    pub bulk_tokens: u64,
    /// See `bulk_tokens`.
    pub bulk_passes: u64,
    /// Live vectors in the index.
    pub index_vectors: u64,
    /// Tombstoned vectors still in the index.
    pub index_tombstones: u64,
    /// Stored documents, paragraphs, chunks and duplicate occurrences.
    pub documents: u64,
    /// See `documents`.
    pub paragraphs: u64,
    /// See `documents`.
    pub chunks: u64,
    /// See `documents`.
    pub duplicates: u64,
    /// Corpus version (changes with every ingestion or deletion).
    pub corpus_version: u64,
    /// Below this many chunks searches are exact.
    pub exact_search_below: u64,
    /// Model name.
    pub model: String,
    /// Vector dimension.
    pub dim: usize,
    /// Storage backend kind (`embedded`, `qdrant`).
    pub backend: String,
}

impl EngineFigures {
    /// Reads the figures from the engine's public stats.
    pub async fn read(engine: &Engine) -> anyhow::Result<Self> {
        let s = engine.stats().await?;
        let q = engine.embedder().stats();
        use std::sync::atomic::Ordering::Relaxed;
        Ok(Self {
            queue_jobs: s.embed_requests,
            model_calls: s.embed_batches,
            queue_capacity: engine.config().queue.capacity as u64,
            queue_waiting: q.waiting.load(Relaxed),
            query_jobs: q.interactive_jobs.load(Relaxed),
            query_wait_us: q.interactive_wait_us.load(Relaxed),
            query_wait_max_us: q.interactive_wait_max_us.load(Relaxed),
            cancelled: q.cancelled.load(Relaxed),
            cancelled_passes: q.cancelled_passes.load(Relaxed),
            bulk_tokens: q.bulk_tokens.load(Relaxed),
            bulk_passes: q.bulk_sub_batches.load(Relaxed),
            index_vectors: s.index.points as u64,
            index_tombstones: s.index.tombstones as u64,
            documents: s.store.documents,
            paragraphs: s.store.paragraphs,
            chunks: s.store.chunks,
            duplicates: s.store.duplicates,
            corpus_version: s.corpus_version,
            exact_search_below: engine.config().backend.as_embedded().map_or(0, |c| c.exact_search_below) as u64,
            model: engine.model_name().to_string(),
            dim: engine.dim(),
            backend: s.backend.kind.to_string(),
        })
    }
}

/// The integer kernel the embedder picks on this CPU (`amx`, `vnni`, `avx2`, `portable`).
pub fn cpu_kernel() -> &'static str {
    crate::embed::int8::Kernel::detect().name()
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGaugeVec,
    tokens: IntCounterVec,
    texts: IntCounterVec,
    search_path: IntCounterVec,
    hits: Histogram,
    ingest: IntCounterVec,
    clients: ClientMetrics,
    tls_expiry: IntGauge,
    engine: EngineGauges,
    scrape: Mutex<()>,
}

/// Per-client figures; `client` is a key's hashed label or `connection` (all clients of a
/// server without keys, together).
struct ClientMetrics {
    admitted: IntCounterVec,
    refused: IntCounterVec,
    in_flight: IntGaugeVec,
}

struct EngineGauges {
    ready: IntGauge,
    queue_jobs: IntCounter,
    model_calls: IntCounter,
    queue_capacity: IntGauge,
    queue_waiting: IntGauge,
    query_jobs: IntCounter,
    query_wait: Counter,
    query_wait_max: Gauge,
    bulk_tokens: IntCounter,
    bulk_passes: IntCounter,
    cancelled: IntCounter,
    cancelled_passes: IntCounter,
    index: IntGaugeVec,
    store: IntGaugeVec,
    corpus_version: IntGauge,
    exact_search_below: IntGauge,
    build: IntGaugeVec,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, m: T) -> T {
    r.register(Box::new(m.clone())).expect("metric names are unique");
    m
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    reg(r, IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    reg(r, IntGauge::new(name, help).expect("valid metric"))
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Arc<Self> {
        let r = Registry::new();
        let latency_buckets = vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];
        let latency =
            HistogramOpts::new("simtheme_request_duration_seconds", "Time from request to the end of the response, by transport and RPC.")
                .buckets(latency_buckets);
        let hits = HistogramOpts::new("simtheme_search_hits", "Hits returned per NearestParagraphs call.")
            .buckets(vec![0.0, 1.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0]);
        let engine = EngineGauges {
            ready: gauge(&r, "simtheme_ready", "1 once the model and index are loaded and SimThemeService RPCs are served."),
            queue_jobs: reg(&r, IntCounter::new("simtheme_embed_queue_requests_total", "Embedding requests served by the queue (queries and passages).").unwrap()),
            model_calls: reg(&r, IntCounter::new("simtheme_embed_model_calls_total", "Model forward calls made by the queue (each may merge several requests).").unwrap()),
            queue_capacity: gauge(&r, "simtheme_embed_queue_capacity", "Embedding requests that may wait before new ones get RESOURCE_EXHAUSTED."),
            queue_waiting: gauge(&r, "simtheme_embed_queue_waiting", "Embedding requests waiting for the model now (queries and passages)."),
            query_jobs: reg(&r, IntCounter::new("simtheme_embed_query_requests_total", "Requests served by the interactive (query) lane of the embedding queue.").unwrap()),
            query_wait: reg(&r, Counter::new("simtheme_embed_query_wait_seconds_total", "Time query-lane requests waited before their model call, summed, seconds (divide by simtheme_embed_query_requests_total for the mean).").unwrap()),
            query_wait_max: reg(&r, Gauge::new("simtheme_embed_query_wait_max_seconds", "Longest wait of a query-lane request since start, seconds.").unwrap()),
            bulk_tokens: reg(&r, IntCounter::new("simtheme_embed_passage_tokens_total", "Passage tokens embedded by the bulk (ingestion) lane.").unwrap()),
            bulk_passes: reg(&r, IntCounter::new("simtheme_embed_passage_forward_passes_total", "Forward passes (sub-batches) of the bulk (ingestion) lane.").unwrap()),
            cancelled: reg(&r, IntCounter::new("simtheme_embed_cancelled_total", "Embedding requests dropped from the queue or stopped mid-way because their caller had gone (deadline, reset, disconnect).").unwrap()),
            cancelled_passes: reg(&r, IntCounter::new("simtheme_embed_cancelled_passes_total", "Forward passes skipped or stopped at a layer boundary because none of their callers was left.").unwrap()),
            index: reg(&r, IntGaugeVec::new(Opts::new("simtheme_index_vectors", "Vectors in the chunk index, by state (live, tombstoned)."), &["state"]).unwrap()),
            store: reg(&r, IntGaugeVec::new(Opts::new("simtheme_store_rows", "Rows in the store, by kind (documents, paragraphs, chunks, duplicates)."), &["kind"]).unwrap()),
            corpus_version: gauge(&r, "simtheme_corpus_version", "Corpus version: changes with every ingestion or deletion."),
            exact_search_below: gauge(&r, "simtheme_exact_search_below_chunks", "Below this many chunks searches are exact; the shortlist or HNSW (--large-search) above."),
            build: reg(&r, IntGaugeVec::new(Opts::new("simtheme_build_info", "Always 1; labels: version, model, dimension, integer kernel in use, storage backend."), &["version", "model", "dim", "kernel", "backend"]).unwrap()),
        };
        Arc::new(Self {
            requests: counter_vec(
                &r,
                "simtheme_requests_total",
                "Finished requests by transport (grpc, http), RPC and status code.",
                &["transport", "rpc", "code"],
            ),
            latency: reg(&r, HistogramVec::new(latency, &["transport", "rpc"]).unwrap()),
            in_flight: reg(
                &r,
                IntGaugeVec::new(Opts::new("simtheme_requests_in_flight", "Requests being handled, by transport."), &["transport"])
                    .unwrap(),
            ),
            tokens: counter_vec(
                &r,
                "simtheme_embedded_tokens_total",
                "Tokens of request texts embedded (queries, Embed and Similarity texts), by RPC.",
                &["rpc"],
            ),
            texts: counter_vec(&r, "simtheme_embedded_texts_total", "Request texts embedded, by RPC.", &["rpc"]),
            search_path: counter_vec(&r, "simtheme_search_path_total", "NearestParagraphs searches by path (exact, hnsw, ...).", &["path"]),
            hits: reg(&r, Histogram::with_opts(hits).unwrap()),
            ingest: counter_vec(
                &r,
                "simtheme_ingest_documents_total",
                "Documents sent to AddDocuments/StreamDocuments, by result status.",
                &["status"],
            ),
            clients: ClientMetrics {
                admitted: counter_vec(
                    &r,
                    "simtheme_client_requests_total",
                    "Requests admitted, by client (a key's hashed label, or `connection` without keys).",
                    &["client"],
                ),
                refused: counter_vec(
                    &r,
                    "simtheme_client_refused_total",
                    "Requests refused with RESOURCE_EXHAUSTED / 429 and retry-after, by client and the limit hit (requests, tokens).",
                    &["client", "limit"],
                ),
                in_flight: reg(
                    &r,
                    IntGaugeVec::new(Opts::new("simtheme_client_requests_in_flight", "Requests being handled, by client."), &["client"])
                        .unwrap(),
                ),
            },
            tls_expiry: gauge(
                &r,
                "simtheme_tls_certificate_expiry_timestamp_seconds",
                "When the served TLS certificate expires, Unix time, seconds (0 without TLS).",
            ),
            engine,
            registry: r,
            scrape: Mutex::new(()),
        })
    }

    /// A request starts; the returned guard ends it in the in-flight gauge.
    pub fn start(&self, transport: &'static str) -> InFlight {
        let g = self.in_flight.with_label_values(&[transport]);
        g.inc();
        InFlight(g)
    }

    /// A request finished with `code` after `elapsed`.
    pub fn finish(&self, transport: &str, rpc: &str, code: tonic::Code, elapsed: Duration) {
        self.requests.with_label_values(&[transport, rpc, code_name(code)]).inc();
        self.latency.with_label_values(&[transport, rpc]).observe(elapsed.as_secs_f64());
    }

    /// `texts` texts of `tokens` tokens were embedded for `rpc`.
    pub fn embedded(&self, rpc: &str, texts: u64, tokens: u64) {
        self.texts.with_label_values(&[rpc]).inc_by(texts);
        self.tokens.with_label_values(&[rpc]).inc_by(tokens);
    }

    /// A search took `path` and returned `hits` hits.
    pub fn searched(&self, path: &str, hits: usize) {
        self.search_path.with_label_values(&[path]).inc();
        self.hits.observe(hits as f64);
    }

    /// A request of `client` was admitted; the guard ends it in the client's in-flight gauge.
    pub fn client_admitted(&self, client: &str) -> InFlight {
        self.clients.admitted.with_label_values(&[client]).inc();
        let g = self.clients.in_flight.with_label_values(&[client]);
        g.inc();
        InFlight(g)
    }

    /// `n` requests of `client` were refused at `limit` (`requests` or `tokens`).
    pub fn client_refused(&self, client: &str, limit: &str, n: u64) {
        self.clients.refused.with_label_values(&[client, limit]).inc_by(n);
    }

    /// The served certificate expires at `unix_seconds`.
    pub fn tls_expires(&self, unix_seconds: i64) {
        self.tls_expiry.set(unix_seconds);
    }

    /// One ingested document ended with `status` (e.g. `INGEST_STATUS_INSERTED`).
    pub fn ingested(&self, status: &str) {
        self.ingest.with_label_values(&[status]).inc();
    }

    /// The text exposition of every metric, with the engine's figures (`None`: still loading,
    /// or the figures could not be read).
    pub fn render(&self, engine: Option<&EngineFigures>) -> String {
        let _one_scrape_at_a_time = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        let g = &self.engine;
        g.ready.set(engine.is_some() as i64);
        if let Some(f) = engine {
            g.queue_jobs.inc_by(f.queue_jobs.saturating_sub(g.queue_jobs.get()));
            g.model_calls.inc_by(f.model_calls.saturating_sub(g.model_calls.get()));
            g.queue_capacity.set(f.queue_capacity as i64);
            g.queue_waiting.set(f.queue_waiting as i64);
            g.query_jobs.inc_by(f.query_jobs.saturating_sub(g.query_jobs.get()));
            g.query_wait.inc_by((f.query_wait_us as f64 / 1e6 - g.query_wait.get()).max(0.0));
            g.query_wait_max.set(f.query_wait_max_us as f64 / 1e6);
            g.bulk_tokens.inc_by(f.bulk_tokens.saturating_sub(g.bulk_tokens.get()));
            g.bulk_passes.inc_by(f.bulk_passes.saturating_sub(g.bulk_passes.get()));
            g.cancelled.inc_by(f.cancelled.saturating_sub(g.cancelled.get()));
            g.cancelled_passes.inc_by(f.cancelled_passes.saturating_sub(g.cancelled_passes.get()));
            g.index.with_label_values(&["live"]).set(f.index_vectors as i64);
            g.index.with_label_values(&["tombstoned"]).set(f.index_tombstones as i64);
            for (kind, n) in [("documents", f.documents), ("paragraphs", f.paragraphs), ("chunks", f.chunks), ("duplicates", f.duplicates)]
            {
                g.store.with_label_values(&[kind]).set(n as i64);
            }
            g.corpus_version.set(f.corpus_version as i64);
            g.exact_search_below.set(f.exact_search_below as i64);
            let dim = f.dim.to_string();
            g.build.with_label_values(&[env!("CARGO_PKG_VERSION"), &f.model, &dim, cpu_kernel(), &f.backend]).set(1);
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("metrics: encoding failed: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The canonical upper-case name of a gRPC status code (`INVALID_ARGUMENT`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_requests_appear_in_the_exposition() {
        let m = Metrics::new();
        m.finish("grpc", "Stats", tonic::Code::Ok, Duration::from_millis(3));
        m.finish("grpc", "Stats", tonic::Code::Ok, Duration::from_millis(4));
        m.finish("http", "GetParagraph", tonic::Code::NotFound, Duration::from_millis(1));
        let text = m.render(None);
        assert!(text.contains(r#"simtheme_requests_total{code="OK",rpc="Stats",transport="grpc"} 2"#), "{text}");
        assert!(text.contains(r#"simtheme_requests_total{code="NOT_FOUND",rpc="GetParagraph",transport="http"} 1"#), "{text}");
        assert!(text.contains(r#"simtheme_request_duration_seconds_bucket{rpc="Stats",transport="grpc",le="0.005"} 2"#), "{text}");
        assert!(text.contains("simtheme_ready 0"), "{text}");
    }
}
