//! Serving plain HTTP (HTTP/1.1 and HTTP/2, over TLS when configured) with hyper: the loop
//! shared by the HTTP/JSON API and the metrics endpoint, and the metrics endpoint itself.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use super::listener::Conn;
use super::metrics::{EngineFigures, Metrics};
use super::EngineCell;

/// Serves every connection of `incoming` with `handler` until the stream ends (at shutdown).
pub fn spawn<F, Fut>(mut incoming: ReceiverStream<std::io::Result<Conn>>, handler: F)
where
    F: Fn(Request<Incoming>, Option<SocketAddr>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(conn) = incoming.next().await {
            let Ok(conn) = conn else { continue };
            let peer = conn.peer();
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req, peer).await) }
                });
                if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(conn), service)
                    .await
                {
                    tracing::debug!("HTTP connection from {peer:?} ended: {e}");
                }
            });
        }
    });
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

/// What a plaintext client on a TLS port is told.
const TLS_ONLY: &str = "this port speaks TLS: connect with TLS (grpcurl -cacert CA.pem ..., curl https://...)";

/// Answers every request of a plaintext connection on a TLS port with an error naming the
/// problem: gRPC calls get FAILED_PRECONDITION, other requests HTTP 400; then closes.
pub async fn refuse_plaintext(stream: TcpStream) {
    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
        let grpc = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let resp = if grpc {
            let mut r = response(StatusCode::OK, "application/grpc", Bytes::new());
            r.headers_mut().insert("grpc-status", header::HeaderValue::from_static("9"));
            r.headers_mut().insert("grpc-message", header::HeaderValue::from_static(TLS_ONLY));
            r
        } else {
            let body = serde_json::json!({ "code": "FAILED_PRECONDITION", "message": TLS_ONLY }).to_string();
            let mut r = response(StatusCode::BAD_REQUEST, "application/json", body);
            r.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
            r
        };
        Ok::<_, Infallible>(resp)
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let serve = builder.serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), serve).await;
}
