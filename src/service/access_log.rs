//! One structured `tracing` line per request (target `simtheme::access`, level INFO): transport,
//! RPC, status, elapsed ms, tokens embedded, hits, peer address and request id. With
//! `--log-format json` each line is a JSON object. Keys and bodies are never logged.

use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderMap;
use rand::Rng;

use super::instrument::CallFacts;
use super::metrics::code_name;

/// Name of the request-id header: echoed when the client sends one, generated otherwise.
pub const REQUEST_ID: &str = "x-request-id";

/// The client's request id if it is a plain one (1-128 characters among ASCII letters, digits
/// and `-_.:/+`, so it cannot forge a field of a text log line), else a fresh random one (16
/// hex digits).
pub fn request_id(headers: &HeaderMap) -> String {
    if let Some(v) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/+".contains(&b)) {
            return v.to_string();
        }
    }
    format!("{:016x}", rand::rng().random::<u64>())
}

/// A finished request, as logged.
pub struct AccessRecord<'a> {
    /// `grpc` or `http`.
    pub transport: &'static str,
    /// RPC name (`NearestParagraphs`, `grpc.health.v1.Health/Check`, ...).
    pub rpc: &'a str,
    /// Final status code.
    pub code: tonic::Code,
    /// Time from request to the end of the response.
    pub elapsed: Duration,
    /// Client address.
    pub peer: Option<SocketAddr>,
    /// Request id (also sent back in `x-request-id`).
    pub request_id: &'a str,
    /// Tokens and hits, when the call reports them.
    pub facts: CallFacts,
}

/// Writes the record's line.
pub fn log(r: &AccessRecord<'_>) {
    let peer = r.peer.map(|p| p.to_string()).unwrap_or_default();
    tracing::info!(
        target: "simtheme::access",
        transport = r.transport,
        rpc = r.rpc,
        status = code_name(r.code),
        elapsed_ms = (r.elapsed.as_secs_f64() * 1e6).round() / 1e3,
        tokens = r.facts.tokens,
        hits = r.facts.hits,
        peer = %peer,
        request_id = %r.request_id,
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, "abc-123".parse().unwrap());
        assert_eq!(request_id(&h), "abc-123");
        h.insert(REQUEST_ID, "a b".parse().unwrap());
        let fresh = request_id(&h);
        assert_eq!(fresh.len(), 16);
        assert_ne!(fresh, request_id(&HeaderMap::new()));
        for forged in ["x,status=OK", "x\"status=ok", "id=1", "a;b"] {
            h.insert(REQUEST_ID, forged.parse().unwrap());
            assert_eq!(request_id(&h).len(), 16, "{forged} is replaced");
        }
        h.insert(REQUEST_ID, "trace:1/2-b_c.d+e".parse().unwrap());
        assert_eq!(request_id(&h), "trace:1/2-b_c.d+e");
    }
}
