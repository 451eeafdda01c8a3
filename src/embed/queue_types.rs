//! The public types of the embedding queue ([`super::queue`]): its errors, settings and
//! counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::EmbedError;

/// Why a queued embedding did not happen.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue holds its maximum number of waiting requests.
    #[error("embedding queue is full (capacity: {0} waiting requests); retry later")]
    Full(usize),
    /// The worker has stopped (server shutting down).
    #[error("embedding worker has stopped")]
    Stopped,
    /// The client already has its share of tokens queued ([`ClientShare`]).
    #[error("this client already has {queued} tokens waiting to be embedded (its share is {max}); wait for its earlier requests or retry in a moment")]
    ClientBusy {
        /// Tokens the client had queued.
        queued: usize,
        /// The client's share.
        max: usize,
    },
    /// The embedder rejected the texts (bad input) or failed on this request alone.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The forward pass shared by this request and others failed or panicked (a bug, not
    /// bad input).
    #[error("embedding failed: {0}")]
    Failed(String),
}

/// Settings of the queue.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// Requests that may wait in each lane before new ones are refused. Default 256.
    pub capacity: usize,
    /// Tokens of waiting requests merged into one round (special tokens and prefixes
    /// included; a larger request runs alone). Default 4,096.
    pub batch_tokens: usize,
    /// Padded tokens (longest window × windows) of one forward pass of the bulk lane.
    /// Default 2,048 (large enough for full-speed matrix products).
    pub sub_batch_tokens: usize,
    /// Padded tokens of one forward pass of the bulk lane while searches run or ran within the
    /// last 200 ms (at most `sub_batch_tokens`). Default 512: a search shares the cores with a
    /// short step at most (abuse bench: p99 during a flood 2.24x alone with full passes, 1.66x
    /// with these), while ingestion under continuous queries runs at about half its speed.
    pub query_pass_tokens: usize,
    /// Nice value (0..=19) of the bulk lane's threads on Linux, the only lowering when
    /// [`bulk_idle`](Self::bulk_idle) is off: with 10 (the default) a running query gets ~90%
    /// of the cores it shares with ingestion; 0 (and `bulk_idle` off) gives both lanes the
    /// same priority. Ignored elsewhere.
    pub bulk_nice: i32,
    /// Run the bulk lane's threads under Linux `SCHED_IDLE` (default true): they only get a
    /// core no query thread wants, and a waking query thread preempts them at once, where a
    /// nice value alone lets them finish their time slice first. Ignored elsewhere.
    pub bulk_idle: bool,
    /// Requests with at most this many bytes of text take the interactive lane, larger ones
    /// the bulk lane, whatever their mode. Default 2,048.
    pub interactive_bytes: usize,
    /// Longest pause, milliseconds, of the bulk lane after a step of an encoder layer
    /// (attention, FFN up, FFN down) while an interactive round or a search runs (it resumes
    /// as soon as they end): the queries get the cores to themselves, and ingestion still
    /// advances at least one step per pause while queries never stop. Default 20; 0 never
    /// pauses.
    pub bulk_pause_ms: u64,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            capacity: 256,
            batch_tokens: 4_096,
            sub_batch_tokens: 2_048,
            query_pass_tokens: 512,
            bulk_nice: 10,
            bulk_idle: true,
            interactive_bytes: 2_048,
            bulk_pause_ms: 20,
        }
    }
}

/// Counters of the workers, for tests and stats.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Requests served (both lanes).
    pub jobs: AtomicU64,
    /// Rounds run (both lanes; each may hold several requests).
    pub batches: AtomicU64,
    /// Requests served by the interactive lane.
    pub interactive_jobs: AtomicU64,
    /// Rounds of the interactive lane.
    pub interactive_batches: AtomicU64,
    /// Interactive rounds that ran while a bulk round was unfinished (queries that did not
    /// wait for ingestion).
    pub interactive_during_bulk: AtomicU64,
    /// Time requests of the interactive lane waited before their round started, total, µs.
    pub interactive_wait_us: AtomicU64,
    /// Longest such wait, µs.
    pub interactive_wait_max_us: AtomicU64,
    /// Requests served by the bulk lane.
    pub bulk_jobs: AtomicU64,
    /// Rounds of the bulk lane.
    pub bulk_batches: AtomicU64,
    /// Forward passes (sub-batches) of the bulk lane finished.
    pub bulk_sub_batches: AtomicU64,
    /// Tokens embedded by the bulk lane (progress of ingestion).
    pub bulk_tokens: AtomicU64,
    /// Requests waiting in either lane right now.
    pub waiting: AtomicU64,
    /// True while a bulk round is running.
    pub bulk_running: AtomicBool,
    /// True while the interactive lane works on a round.
    pub interactive_running: AtomicBool,
    /// When the last query round or search ended, microseconds on the queue's clock.
    pub last_query_end_us: AtomicU64,
    /// Searches in flight ([`QueueStats::foreground`]): the bulk lane steps aside for them too,
    /// not only while their query is embedded.
    pub foreground: AtomicU64,
    /// Times the bulk lane paused between layers for an interactive round.
    pub bulk_pauses: AtomicU64,
    /// Requests whose caller had gone (deadline, reset, disconnect) when the worker took them
    /// or while they were embedded: dropped, or stopped at the next layer.
    pub cancelled: AtomicU64,
    /// Forward passes skipped or stopped at a layer boundary because no caller of theirs was
    /// left.
    pub cancelled_passes: AtomicU64,
    /// Requests refused because their client had its share of tokens queued.
    pub refused_client_busy: AtomicU64,
}

impl QueueStats {
    /// Marks a search in flight until the guard is dropped: while any is, the bulk lane pauses
    /// at its next step (at most [`QueueOptions::bulk_pause_ms`] per step), so the search's
    /// index and keyword work does not share the cores with ingestion either.
    pub fn foreground(&self) -> Foreground<'_> {
        self.foreground.fetch_add(1, Ordering::AcqRel);
        Foreground(self)
    }

    /// A query round or a search has just ended.
    pub(crate) fn query_ended(&self) {
        self.last_query_end_us.store(clock_us(), Ordering::Release);
    }

    /// True while a query round or a search runs, and for [`QUERIES_RECENT_MS`] after one
    /// ended (the next search of a client is likely on its way): the bulk lane cuts short passes.
    pub(crate) fn queries_recent(&self) -> bool {
        self.queries_active() || clock_us().saturating_sub(self.last_query_end_us.load(Ordering::Acquire)) < QUERIES_RECENT_MS * 1_000
    }

    /// True while a query round or a search is running (the bulk lane should step aside).
    pub(crate) fn queries_active(&self) -> bool {
        self.interactive_running.load(Ordering::Acquire) || self.foreground.load(Ordering::Acquire) > 0
    }
}

/// A search in flight; see [`QueueStats::foreground`].
#[derive(Debug)]
pub struct Foreground<'a>(&'a QueueStats);

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        self.0.query_ended();
        self.0.foreground.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long after a query the bulk lane keeps its passes short, milliseconds.
pub(crate) const QUERIES_RECENT_MS: u64 = 200;

/// Microseconds since the queue's clock started (the first call), never 0 after it.
fn clock_us() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_micros() as u64 + QUERIES_RECENT_MS * 1_000
}
