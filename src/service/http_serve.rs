//! Serving plain HTTP (HTTP/1.1 and HTTP/2, over TLS when configured) with hyper: the loop
//! shared by the HTTP/JSON API and the metrics endpoint, and the metrics endpoint itself.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use super::handlers::EngineCell;
use super::listener::{Conn, ConnState};
use super::metrics::{EngineFigures, Metrics};

/// Longest a client may take to send a request's headers (also how long an idle keep-alive
/// connection stays open); a slower one is disconnected.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Streams one HTTP/2 connection may have open at once.
pub const MAX_CONCURRENT_STREAMS: u32 = 128;

/// HTTP/1 and HTTP/2 settings of the HTTP listener: header read timeout, stream limit, and
/// keep-alive pings that close dead HTTP/2 connections.
fn connection_builder() -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

/// Serves every connection of `incoming` with `handler` until the stream ends (at shutdown).
pub fn spawn<F, Fut>(mut incoming: ReceiverStream<std::io::Result<Conn>>, handler: F)
where
    F: Fn(Request<Incoming>, Arc<ConnState>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(conn) = incoming.next().await {
            let Ok(conn) = conn else { continue };
            let state = Arc::clone(conn.state());
            let peer = state.peer;
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(handler(req, state).await) }
                });
                if let Err(e) = connection_builder().serve_connection(TokioIo::new(conn), service).await {
                    tracing::debug!("HTTP connection from {peer:?} ended: {e}");
                }
            });
        }
    });
}

/// The JSON body of an error: `{"code": "INVALID_ARGUMENT", "message": "..."}`.
pub fn error_body(status: &tonic::Status) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "code": super::metrics::code_name(status.code()), "message": status.message() }))
        .unwrap_or_default()
}

/// A response with `body` and `content_type`.
pub fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    r
}

/// `GET /metrics`: the Prometheus text exposition (engine figures read at scrape time).
pub async fn metrics_endpoint(req: Request<Incoming>, metrics: Arc<Metrics>, engine: EngineCell) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return response(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "metrics are at GET /metrics\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return response(StatusCode::METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "use GET /metrics\n");
    }
    let figures = match engine.get() {
        Some(e) => match EngineFigures::read(e).await {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("metrics: cannot read engine figures: {e:#}");
                None
            }
        },
        None => None,
    };
    let text = metrics.render(figures.as_ref());
    response(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", text)
}
