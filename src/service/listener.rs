//! Accepting connections for every listener: TCP with `TCP_NODELAY`, then (when TLS is on) a
//! handshake per connection in its own task, so a slow or hostile client cannot hold up the
//! others. A plaintext client on a TLS port gets an immediate error saying so (a gRPC status
//! or an HTTP 400) instead of a silent disconnect its library would retry until a timeout.
//!
//! Every connection carries a [`ConnState`]: its request slots (`--concurrency-limit`) and how
//! long it has had no request in flight; one idle for `--idle-timeout-secs` is closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::tls::{Alpn, TlsState};

/// Longest a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// First byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Limits every connection of a listener gets.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Requests one connection may have running at once; more wait for a slot
    /// (`--concurrency-limit`).
    pub slots: usize,
    /// A connection with no request in flight for this long is closed (`--idle-timeout-secs`);
    /// zero never closes one.
    pub idle: Duration,
}

fn process_clock() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    process_clock().elapsed().as_millis() as u64
}

/// What the edge knows of a connection: its number, peer, request slots and activity.
#[derive(Debug)]
pub struct ConnState {
    /// Unique for the life of the process (a client's identity on a server without keys).
    pub id: u64,
    /// The client's address.
    pub peer: Option<std::net::SocketAddr>,
    /// Requests that may run at once on this connection.
    pub slots: Arc<Semaphore>,
    /// Slots the connection started with.
    pub slot_count: usize,
    busy: AtomicUsize,
    idle_since_ms: AtomicU64,
}

impl ConnState {
    fn new(peer: Option<std::net::SocketAddr>, slots: usize) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            peer,
            slots: Arc::new(Semaphore::new(slots.max(1))),
            slot_count: slots.max(1),
            busy: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(now_ms()),
        }
    }

    /// The state of a connection from `peer` with `slots` request slots that came by no
    /// listener of ours (tests).
    pub fn detached(peer: Option<std::net::SocketAddr>, slots: usize) -> Arc<Self> {
        Arc::new(Self::new(peer, slots))
    }

    /// Marks a request in flight until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> BusyGuard {
        self.busy.fetch_add(1, Ordering::AcqRel);
        BusyGuard(Arc::clone(self))
    }

    /// How long the connection has had no request in flight (`None` while one is).
    fn idle_for(&self) -> Option<Duration> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(Duration::from_millis(now_ms().saturating_sub(self.idle_since_ms.load(Ordering::Acquire))))
    }
}

/// A request in flight on a connection (see [`ConnState::busy`]).
#[derive(Debug)]
pub struct BusyGuard(Arc<ConnState>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.idle_since_ms.store(now_ms(), Ordering::Release);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection information tonic puts in every request's extensions.
#[derive(Debug, Clone)]
pub struct ConnInfo(pub Arc<ConnState>);

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// One accepted connection, plaintext or TLS, closed once idle for its limit.
pub struct Conn {
    io: Io,
    state: Arc<ConnState>,
    idle_limit: Duration,
    idle_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Conn {
    fn new(io: Io, limits: ConnLimits) -> Self {
        let tcp = match &io {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        };
        let state = Arc::new(ConnState::new(tcp.peer_addr().ok(), limits.slots));
        let idle_timer = (!limits.idle.is_zero()).then(|| Box::pin(tokio::time::sleep(limits.idle)));
        Self { io, state, idle_limit: limits.idle, idle_timer }
    }

    /// The connection's state, shared with the edge.
    pub fn state(&self) -> &Arc<ConnState> {
        &self.state
    }

    /// True once the connection has been idle for its limit; otherwise arms the timer to wake
    /// the reader when that may happen.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timer) = self.idle_timer.as_mut() else { return false };
        while timer.as_mut().poll(cx).is_ready() {
            let wait = match self.state.idle_for() {
                Some(idle) if idle >= self.idle_limit => {
                    tracing::debug!("closing connection from {:?}: idle for {} s", self.state.peer, idle.as_secs());
                    return true;
                }
                Some(idle) => self.idle_limit - idle,
                None => self.idle_limit,
            };
            timer.as_mut().reset(tokio::time::Instant::now() + wait);
        }
        false
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        ConnInfo(Arc::clone(&self.state))
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let read = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        match read {
            // idle for too long: end of stream, so the server closes the connection
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accepts connections on `listener` until `shutdown` turns true, completing TLS handshakes
/// (when `tls` is set) concurrently; yields ready connections.
pub fn accept(
    listener: TcpListener,
    tls: Option<(Arc<TlsState>, Alpn)>,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            let (stream, peer) = match accepted {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Small request/response pairs must not wait for delayed ACKs (Nagle): ~40 ms per call.
            let _ = stream.set_nodelay(true);
            match &tls {
                None => {
                    if tx.send(Ok(Conn::new(Io::Plain(stream), limits))).await.is_err() {
                        break;
                    }
                }
                Some((state, alpn)) => {
                    let acceptor = state.acceptor(*alpn);
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        // A TLS connection opens with a handshake record (0x16); anything else is a
                        // plaintext client, told at once that this port speaks TLS.
                        let mut first = [0u8; 1];
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
                            Ok(Ok(1)) if first[0] != TLS_HANDSHAKE_RECORD => {
                                tracing::info!("plaintext client {peer} on a TLS port: answered with an error");
                                super::plaintext::refuse_plaintext(stream).await;
                                return;
                            }
                            Ok(Ok(1)) => {}
                            _ => return,
                        }
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => {
                                let _ = tx.send(Ok(Conn::new(Io::Tls(Box::new(s)), limits))).await;
                            }
                            Ok(Err(e)) => tracing::info!("TLS handshake with {peer} failed: {e}"),
                            Err(_) => tracing::info!("TLS handshake with {peer} timed out"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}
