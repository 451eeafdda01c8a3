//! The answer of a TLS port to a plaintext client: every request gets an error naming the
//! problem (a gRPC status or an HTTP 400) instead of a silent disconnect its library would
//! retry until a timeout.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    r
}

/// What a plaintext client on a TLS port is told.
const TLS_ONLY: &str = "this port speaks TLS: connect with TLS (grpcurl -cacert CA.pem ..., curl https://...)";

/// Answers every request of a plaintext connection on a TLS port with an error naming the
/// problem: gRPC calls get FAILED_PRECONDITION, other requests HTTP 400; then closes.
pub async fn refuse_plaintext(stream: TcpStream) {
    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
        let grpc = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/grpc"));
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
