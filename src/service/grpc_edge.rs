//! The tower layer putting the shared [`Edge`] around every gRPC service: labels the call by
//! its path, checks the key, runs it within the deadline, echoes the request id, and finishes
//! the call when the response body ends with its `grpc-status` trailer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;

use super::access_log::REQUEST_ID;
use super::auth::{grpc_target, Target};
use super::edge::{Call, Edge, Transport};
use super::instrument::CallFacts;
use super::listener::{ConnInfo, ConnState};
use super::rpcs;

/// Tower layer adding the edge to a gRPC service.
#[derive(Clone)]
pub struct EdgeLayer(pub Arc<Edge>);

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> EdgeService<S> {
        EdgeService { inner, edge: Arc::clone(&self.0) }
    }
}

/// See [`EdgeLayer`].
#[derive(Clone)]
pub struct EdgeService<S> {
    inner: S,
    edge: Arc<Edge>,
}

/// The label of a gRPC path: the method for SimThemeService RPCs of the table, `service/method` for
/// health and reflection, `unknown` for anything else.
fn rpc_label(path: &str) -> &'static str {
    match grpc_target(path) {
        Some(Target::Rpc(m)) => rpcs::find(m).map_or("unknown", |r| r.name),
        Some(_) => {
            let method = path.trim_start_matches('/');
            rpcs::OTHER_METHODS.iter().find(|m| **m == method).copied().unwrap_or("unknown")
        }
        None => "unknown",
    }
}

/// The `grpc-status` of a header or trailer map, if present.
fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let v = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(Code::from_i32(v))
}

impl<S, B> tower::Service<http::Request<tonic::body::Body>> for EdgeService<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<EdgeBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        // The clone is the one that was not polled ready (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = req.uri().path();
        // health and reflection are open and never held back; anything else counts as an RPC
        let target: Target<'static> = match grpc_target(path) {
            Some(Target::Health) => Target::Health,
            Some(Target::Reflection) => Target::Reflection,
            _ => Target::Rpc(rpc_label(path)),
        };
        let decision = self.edge.authorize(req.headers(), target);
        let conn = req.extensions().get::<ConnInfo>().map_or_else(|| ConnState::detached(None, 1 << 16), |c| Arc::clone(&c.0));
        let mut call = self.edge.start(Transport::Grpc, rpc_label(path), req.headers(), conn.peer);
        let edge = Arc::clone(&self.edge);
        Box::pin(async move {
            let id = HeaderValue::from_str(call.request_id()).ok();
            let access = match decision {
                Ok(a) => a,
                Err(status) => return Ok(refusal(status, id, &mut call)),
            };
            let ticket = match edge.admit(access, target, &conn).await {
                Ok(t) => t,
                Err(status) => return Ok(refusal(status, id, &mut call)),
            };
            let share = ticket.as_ref().map(|t| t.share());
            call.hold(ticket);
            let served = async move {
                match share {
                    Some(share) => crate::embed::with_share(share, inner.call(req)).await,
                    None => inner.call(req).await,
                }
            };
            let resp = match edge.within_deadline(call.rpc(), served).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    call.finish(Code::Internal);
                    return Err(e);
                }
                Err(status) => return Ok(refusal(status, id, &mut call)),
            };
            let (mut parts, body) = resp.into_parts();
            if grpc_status(&parts.headers) == Some(Code::OutOfRange) {
                // Only tonic's message-size check answers OUT_OF_RANGE here; the gRPC spec's code
                // for a message above the limit is RESOURCE_EXHAUSTED.
                let said = tonic::Status::from_header_map(&parts.headers).map(|s| s.message().to_string()).unwrap_or_default();
                let status = tonic::Status::resource_exhausted(format!(
                    "the request message is larger than the server accepts ({said}); send less per call or raise --max-message-bytes"
                ));
                return Ok(refusal(status, id, &mut call));
            }
            if let Some(id) = id {
                parts.headers.insert(REQUEST_ID, id);
            }
            call.set_facts(parts.extensions.get::<CallFacts>().copied().unwrap_or_default());
            let body = tonic::body::Body::new(body);
            let call = match grpc_status(&parts.headers) {
                // Trailers-only response (an error): the status is already known.
                Some(code) => {
                    call.finish(code);
                    None
                }
                None => Some(call),
            };
            Ok(http::Response::from_parts(parts, EdgeBody { inner: Some(body), call }))
        })
    }
}

/// The edge's own answer, `status` with no body (a refused key, a missed deadline): carries
/// the request id and finishes the call.
fn refusal(status: tonic::Status, id: Option<HeaderValue>, call: &mut Call) -> http::Response<EdgeBody> {
    let code = status.code();
    let (mut parts, _) = status.into_http::<tonic::body::Body>().into_parts();
    if let Some(id) = id {
        parts.headers.insert(REQUEST_ID, id);
    }
    call.finish(code);
    http::Response::from_parts(parts, EdgeBody { inner: None, call: None })
}

/// The response body, passed through; it finishes the [`Call`] at the `grpc-status` trailer.
pub struct EdgeBody {
    inner: Option<tonic::body::Body>,
    call: Option<Call>,
}

impl Body for EdgeBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else { return Poll::Ready(None) };
        let frame = ready!(Pin::new(inner).poll_frame(cx));
        let code = match &frame {
            Some(Ok(f)) => f.trailers_ref().and_then(grpc_status),
            Some(Err(s)) => Some(s.code()),
            None => Some(Code::Unknown),
        };
        if let Some(code) = code {
            if let Some(mut call) = this.call.take() {
                call.finish(code);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(|b| b.size_hint()).unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_to_known_methods() {
        assert_eq!(rpc_label("/simtheme.v1.SimThemeService/NearestParagraphs"), "NearestParagraphs");
        assert_eq!(rpc_label("/simtheme.v1.SimThemeService/StreamDocuments"), "StreamDocuments");
        assert_eq!(rpc_label("/grpc.health.v1.Health/Check"), "grpc.health.v1.Health/Check");
        assert_eq!(rpc_label("/simtheme.v1.SimThemeService/Made-Up-1234"), "unknown");
        assert_eq!(rpc_label("/grpc.health.v1.Health/Other"), "unknown");
        assert_eq!(rpc_label("/x.Y/Z"), "unknown");
    }
}
