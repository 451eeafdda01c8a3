//! A bounded, two-lane queue in front of the embedder, shared by all requests.
//!
//! * The **interactive lane** takes queries (`Mode::Query`) and any request with little
//!   text (up to [`QueueOptions::interactive_bytes`]): a search, a similarity, routing one
//!   text to a theme.
//! * The **bulk lane** takes everything else: ingestion.
//!
//! Each lane has its own bounded channel and its own worker thread. A worker tokenises each
//! request as it takes it and keeps taking waiting requests of its lane until their tokens
//! reach a budget, then embeds them together, so 32 concurrent clients cost a few forward
//! passes rather than 32. A request that would overshoot the budget waits for the next
//! round; one larger than the budget runs alone.
//!
//! The lanes run side by side, so a query never waits behind ingestion: the bulk lane runs
//! on its own inference threads whose scheduling priority is lowered (Linux `SCHED_IDLE`,
//! [`QueueOptions::bulk_idle`], and [`QueueOptions::bulk_nice`]), so the kernel gives the
//! cores to a query the moment one arrives, even in the middle of a forward pass, and back to
//! ingestion as soon as queries stop; ingestion runs whenever a query thread waits (between
//! requests, on the network, between parallel steps), so it still advances while queries flow.
//! On top of that the bulk lane pauses after each encoder layer while an interactive round
//! runs (at most [`QueueOptions::bulk_pause_ms`] per layer), so queries get the cores to
//! themselves without starving ingestion.
//! The bulk lane also cuts each round into sub-batches
//! ([`QueueOptions::sub_batch_tokens`]) and counts them, so progress is observable and a
//! long round holds at most one sub-batch of activations in memory.
//!
//! A full lane refuses new work at once ([`QueueError::Full`]) instead of growing without
//! bound, and the async runtime never runs model code: callers await a oneshot reply.
//! A request with bad text fails alone; a panic in the model fails that round's requests
//! and the worker goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::{plan_batches, EmbedError, Embedder, Embedding, Mode, Prepared};

/// Why a queued embedding did not happen.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue holds its maximum number of waiting requests.
    #[error("embedding queue is full (capacity: {0} waiting requests); retry later")]
    Full(usize),
    /// The worker has stopped (server shutting down).
    #[error("embedding worker has stopped")]
    Stopped,
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
    /// Nice value (0..=19) of the bulk lane's threads on Linux, the only lowering when
    /// [`bulk_idle`](Self::bulk_idle) is off: with 10 (the default) a running query gets ~90%
    /// of the cores it shares with ingestion; 0 (and `bulk_idle` off) gives both lanes the
    /// same priority. Ignored elsewhere.
    pub bulk_nice: i32,
    /// Run the bulk lane's threads under Linux `SCHED_IDLE` (default true): they only get a
    /// core no query thread wants, and a waking query thread preempts them at once, where a
    /// nice value alone lets them finish their time slice first. Ignored elsewhere.
    pub bulk_idle: bool,
    /// Requests with at most this many bytes of text take the interactive lane whatever
    /// their mode. Default 2,048.
    pub interactive_bytes: usize,
    /// Longest pause, milliseconds, of the bulk lane after an encoder layer while an
    /// interactive round runs (it resumes as soon as the round ends): the queries get the
    /// cores to themselves, and ingestion still advances at least one layer per pause
    /// while queries never stop. Default 20; 0 never pauses.
    pub bulk_pause_ms: u64,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            capacity: 256,
            batch_tokens: 4_096,
            sub_batch_tokens: 2_048,
            bulk_nice: 10,
            bulk_idle: true,
            interactive_bytes: 2_048,
            bulk_pause_ms: 20,
        }
    }
}

type Reply = oneshot::Sender<Result<Vec<Embedding>, QueueError>>;

struct Job {
    texts: Vec<String>,
    mode: Mode,
    reply: Reply,
    queued: Instant,
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
    /// Times the bulk lane paused between layers for an interactive round.
    pub bulk_pauses: AtomicU64,
}

/// Handle to the embedding workers; clone it freely.
#[derive(Clone)]
pub struct EmbedQueue {
    interactive: SyncSender<Job>,
    bulk: SyncSender<Job>,
    options: Arc<QueueOptions>,
    embedder: Arc<Embedder>,
    stats: Arc<QueueStats>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lane {
    Interactive,
    Bulk,
}

impl EmbedQueue {
    /// Starts the workers with default options except `capacity` (requests that may wait
    /// per lane) and `batch_tokens` (tokens of the requests merged into one round).
    pub fn start(embedder: Arc<Embedder>, capacity: usize, batch_tokens: usize) -> Self {
        Self::start_with(embedder, QueueOptions { capacity, batch_tokens, ..QueueOptions::default() })
    }

    /// Starts the two worker threads (and the bulk lane's inference pool).
    pub fn start_with(embedder: Arc<Embedder>, options: QueueOptions) -> Self {
        let options = Arc::new(QueueOptions {
            capacity: options.capacity.max(1),
            batch_tokens: options.batch_tokens.max(1),
            sub_batch_tokens: options.sub_batch_tokens.max(1),
            bulk_nice: options.bulk_nice.clamp(0, 19),
            ..options
        });
        let stats = Arc::new(QueueStats::default());
        let (interactive, interactive_rx) = sync_channel::<Job>(options.capacity);
        let (bulk, bulk_rx) = sync_channel::<Job>(options.capacity);
        let lowering = crate::priority::Lowering { nice: options.bulk_nice, idle: options.bulk_idle };
        let bulk_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(embedder.threads())
            .thread_name(|i| format!("simtheme-bulk-{i}"))
            .start_handler(move |_| crate::priority::lower_current_thread(lowering))
            .build()
            .map(Arc::new);
        for (lane, rx, name) in [(Lane::Interactive, interactive_rx, "simtheme-embed-queue"), (Lane::Bulk, bulk_rx, "simtheme-embed-bulk")]
        {
            let (embedder, stats, options) = (Arc::clone(&embedder), Arc::clone(&stats), Arc::clone(&options));
            // Without a pool of its own (thread creation failed) the bulk lane shares the embedder's.
            let pool = match (&bulk_pool, lane) {
                (Ok(p), Lane::Bulk) => Some(Arc::clone(p)),
                _ => None,
            };
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    // The bulk worker tokenises pages: background work too.
                    if lane == Lane::Bulk {
                        crate::priority::lower_current_thread(lowering);
                    }
                    worker(lane, rx, &embedder, pool.as_deref(), &options, &stats)
                })
                .expect("spawn embedding worker thread");
        }
        Self { interactive, bulk, options, embedder, stats }
    }

    /// The embedder behind the queue (for metadata such as name and dimension).
    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    /// Worker counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    fn lane_of(&self, texts: &[String], mode: Mode) -> &SyncSender<Job> {
        let bytes: usize = texts.iter().map(String::len).sum();
        if mode == Mode::Query || bytes <= self.options.interactive_bytes {
            &self.interactive
        } else {
            &self.bulk
        }
    }

    /// Embeds `texts`, waiting asynchronously for the worker.
    pub async fn embed(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let (reply, rx) = oneshot::channel();
        let lane = self.lane_of(&texts, mode);
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        match lane.try_send(Job { texts, mode, reply, queued: Instant::now() }) {
            Ok(()) => {}
            Err(e) => {
                self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
                return Err(match e {
                    TrySendError::Full(_) => QueueError::Full(self.options.capacity),
                    TrySendError::Disconnected(_) => QueueError::Stopped,
                });
            }
        }
        rx.await.map_err(|_| QueueError::Stopped)?
    }

    /// Blocking variant for non-async callers (CLI, start-up ingestion).
    pub fn embed_blocking(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let (reply, rx) = oneshot::channel();
        let lane = self.lane_of(&texts, mode);
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        if lane.send(Job { texts, mode, reply, queued: Instant::now() }).is_err() {
            self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(QueueError::Stopped);
        }
        rx.blocking_recv().map_err(|_| QueueError::Stopped)?
    }
}

/// A request taken from a lane and tokenised.
struct Ready {
    reply: Reply,
    prepared: Prepared,
    /// When the request entered the queue.
    queued: Instant,
    /// Milliseconds it waited before its round started (set when the round starts).
    waited_ms: f64,
}

/// Milliseconds the bulk lane waits without work after a round before it releases free memory.
const TRIM_AFTER_IDLE_MS: u64 = 200;

fn worker(
    lane: Lane,
    rx: Receiver<Job>,
    embedder: &Embedder,
    pool: Option<&rayon::ThreadPool>,
    options: &QueueOptions,
    stats: &QueueStats,
) {
    // A prepared request that did not fit the previous round opens the next one.
    let mut carried: Option<Ready> = None;
    // The bulk lane hands freed activation memory back when it runs out of work.
    let mut trim_when_idle = false;
    loop {
        let mut round: Vec<Ready> = Vec::new();
        let mut tokens = 0;
        if let Some(c) = carried.take() {
            tokens = c.prepared.tokens();
            round.push(c);
        }
        while tokens < options.batch_tokens {
            // Block only for a round's first request; afterwards take what is already waiting.
            let next = if round.is_empty() {
                if lane == Lane::Interactive {
                    stats.interactive_running.store(false, Ordering::Release); // idle until a request comes
                    rx.recv().ok()
                } else {
                    // After a round, wait a moment for more work before handing freed
                    // activation memory back, so a stream of pages does not pay for it per page.
                    if !trim_when_idle {
                        rx.recv().ok()
                    } else {
                        match rx.recv_timeout(std::time::Duration::from_millis(TRIM_AFTER_IDLE_MS)) {
                            Ok(job) => Some(job),
                            Err(RecvTimeoutError::Disconnected) => None,
                            Err(RecvTimeoutError::Timeout) => {
                                trim_when_idle = false;
                                crate::memory::release_free_memory();
                                rx.recv().ok()
                            }
                        }
                    }
                }
            } else {
                rx.try_recv().ok()
            };
            let Some(job) = next else { break };
            if lane == Lane::Interactive {
                stats.interactive_running.store(true, Ordering::Release);
            }
            stats.waiting.fetch_sub(1, Ordering::Relaxed);
            if lane == Lane::Interactive {
                let waited = job.queued.elapsed().as_micros() as u64;
                stats.interactive_wait_us.fetch_add(waited, Ordering::Relaxed);
                stats.interactive_wait_max_us.fetch_max(waited, Ordering::Relaxed);
            }
            let Some(ready) = prepare(embedder, job, stats) else { continue };
            if !round.is_empty() && tokens + ready.prepared.tokens() > options.batch_tokens {
                carried = Some(ready);
                break;
            }
            tokens += ready.prepared.tokens();
            round.push(ready);
        }
        if round.is_empty() {
            return; // channel closed and nothing carried: the server is shutting down
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(round.len() as u64, Ordering::Relaxed);
        for r in round.iter_mut() {
            r.waited_ms = r.queued.elapsed().as_secs_f64() * 1e3;
        }
        match lane {
            Lane::Interactive => {
                stats.interactive_batches.fetch_add(1, Ordering::Relaxed);
                stats.interactive_jobs.fetch_add(round.len() as u64, Ordering::Relaxed);
                if stats.bulk_running.load(Ordering::Relaxed) {
                    stats.interactive_during_bulk.fetch_add(1, Ordering::Relaxed);
                }
                let prepared: Vec<&Prepared> = round.iter().map(|r| &r.prepared).collect();
                let outcome = catch_unwind(AssertUnwindSafe(|| embedder.embed_prepared(&prepared)));
                stats.interactive_running.store(false, Ordering::Release);
                answer(round, outcome);
            }
            Lane::Bulk => {
                stats.bulk_batches.fetch_add(1, Ordering::Relaxed);
                stats.bulk_jobs.fetch_add(round.len() as u64, Ordering::Relaxed);
                stats.bulk_running.store(true, Ordering::Relaxed);
                let outcome = catch_unwind(AssertUnwindSafe(|| run_sub_batches(embedder, pool, &round, options, stats)));
                stats.bulk_running.store(false, Ordering::Relaxed);
                trim_when_idle = true;
                answer(round, outcome);
            }
        }
    }
}

/// Embeds a bulk round as a sequence of forward passes of at most `sub_batch_tokens`
/// padded tokens (windows of similar length together), counting each.
fn run_sub_batches(
    embedder: &Embedder,
    pool: Option<&rayon::ThreadPool>,
    round: &[Ready],
    options: &QueueOptions,
    stats: &QueueStats,
) -> Result<Vec<Vec<Embedding>>, EmbedError> {
    let rows: Vec<&[u32]> = round.iter().flat_map(|r| r.prepared.windows.iter().map(|w| w.ids.as_slice())).collect();
    let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
    let mut means = vec![Vec::new(); rows.len()];
    let limit = std::time::Duration::from_millis(options.bulk_pause_ms);
    let pause = || {
        if limit.is_zero() || !stats.interactive_running.load(Ordering::Acquire) {
            return;
        }
        stats.bulk_pauses.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        while stats.interactive_running.load(Ordering::Acquire) && start.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    };
    for batch in plan_batches(&lens, options.sub_batch_tokens) {
        let batch_rows: Vec<&[u32]> = batch.iter().map(|&i| rows[i]).collect();
        let out = embedder.means_on(pool.unwrap_or(&embedder.pool), &batch_rows, &pause)?;
        for (i, m) in batch.iter().zip(out) {
            means[*i] = m;
        }
        stats.bulk_sub_batches.fetch_add(1, Ordering::Relaxed);
        stats.bulk_tokens.fetch_add(batch.iter().map(|&i| lens[i] as u64).sum(), Ordering::Relaxed);
    }
    let mut means = means.into_iter();
    Ok(round.iter().map(|r| embedder.combine(&r.prepared, &mut means)).collect())
}

/// Tokenises a job; bad input is answered at once (only this job fails).
fn prepare(embedder: &Embedder, job: Job, stats: &QueueStats) -> Option<Ready> {
    let prepared = match catch_unwind(AssertUnwindSafe(|| embedder.prepare(&job.texts, job.mode))) {
        Ok(result) => result.map_err(QueueError::from),
        Err(_) => Err(QueueError::Failed("the tokenizer panicked on this request".into())),
    };
    match prepared {
        Ok(prepared) => Some(Ready { reply: job.reply, prepared, queued: job.queued, waited_ms: 0.0 }),
        Err(e) => {
            stats.jobs.fetch_add(1, Ordering::Relaxed);
            let _ = job.reply.send(Err(e));
            None
        }
    }
}

/// Answers each request of a round with its output, or all of them with the round's failure.
fn answer(round: Vec<Ready>, outcome: std::thread::Result<Result<Vec<Vec<Embedding>>, EmbedError>>) {
    let failure = match outcome {
        Ok(Ok(outputs)) => {
            for (ready, mut out) in round.into_iter().zip(outputs) {
                out.iter_mut().for_each(|e| e.queue_ms = ready.waited_ms);
                let _ = ready.reply.send(Ok(out));
            }
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "the model panicked".to_string(),
    };
    tracing::error!(requests = round.len(), "embedding round failed: {failure}");
    for ready in round {
        let _ = ready.reply.send(Err(QueueError::Failed(failure.clone())));
    }
}
