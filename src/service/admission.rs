//! Fair shares per client. A client is an API key (its requests over every connection
//! together) or, on a server without keys, one connection. Each client may have at most
//! `--max-requests-per-client` requests in flight and `--max-queued-tokens-per-client` tokens
//! waiting in the embedding queue ([`crate::embed::ClientShare`]); beyond either it gets
//! RESOURCE_EXHAUSTED (HTTP 429) with `retry-after: 1` at once, and the other clients keep
//! their latency. On each connection, at most `--concurrency-limit` requests run at once; the
//! others wait for a slot, but never longer than the request timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tonic::Status;

use super::listener::{BusyGuard, ConnState};
use super::metrics::{InFlight, Metrics};
use crate::embed::ClientShare;

/// Header (gRPC metadata and HTTP) telling a refused client when to try again, seconds.
pub const RETRY_AFTER: &str = "retry-after";

/// `status` with `retry-after: 1`: the same request may succeed in a second.
pub fn retry_later(mut status: Status) -> Status {
    status.metadata_mut().insert(RETRY_AFTER, tonic::metadata::MetadataValue::from_static("1"));
    status
}

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientId {
    /// A configured API key, by its label (role and hashed digest).
    Key(Arc<str>),
    /// A connection (servers without keys), by [`ConnState::id`].
    Connection(u64),
}

impl ClientId {
    /// The metrics label: the key's, or `connection` for every keyless client together.
    fn label(&self) -> &str {
        match self {
            ClientId::Key(label) => label,
            ClientId::Connection(_) => "connection",
        }
    }

    /// The identity the embedding queue takes turns by.
    fn queue_id(&self) -> u64 {
        match self {
            ClientId::Key(label) => {
                let label: &str = label;
                // keys are few and fixed: a stable number per label, away from connection ids
                let h = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
                h | 1 << 63
            }
            ClientId::Connection(id) => *id,
        }
    }
}

/// The limits of [`Admission`].
#[derive(Debug, Clone, Copy)]
pub struct Shares {
    /// Requests one client may have in flight (0: no limit).
    pub max_requests: usize,
    /// Tokens one client may have waiting in the embedding queue (0: no limit).
    pub max_queued_tokens: usize,
    /// Longest wait for one of a connection's request slots.
    pub slot_wait: Duration,
}

struct Client {
    share: Arc<ClientShare>,
    in_flight: AtomicUsize,
    /// Token refusals of the share already counted in the metrics.
    refusals_counted: AtomicU64,
}

/// The clients seen and their shares; see the module docs.
pub struct Admission {
    shares: Shares,
    clients: Mutex<HashMap<ClientId, Arc<Client>>>,
    metrics: Arc<Metrics>,
}

/// An admitted request: holds its client's place, the connection's slot and the in-flight
/// marks until dropped.
pub struct Ticket {
    admission: Arc<Admission>,
    id: ClientId,
    client: Arc<Client>,
    _gauge: InFlight,
    _busy: BusyGuard,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Admission {
    /// Shares of `shares`, counted in `metrics`.
    pub fn new(shares: Shares, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self { shares, clients: Mutex::new(HashMap::new()), metrics })
    }

    fn client(&self, id: &ClientId) -> Arc<Client> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let client = clients.entry(id.clone()).or_insert_with(|| {
            Arc::new(Client {
                share: Arc::new(ClientShare::new(id.queue_id(), self.shares.max_queued_tokens)),
                in_flight: AtomicUsize::new(0),
                refusals_counted: AtomicU64::new(0),
            })
        });
        Arc::clone(client)
    }

    /// Admits a request of `id` on connection `conn`: refuses it when the client is at its
    /// limit, else waits for a slot of the connection (at most [`Shares::slot_wait`]).
    pub async fn admit(self: &Arc<Self>, id: ClientId, conn: &Arc<ConnState>) -> Result<Ticket, Status> {
        let client = self.client(&id);
        let before = client.in_flight.fetch_add(1, Ordering::AcqRel);
        let busy = conn.busy();
        let refuse = |client: &Arc<Client>| {
            client.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.metrics.client_refused(id.label(), "requests", 1);
        };
        let max = self.shares.max_requests;
        if max > 0 && before >= max {
            refuse(&client);
            return Err(retry_later(Status::resource_exhausted(format!(
                "this client already has {before} requests in flight (the server's --max-requests-per-client is {max}); wait for some to finish"
            ))));
        }
        let slot = match tokio::time::timeout(self.shares.slot_wait, Arc::clone(&conn.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            Ok(Err(_)) => None, // never closed
            Err(_) => {
                refuse(&client);
                return Err(retry_later(Status::resource_exhausted(format!(
                    "all {} request slots of this connection stayed busy for {} s (the server's --concurrency-limit); send fewer requests at once per connection",
                    conn.slot_count,
                    self.shares.slot_wait.as_secs()
                ))));
            }
        };
        let gauge = self.metrics.client_admitted(id.label());
        Ok(Ticket { admission: Arc::clone(self), id, client, _gauge: gauge, _slot: slot, _busy: busy })
    }
}

impl Ticket {
    /// The client's share of the embedding queue, for [`crate::embed::with_share`].
    pub fn share(&self) -> Arc<ClientShare> {
        Arc::clone(&self.client.share)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let refused = self.client.share.refused();
        let counted = self.client.refusals_counted.fetch_max(refused, Ordering::AcqRel);
        if refused > counted {
            self.admission.metrics.client_refused(self.id.label(), "tokens", refused - counted);
        }
        let left = self.client.in_flight.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 && matches!(self.id, ClientId::Connection(_)) {
            // connections come and go: forget an idle one (a new request makes a new entry)
            let mut clients = self.admission.clients.lock().unwrap_or_else(|p| p.into_inner());
            if self.client.in_flight.load(Ordering::Acquire) == 0 {
                clients.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max_requests: usize, slot_wait_ms: u64) -> Arc<Admission> {
        let shares = Shares { max_requests, max_queued_tokens: 100, slot_wait: Duration::from_millis(slot_wait_ms) };
        Admission::new(shares, Metrics::new())
    }

    #[tokio::test]
    async fn a_client_at_its_limit_is_refused_with_retry_after_and_others_are_not() {
        let a = admission(2, 1000);
        let conn = ConnState::detached(None, 64);
        let flood = ClientId::Key("read-only-00000000".into());
        let t1 = a.admit(flood.clone(), &conn).await.unwrap();
        let _t2 = a.admit(flood.clone(), &conn).await.unwrap();
        let refused = a.admit(flood.clone(), &conn).await.err().expect("third request refused");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert_eq!(refused.metadata().get(RETRY_AFTER).unwrap(), "1");
        assert!(refused.message().contains("--max-requests-per-client"), "{}", refused.message());
        assert!(a.admit(ClientId::Key("full-11111111".into()), &conn).await.is_ok(), "another key keeps its share");
        drop(t1);
        assert!(a.admit(flood, &conn).await.is_ok(), "a finished request frees its place");
        let text = a.metrics.render(None);
        assert!(text.contains(r#"simtheme_client_refused_total{client="read-only-00000000",limit="requests"} 1"#), "{text}");
    }

    #[tokio::test]
    async fn a_request_waits_for_a_connection_slot_at_most_the_slot_wait() {
        let a = admission(0, 50);
        let conn = ConnState::detached(None, 1);
        let held = a.admit(ClientId::Connection(conn.id), &conn).await.unwrap();
        let refused = a.admit(ClientId::Connection(conn.id), &conn).await.err().expect("no slot within the wait");
        assert!(refused.message().contains("--concurrency-limit"), "{}", refused.message());
        let waiting = {
            let (a, conn) = (Arc::clone(&a), Arc::clone(&conn));
            tokio::spawn(async move { a.admit(ClientId::Connection(conn.id), &conn).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        assert!(waiting.await.unwrap().is_ok(), "a slot freed within the wait is taken");
        assert!(a.clients.lock().unwrap().is_empty(), "idle connections are forgotten");
    }
}
