//! The gRPC server: SimTheme handlers, `grpc.health.v1.Health`, server reflection (v1 and
//! v1alpha), message-size / deadline / concurrency limits, graceful shutdown.

mod convert;
mod handlers;
mod health;
mod themes;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tonic_health::ServingStatus;

use crate::config::Config;
use crate::engine::{Engine, EngineStats};
use crate::proto::sim_theme_server::SimThemeServer;

pub use convert::status;
pub use handlers::{EngineCell, Handlers};

/// The name health checks use for the SimTheme service.
pub const SERVICE_NAME: &str = "simtheme.v1.SimTheme";

/// Binds the listen address, starts answering (health NOT_SERVING, SimTheme UNAVAILABLE) while
/// the engine loads, flips health to SERVING once it is ready, and runs until `shutdown`
/// completes. `on_ready` is called with the bound address once the engine is ready.
pub async fn serve<F, L, R>(config: Config, load: F, shutdown: impl std::future::Future<Output = ()> + Send + 'static, on_ready: R) -> anyhow::Result<()>
where
    F: FnOnce(Config) -> L + Send + 'static,
    L: std::future::Future<Output = anyhow::Result<Arc<Engine>>> + Send + 'static,
    R: FnOnce(SocketAddr, &Engine, Option<EngineStats>) + Send + 'static,
{
    let listener = TcpListener::bind(config.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;

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
    let simtheme = SimThemeServer::new(Handlers::new(Arc::clone(&cell)))
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);

    // Small request/response pairs must not wait for delayed ACKs (Nagle): ~40 ms per call.
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|stream| {
            let _ = stream.set_nodelay(true);
        })
    });
    let server = tonic::transport::Server::builder()
        .timeout(config.request_timeout)
        .concurrency_limit_per_connection(config.concurrency_limit)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(simtheme)
        .serve_with_incoming_shutdown(incoming, shutdown);
    let server = tokio::spawn(server);

    let engine = tokio::spawn(load(config)).await??;
    cell.set(Arc::clone(&engine)).map_err(|_| anyhow::anyhow!("engine set twice"))?;
    health.set_service_status("", ServingStatus::Serving).await;
    health.set_service_status(SERVICE_NAME, ServingStatus::Serving).await;
    tokio::spawn(health::watch_backend(Arc::clone(&engine), health.clone()));
    let stats = engine.stats().await.ok();
    on_ready(addr, &engine, stats);

    server.await??;
    // Every acknowledged write is already committed to the store; keep the index dump fresh
    // so the next start does not rebuild it.
    engine.checkpoint().await?;
    Ok(())
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
