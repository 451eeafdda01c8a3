//! A client's share of the embedding queue: the tokens its requests may have waiting or running
//! at once, and the identity the queue takes turns by. The service gives each request the
//! share of its client (its API key, or its connection on a server without keys) with
//! [`with_share`]; the queue finds it with [`current`]. Work with no share (the CLI, start-up
//! seeding, tests) shares one anonymous identity and has no token limit.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

tokio::task_local! {
    static SHARE: Arc<ClientShare>;
}

/// One client's limits and counters in the embedding queue.
#[derive(Debug)]
pub struct ClientShare {
    id: u64,
    max_tokens: usize,
    queued: AtomicUsize,
    refused: AtomicU64,
}

impl ClientShare {
    /// A share named `id` (clients with the same id take turns as one) that may have at most
    /// `max_tokens` tokens waiting or being embedded at once (0: no limit). One request
    /// larger than that is still taken when the client has nothing else queued.
    pub fn new(id: u64, max_tokens: usize) -> Self {
        Self { id, max_tokens, queued: AtomicUsize::new(0), refused: AtomicU64::new(0) }
    }

    /// The identity the queue takes turns by.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Tokens this client has waiting or being embedded now.
    pub fn queued_tokens(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The limit given to [`ClientShare::new`] (0: none).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Requests refused because the client had too many tokens queued.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Reserves `tokens` for a request, or says how many the client already has queued.
    pub(crate) fn reserve(self: &Arc<Self>, tokens: usize) -> Result<Reservation, usize> {
        let mut now = self.queued.load(Ordering::Relaxed);
        loop {
            if self.max_tokens > 0 && now > 0 && now + tokens > self.max_tokens {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(now);
            }
            match self.queued.compare_exchange_weak(now, now + tokens, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Ok(Reservation { share: Arc::clone(self), tokens }),
                Err(seen) => now = seen,
            }
        }
    }
}

/// Tokens reserved for one queued request; given back when it is dropped (answered, failed or
/// abandoned).
#[derive(Debug)]
pub(crate) struct Reservation {
    share: Arc<ClientShare>,
    tokens: usize,
}

impl Reservation {
    /// Replaces the admission estimate by the exact count once the request is tokenised.
    pub(crate) fn settle(&mut self, tokens: usize) {
        if tokens < self.tokens {
            self.share.queued.fetch_sub(self.tokens - tokens, Ordering::AcqRel);
        } else {
            self.share.queued.fetch_add(tokens - self.tokens, Ordering::AcqRel);
        }
        self.tokens = tokens;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.share.queued.fetch_sub(self.tokens, Ordering::AcqRel);
    }
}

/// Runs `f` with `share` as the client of every embedding it queues.
pub async fn with_share<F: Future>(share: Arc<ClientShare>, f: F) -> F::Output {
    SHARE.scope(share, f).await
}

/// The share of the request being served, if the service set one.
pub(crate) fn current() -> Option<Arc<ClientShare>> {
    SHARE.try_with(Arc::clone).ok()
}

/// Upper bound of the tokens of `texts` before they are tokenised: every token covers at least
/// one character, plus the two special tokens and the mode prefix per text (at most one window
/// per 500 characters adds two more).
pub(crate) fn estimate_tokens(texts: &[String]) -> usize {
    texts.iter().map(|t| t.chars().count() + 8 + 2 * (t.len() / 500)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_admits_up_to_its_limit_and_one_large_request_alone() {
        let s = Arc::new(ClientShare::new(7, 100));
        let big = s.reserve(250).expect("alone, a request above the limit is taken");
        assert_eq!(s.queued_tokens(), 250);
        assert_eq!(s.reserve(1).unwrap_err(), 250, "nothing more while it is queued");
        drop(big);
        let a = s.reserve(60).unwrap();
        let mut b = s.reserve(40).unwrap();
        assert!(s.reserve(1).is_err());
        b.settle(10);
        assert_eq!(s.queued_tokens(), 70, "the exact count replaces the estimate");
        let c = s.reserve(30).unwrap();
        drop((a, b, c));
        assert_eq!(s.queued_tokens(), 0);
        assert_eq!(s.refused(), 2);
        let unlimited = Arc::new(ClientShare::new(0, 0));
        let _x = unlimited.reserve(1 << 30).unwrap();
        assert!(unlimited.reserve(1 << 30).is_ok());
    }

    #[test]
    fn the_estimate_bounds_the_tokens_from_above() {
        assert_eq!(estimate_tokens(&["abc".into()]), 11);
        assert!(estimate_tokens(&["字".repeat(1000)]) >= 1000 + 2 * 2 + 2);
    }

    #[tokio::test]
    async fn the_share_is_seen_inside_the_scope_only() {
        assert!(current().is_none());
        let s = Arc::new(ClientShare::new(3, 10));
        let id = with_share(Arc::clone(&s), async { current().map(|s| s.id()) }).await;
        assert_eq!(id, Some(3));
    }
}
