//! The edge shared by gRPC ([`super::grpc_edge`]) and HTTP/JSON ([`super::http_api`]): request
//! id (`x-request-id`, echoed or made), API-key check, the request deadline, the in-flight gauge,
//! and, when a call finishes, its request count and latency by transport, RPC and code plus
//! one access-log line. The transports only adapt their requests and responses to it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderMap;
use tonic::{Code, Status};

use super::access_log::{self, AccessRecord};
use super::admission::{Admission, ClientId, Ticket};
use super::auth::{Access, ApiKeys, Target};
use super::instrument::CallFacts;
use super::listener::ConnState;
use super::metrics::{InFlight, Metrics};
use super::rpcs::{self, Deadline};

/// What the edge needs: the keys, the clients' shares, the metrics and the deadline.
pub struct Edge {
    /// API keys (possibly none).
    pub keys: ApiKeys,
    /// Per-client limits and per-connection slots.
    pub admission: Arc<Admission>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Longest time a call may take to answer (`--request-timeout-secs`), except RPCs whose
    /// deadline is [`Deadline::PerMessage`] (their handler bounds the wait for each message).
    /// A gRPC client's own `grpc-timeout` applies to every call.
    pub timeout: Duration,
}

/// The transport a call came by (the `transport` label of metrics and log lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// gRPC over HTTP/2.
    Grpc,
    /// HTTP/JSON.
    Http,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

impl Edge {
    /// A call starts: request id from `headers` (or a fresh one), the in-flight gauge moves.
    /// `rpc` is the call's label: an RPC name of the table, a `service/method` of
    /// [`rpcs::OTHER_METHODS`] or `unknown`, so that clients cannot grow the label set.
    pub fn start(self: &Arc<Self>, transport: Transport, rpc: &'static str, headers: &HeaderMap, peer: Option<SocketAddr>) -> Call {
        Call {
            edge: Arc::clone(self),
            transport,
            rpc,
            request_id: access_log::request_id(headers),
            peer,
            started: Instant::now(),
            in_flight: Some(self.metrics.start(transport.label())),
            facts: CallFacts::default(),
            ticket: None,
        }
    }

    /// Whether a request with `headers` may reach `target` (UNAUTHENTICATED, PERMISSION_DENIED),
    /// and with which access.
    pub fn authorize(&self, headers: &HeaderMap, target: Target<'_>) -> Result<Access, Status> {
        self.keys.check(headers, target)
    }

    /// Admits an authorised call of `target` with `access` on connection `conn` to its
    /// client's share ([`Admission`]); health and reflection are never held back (`None`).
    pub async fn admit(&self, access: Access, target: Target<'_>, conn: &Arc<ConnState>) -> Result<Option<Ticket>, Status> {
        if !matches!(target, Target::Rpc(_)) {
            return Ok(None);
        }
        let id = match self.keys.client_label(access) {
            Some(label) => ClientId::Key(label),
            None => ClientId::Connection(conn.id),
        };
        self.admission.admit(id, conn).await.map(Some)
    }

    /// Runs `call` within the deadline of RPC `rpc` (a label of [`Edge::start`]); past it, the
    /// DEADLINE_EXCEEDED status both transports answer.
    pub async fn within_deadline<F: Future>(&self, rpc: &str, call: F) -> Result<F::Output, Status> {
        if rpcs::find(rpc).is_some_and(|r| r.deadline == Deadline::PerMessage) {
            return Ok(call.await);
        }
        tokio::time::timeout(self.timeout, call).await.map_err(|_| {
            Status::deadline_exceeded(format!(
                "no answer within {} s (the server's --request-timeout-secs); send less per call or raise it",
                self.timeout.as_secs()
            ))
        })
    }
}

/// One request being answered; finished once with its status code (on drop: CANCELLED).
pub struct Call {
    edge: Arc<Edge>,
    transport: Transport,
    rpc: &'static str,
    request_id: String,
    peer: Option<SocketAddr>,
    started: Instant,
    in_flight: Option<InFlight>,
    facts: CallFacts,
    ticket: Option<Ticket>,
}

impl Call {
    /// The call's label (see [`Edge::start`]).
    pub fn rpc(&self) -> &'static str {
        self.rpc
    }

    /// The request id, sent back in `x-request-id`.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Holds the call's admission until it finishes.
    pub fn hold(&mut self, ticket: Option<Ticket>) {
        self.ticket = ticket;
    }

    /// Tokens and hits of the answer, for the log line.
    pub fn set_facts(&mut self, facts: CallFacts) {
        self.facts = facts;
    }

    /// The call ended with `code`: metrics and the access-log line (once; later calls do nothing).
    pub fn finish(&mut self, code: Code) {
        let Some(guard) = self.in_flight.take() else { return };
        drop(guard);
        drop(self.ticket.take());
        let elapsed = self.started.elapsed();
        let transport = self.transport.label();
        self.edge.metrics.finish(transport, self.rpc, code, elapsed);
        access_log::log(&AccessRecord {
            transport,
            rpc: self.rpc,
            code,
            elapsed,
            peer: self.peer,
            request_id: &self.request_id,
            facts: self.facts,
        });
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(timeout_ms: u64) -> Arc<Edge> {
        let metrics = Metrics::new();
        let shares = super::super::admission::Shares { max_requests: 0, max_queued_tokens: 0, slot_wait: Duration::from_secs(1) };
        let admission = Admission::new(shares, Arc::clone(&metrics));
        Arc::new(Edge { keys: ApiKeys::default(), admission, metrics, timeout: Duration::from_millis(timeout_ms) })
    }

    #[tokio::test]
    async fn one_deadline_message_and_per_message_rpcs_are_exempt() {
        let e = edge(10);
        let slow = || tokio::time::sleep(Duration::from_millis(60));
        let err = e.within_deadline("NearestParagraphs", slow()).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        assert!(err.message().contains("--request-timeout-secs"), "{}", err.message());
        assert!(e.within_deadline("StreamDocuments", slow()).await.is_ok(), "StreamDocuments bounds each message itself");
        assert!(e.within_deadline("grpc.health.v1.Health/Check", slow()).await.is_err());
    }

    #[test]
    fn a_call_is_counted_once_and_a_dropped_one_as_cancelled() {
        let e = edge(1000);
        let mut c = e.start(Transport::Http, "Stats", &HeaderMap::new(), None);
        assert_eq!(c.request_id().len(), 16);
        c.finish(Code::Ok);
        c.finish(Code::Internal);
        drop(c);
        drop(e.start(Transport::Grpc, "Stats", &HeaderMap::new(), None));
        let text = e.metrics.render(None);
        assert!(text.contains(r#"simtheme_requests_total{code="OK",rpc="Stats",transport="http"} 1"#), "{text}");
        assert!(!text.contains(r#"code="INTERNAL""#), "{text}");
        assert!(text.contains(r#"simtheme_requests_total{code="CANCELLED",rpc="Stats",transport="grpc"} 1"#), "{text}");
        assert!(text.contains(r#"simtheme_requests_in_flight{transport="grpc"} 0"#), "{text}");
    }
}
