//! The server: SimThemeService handlers, `grpc.health.v1.Health`, server reflection (v1 and v1alpha),
//! message-size / deadline / concurrency limits, graceful shutdown, and the production edge:
//! TLS with certificate rotation, API keys, Prometheus metrics, request logs and the HTTP/JSON
//! API (each in its own module).

mod access_log;
mod admission;
mod auth;
mod convert;
mod edge;
mod grpc_edge;
mod handlers;
mod health;
mod http_api;
mod http_serve;
mod instrument;
mod listener;
mod metrics;
mod plaintext;
mod rpcs;
mod themes;
mod tls;
mod tree_reuse;
mod ui;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic_health::ServingStatus;

use crate::config::Config;
use crate::engine::{Engine, EngineStats};
use crate::proto::sim_theme_service_server::SimThemeServiceServer;

pub use convert::status;
pub use handlers::{EngineCell, Handlers};
pub use http_api::http_status;
pub use metrics::{code_name, EngineFigures};
pub use rpcs::{Deadline, Rpc, RPCS};

/// The name health checks use for the SimThemeService service.
pub const SERVICE_NAME: &str = "simtheme.v1.SimThemeService";

/// HTTP/2 flow-control window of one gRPC stream: request bytes a client may send ahead of
/// what the handler has read (1 MiB, hyper's default).
pub const STREAM_WINDOW_BYTES: u32 = 1 << 20;
/// HTTP/2 flow-control window of a whole connection: 8 streams' worth. With hyper's default
/// (equal to the stream window) one `StreamDocuments` upload that runs ahead of ingestion
/// fills the connection's window, and every other call on that connection (tonic clients
/// share one by default) waits until ingestion has read enough pages: queries of a client
/// that also uploaded on its channel stalled for tens of milliseconds (slowest 1% of queries
/// 55-60 ms mean, against ~27 ms on a separate connection).
pub const CONNECTION_WINDOW_BYTES: u32 = 8 * STREAM_WINDOW_BYTES;

/// The addresses the server listens on (ports resolved when 0 was asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// gRPC.
    pub grpc: SocketAddr,
    /// HTTP/JSON, when enabled.
    pub http: Option<SocketAddr>,
    /// Prometheus metrics, when enabled (and the address was free).
    pub metrics: Option<SocketAddr>,
    /// True when every listener speaks TLS.
    pub tls: bool,
    /// True when API keys are required.
    pub keys: bool,
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr} ({what}): {e}"))
}

/// Prints loud warnings for exposed listeners without keys, or keys without TLS.
fn warn_if_exposed(addr: SocketAddr, what: &str, keys: bool, tls: bool) {
    if addr.ip().is_loopback() {
        return;
    }
    if !keys {
        let line = format!(
            "WARNING: simtheme serves {what} on {addr}, which is not a loopback address, WITHOUT AN API KEY: \
             anyone who can reach it can read every paragraph and delete documents. Set --api-key (or SIMTHEME_API_KEY)."
        );
        eprintln!("{line}");
    } else if !tls {
        eprintln!("WARNING: simtheme serves {what} on {addr} without TLS: API keys and texts cross the network in plaintext (set --tls-cert and --tls-key).");
    }
}

/// Binds the listen addresses, starts answering (health NOT_SERVING, SimThemeService UNAVAILABLE)
/// while the engine loads, flips health to SERVING once it is ready, and runs until `shutdown`
/// completes. `on_ready` is called with the bound addresses once the engine is ready.
pub async fn serve<F, L, R>(
    config: Config,
    load: F,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_ready: R,
) -> anyhow::Result<()>
where
    F: FnOnce(Config) -> L + Send + 'static,
    L: std::future::Future<Output = anyhow::Result<Arc<Engine>>> + Send + 'static,
    R: FnOnce(&Bound, &Engine, Option<EngineStats>) + Send + 'static,
{
    let edge = config.edge.clone();
    let tls = edge.tls.clone().map(tls::TlsState::new).transpose()?;
    let keys = auth::ApiKeys::new(&edge);
    let metrics = metrics::Metrics::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let grpc_listener = bind(config.listen, "gRPC").await?;
    let http_listener = match edge.http_listen {
        Some(a) => Some(bind(a, "HTTP/JSON").await?),
        None => None,
    };
    let metrics_listener = match edge.metrics_listen {
        Some(a) => match TcpListener::bind(a).await {
            Ok(l) => Some(l),
            Err(e) if edge.metrics_optional => {
                eprintln!("WARNING: no metrics: cannot listen on {a} ({e}); set --metrics-listen to another address, or \"\" to disable");
                None
            }
            Err(e) => anyhow::bail!("cannot listen on {a} (metrics): {e}"),
        },
        None => None,
    };
    let bound = Bound {
        grpc: grpc_listener.local_addr()?,
        http: http_listener.as_ref().map(|l| l.local_addr()).transpose()?,
        metrics: metrics_listener.as_ref().map(|l| l.local_addr()).transpose()?,
        tls: tls.is_some(),
        keys: keys.enabled(),
    };
    warn_if_exposed(bound.grpc, "gRPC", bound.keys, bound.tls);
    if let Some(a) = bound.http {
        warn_if_exposed(a, "HTTP/JSON", bound.keys, bound.tls);
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status("", ServingStatus::NotServing).await;
    health.set_service_status(SERVICE_NAME, ServingStatus::NotServing).await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let cell: EngineCell = Arc::new(OnceLock::new());
    let handlers = instrument::Instrumented::new(Handlers::new(Arc::clone(&cell)), Arc::clone(&metrics));
    let simtheme = SimThemeServiceServer::new(handlers.clone())
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);

    let grpc_tls = tls.clone().map(|t| (t, tls::Alpn::Grpc));
    let limits = listener::ConnLimits { slots: config.concurrency_limit, idle: config.idle_timeout };
    let incoming = listener::accept(grpc_listener, grpc_tls, limits, stop_rx.clone());
    let mut stop = stop_rx.clone();
    let shares = admission::Shares {
        max_requests: config.max_requests_per_client,
        max_queued_tokens: config.max_queued_tokens_per_client,
        slot_wait: config.request_timeout,
    };
    let admission = admission::Admission::new(shares, Arc::clone(&metrics));
    let shared_edge = Arc::new(edge::Edge { keys, admission, metrics: Arc::clone(&metrics), timeout: config.request_timeout });
    let edge_layer = grpc_edge::EdgeLayer(Arc::clone(&shared_edge));
    let server = tonic::transport::Server::builder()
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)))
        .max_concurrent_streams(Some(http_serve::MAX_CONCURRENT_STREAMS))
        .layer(edge_layer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(simtheme)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stop.wait_for(|s| *s).await;
        });
    let server = tokio::spawn(server);

    if let Some(l) = http_listener {
        let api = Arc::new(http_api::HttpApi {
            handlers,
            engine: Arc::clone(&cell),
            edge: shared_edge,
            max_body_bytes: config.max_message_bytes,
            ui: config.edge.ui,
        });
        let incoming = listener::accept(l, tls.clone().map(|t| (t, tls::Alpn::Http)), limits, stop_rx.clone());
        http_serve::spawn(incoming, move |req, conn| Arc::clone(&api).handle(req, conn));
    }
    if let Some(l) = metrics_listener {
        let (m, c) = (Arc::clone(&metrics), Arc::clone(&cell));
        let incoming = listener::accept(l, tls.clone().map(|t| (t, tls::Alpn::Http)), limits, stop_rx.clone());
        http_serve::spawn(incoming, move |req, _| http_serve::metrics_endpoint(req, Arc::clone(&m), Arc::clone(&c)));
    }
    if let Some(t) = tls {
        t.spawn_watcher(Arc::clone(&metrics), stop_rx.clone());
    }

    let engine = tokio::spawn(load(config)).await??;
    cell.set(Arc::clone(&engine)).map_err(|_| anyhow::anyhow!("engine set twice"))?;
    health.set_service_status("", ServingStatus::Serving).await;
    health.set_service_status(SERVICE_NAME, ServingStatus::Serving).await;
    tokio::spawn(health::watch_backend(Arc::clone(&engine), health.clone()));
    tokio::spawn(reload_glossary_on_hangup(Arc::clone(&engine)));
    let stats = engine.stats().await.ok();
    on_ready(&bound, &engine, stats);

    server.await??;
    // Every acknowledged write is already committed to the store; keep the index dump fresh
    // so the next start does not rebuild it.
    engine.checkpoint().await?;
    Ok(())
}

/// Re-reads the glossary (shipped entries plus `--glossary`) on every SIGHUP; a file that
/// cannot be used leaves the glossary in use as it was (and Stats says why).
async fn reload_glossary_on_hangup(engine: Arc<Engine>) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            match engine.load_glossary() {
                Ok(n) => {
                    let skipped = engine.glossary_status().skipped;
                    tracing::info!("glossary reloaded on SIGHUP: {n} entries ({} lines skipped)", skipped.len());
                    for line in skipped {
                        tracing::warn!("glossary line skipped: {line}");
                    }
                }
                Err(e) => tracing::warn!("{e}; the previous glossary stays in use"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = engine;
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
