//! A bounded, two-lane queue in front of the embedder, shared by all requests.
//!
//! * The **interactive lane** takes requests with little text (up to
//!   [`QueueOptions::interactive_bytes`]): a search, a similarity, routing one text to a theme.
//! * The **bulk lane** takes everything else: ingestion, and large Embed calls (whatever their
//!   mode, so that a heavy request can never hold up the searches).
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
//! On top of that the bulk lane pauses after each step of each encoder layer (attention, FFN
//! up, FFN down) while an interactive round or a search ([`QueueStats::foreground`]) runs (at
//! most [`QueueOptions::bulk_pause_ms`] per step), so queries get the cores to
//! themselves without starving ingestion.
//! The bulk lane also cuts each round into sub-batches
//! ([`QueueOptions::sub_batch_tokens`]) and counts them, so progress is observable and a
//! long round holds at most one sub-batch of activations in memory.
//!
//! A full lane refuses new work at once ([`QueueError::Full`]) instead of growing without
//! bound, and the async runtime never runs model code: callers await a oneshot reply.
//!
//! **Clients take turns.** Each lane keeps one line per client ([`super::share`]: an API key,
//! or a connection) and takes their requests in turn ([`super::fair`]); a client may have at
//! most its share of tokens queued ([`QueueError::ClientBusy`] beyond), so a flooding client
//! queues behind itself, not in front of the others.
//!
//! **Abandoned work stops.** A request whose caller has gone (deadline, reset, disconnect:
//! its reply channel is closed) is dropped when the worker takes it, its windows are left out
//! of the forward passes not yet started, and a pass that serves no live caller any more stops
//! at the next encoder layer.
//! A request with bad text fails alone; a panic in the model fails that round's requests
//! and the worker goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::fair::{FairQueue, Popped, PushError};
pub use super::queue_types::{Foreground, QueueError, QueueOptions, QueueStats};
use super::share::{self, ClientShare, Reservation};
use super::{EmbedError, Embedder, Embedding, Mode, Prepared};

type Reply = oneshot::Sender<Result<Vec<Embedding>, QueueError>>;

struct Job {
    texts: Vec<String>,
    mode: Mode,
    reply: Reply,
    queued: Instant,
    /// The client's tokens held for this request (none for work without a client share).
    reservation: Option<Reservation>,
}

/// The two lanes; closed when the last handle is dropped, which ends the workers.
struct Lanes {
    interactive: Arc<FairQueue<Job>>,
    bulk: Arc<FairQueue<Job>>,
}

impl Drop for Lanes {
    fn drop(&mut self) {
        self.interactive.close();
        self.bulk.close();
    }
}

/// Handle to the embedding workers; clone it freely.
#[derive(Clone)]
pub struct EmbedQueue {
    lanes: Arc<Lanes>,
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
            query_pass_tokens: options.query_pass_tokens.max(1),
            bulk_nice: options.bulk_nice.clamp(0, 19),
            ..options
        });
        let stats = Arc::new(QueueStats::default());
        let interactive = Arc::new(FairQueue::new(options.capacity));
        let bulk = Arc::new(FairQueue::new(options.capacity));
        let lowering = crate::priority::Lowering { nice: options.bulk_nice, idle: options.bulk_idle };
        let bulk_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(embedder.threads())
            .thread_name(|i| format!("simtheme-bulk-{i}"))
            .start_handler(move |_| crate::priority::lower_current_thread(lowering))
            .build()
            .map(Arc::new);
        for (lane, rx, name) in
            [(Lane::Interactive, Arc::clone(&interactive), "simtheme-embed-queue"), (Lane::Bulk, Arc::clone(&bulk), "simtheme-embed-bulk")]
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
                    worker(lane, &rx, &embedder, pool.as_deref(), &options, &stats)
                })
                .expect("spawn embedding worker thread");
        }
        Self { lanes: Arc::new(Lanes { interactive, bulk }), options, embedder, stats }
    }

    /// The embedder behind the queue (for metadata such as name and dimension).
    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    /// Worker counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    fn lane_of(&self, texts: &[String]) -> &FairQueue<Job> {
        let bytes: usize = texts.iter().map(String::len).sum();
        if bytes <= self.options.interactive_bytes {
            &self.lanes.interactive
        } else {
            &self.lanes.bulk
        }
    }

    /// Embeds `texts`, waiting asynchronously for the worker. Inside
    /// [`share::with_share`], the request counts against that client's share and waits in
    /// that client's line; dropping the future abandons the work (see the module docs).
    pub async fn embed(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let share = share::current();
        let reservation = match &share {
            Some(s) => Some(s.reserve(share::estimate_tokens(&texts)).map_err(|queued| {
                self.stats.refused_client_busy.fetch_add(1, Ordering::Relaxed);
                QueueError::ClientBusy { queued, max: s.max_tokens() }
            })?),
            None => None,
        };
        let client = share.as_deref().map_or(0, ClientShare::id);
        let (reply, rx) = oneshot::channel();
        let lane = self.lane_of(&texts);
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        if let Err((e, _)) = lane.push(client, Job { texts, mode, reply, queued: Instant::now(), reservation }) {
            self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(match e {
                PushError::Full => QueueError::Full(self.options.capacity),
                PushError::Closed => QueueError::Stopped,
            });
        }
        rx.await.map_err(|_| QueueError::Stopped)?
    }

    /// Blocking variant for non-async callers (CLI, start-up ingestion): waits for room in a
    /// full lane instead of failing.
    pub fn embed_blocking(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let (reply, rx) = oneshot::channel();
        let lane = self.lane_of(&texts);
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        let mut job = Job { texts, mode, reply, queued: Instant::now(), reservation: None };
        loop {
            match lane.push(0, job) {
                Ok(()) => break,
                Err((PushError::Full, back)) => {
                    job = back;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err((PushError::Closed, _)) => {
                    self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
                    return Err(QueueError::Stopped);
                }
            }
        }
        rx.blocking_recv().map_err(|_| QueueError::Stopped)?
    }
}

/// A request taken from a lane and tokenised.
struct Ready {
    reply: Reply,
    /// Held until the request is answered.
    _reservation: Option<Reservation>,
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
    rx: &FairQueue<Job>,
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
                    rx.pop()
                } else if !trim_when_idle {
                    rx.pop()
                } else {
                    // After a round, wait a moment for more work before handing freed
                    // activation memory back, so a stream of pages does not pay for it per page.
                    match rx.pop_timeout(std::time::Duration::from_millis(TRIM_AFTER_IDLE_MS)) {
                        Popped::Item(job) => Some(job),
                        Popped::Closed => None,
                        Popped::Timeout => {
                            trim_when_idle = false;
                            crate::memory::release_free_memory();
                            rx.pop()
                        }
                    }
                }
            } else {
                rx.try_pop()
            };
            let Some(job) = next else { break };
            stats.waiting.fetch_sub(1, Ordering::Relaxed);
            if job.reply.is_closed() {
                // the caller left while the request waited: it is dropped unembedded
                stats.cancelled.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if lane == Lane::Interactive {
                stats.interactive_running.store(true, Ordering::Release);
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
            return; // queue closed and nothing left: the server is shutting down
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
                let anyone_waiting = || round.iter().any(|r| !r.reply.is_closed());
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    embedder.embed_prepared_while(&prepared, &anyone_waiting).map(|out| out.into_iter().map(Some).collect())
                }));
                stats.interactive_running.store(false, Ordering::Release);
                stats.query_ended();
                answer(round, outcome, stats);
            }
            Lane::Bulk => {
                stats.bulk_batches.fetch_add(1, Ordering::Relaxed);
                stats.bulk_jobs.fetch_add(round.len() as u64, Ordering::Relaxed);
                stats.bulk_running.store(true, Ordering::Relaxed);
                let outcome = catch_unwind(AssertUnwindSafe(|| run_sub_batches(embedder, pool, &round, options, stats)));
                stats.bulk_running.store(false, Ordering::Relaxed);
                trim_when_idle = true;
                answer(round, outcome, stats);
            }
        }
    }
}

/// Embeds a bulk round as a sequence of forward passes of at most `sub_batch_tokens`
/// padded tokens (windows of similar length together), counting each. Passes whose requests
/// have all been abandoned are skipped (or stopped at the next layer); those requests get
/// `None`.
fn run_sub_batches(
    embedder: &Embedder,
    pool: Option<&rayon::ThreadPool>,
    round: &[Ready],
    options: &QueueOptions,
    stats: &QueueStats,
) -> Result<Vec<Option<Vec<Embedding>>>, EmbedError> {
    let owners: Vec<usize> = round.iter().enumerate().flat_map(|(i, r)| std::iter::repeat_n(i, r.prepared.windows.len())).collect();
    let rows: Vec<&[u32]> = round.iter().flat_map(|r| r.prepared.windows.iter().map(|w| w.ids.as_slice())).collect();
    let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
    let mut means = vec![Vec::new(); rows.len()];
    let limit = std::time::Duration::from_millis(options.bulk_pause_ms);
    let pause = || {
        if limit.is_zero() || !stats.queries_active() {
            return;
        }
        stats.bulk_pauses.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        while stats.queries_active() && start.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    };
    // Windows by length, cut into passes as they run: short passes while searches are in flight
    // or just were, so a search shares the cores with a short step at most.
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| (lens[i], i));
    let mut at = 0;
    while at < order.len() {
        let budget =
            if stats.queries_recent() { options.query_pass_tokens.min(options.sub_batch_tokens) } else { options.sub_batch_tokens };
        let mut end = at + 1;
        while end < order.len() && lens[order[end]] * (end - at + 1) <= budget {
            end += 1;
        }
        let batch = &order[at..end];
        at = end;
        let live = || batch.iter().any(|&i| !round[owners[i]].reply.is_closed());
        if !live() {
            stats.cancelled_passes.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let batch_rows: Vec<&[u32]> = batch.iter().map(|&i| rows[i]).collect();
        let go_on = || {
            pause();
            live()
        };
        let out = match embedder.means_on(pool.unwrap_or(&embedder.pool), &batch_rows, &go_on) {
            Err(EmbedError::Cancelled) => {
                stats.cancelled_passes.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            other => other?,
        };
        for (&i, m) in batch.iter().zip(out) {
            means[i] = m;
        }
        stats.bulk_sub_batches.fetch_add(1, Ordering::Relaxed);
        stats.bulk_tokens.fetch_add(batch.iter().map(|&i| lens[i] as u64).sum(), Ordering::Relaxed);
    }
    let mut means = means.into_iter();
    Ok(round
        .iter()
        .map(|r| {
            if r.reply.is_closed() {
                // abandoned (possibly before some of its passes): its means are skipped
                means.by_ref().take(r.prepared.windows.len()).for_each(drop);
                None
            } else {
                Some(embedder.combine(&r.prepared, &mut means))
            }
        })
        .collect())
}

/// Tokenises a job; bad input is answered at once (only this job fails).
fn prepare(embedder: &Embedder, job: Job, stats: &QueueStats) -> Option<Ready> {
    let prepared = match catch_unwind(AssertUnwindSafe(|| embedder.prepare(&job.texts, job.mode))) {
        Ok(result) => result.map_err(QueueError::from),
        Err(_) => Err(QueueError::Failed("the tokenizer panicked on this request".into())),
    };
    match prepared {
        Ok(prepared) => {
            let mut reservation = job.reservation;
            if let Some(r) = reservation.as_mut() {
                r.settle(prepared.tokens());
            }
            Some(Ready { reply: job.reply, _reservation: reservation, prepared, queued: job.queued, waited_ms: 0.0 })
        }
        Err(e) => {
            stats.jobs.fetch_add(1, Ordering::Relaxed);
            let _ = job.reply.send(Err(e));
            None
        }
    }
}

/// The outputs of a round: one per request, `None` for a request whose caller has gone.
type RoundOutcome = std::thread::Result<Result<Vec<Option<Vec<Embedding>>>, EmbedError>>;

/// Answers each request of a round with its output, or all of them with the round's failure.
fn answer(round: Vec<Ready>, outcome: RoundOutcome, stats: &QueueStats) {
    let failure = match outcome {
        Ok(Ok(outputs)) => {
            for (ready, out) in round.into_iter().zip(outputs) {
                let Some(mut out) = out else {
                    stats.cancelled.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                out.iter_mut().for_each(|e| e.queue_ms = ready.waited_ms);
                ready.send(Ok(out));
            }
            return;
        }
        Ok(Err(EmbedError::Cancelled)) => {
            // every caller of the round had gone: nobody to answer
            stats.cancelled.fetch_add(round.len() as u64, Ordering::Relaxed);
            stats.cancelled_passes.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "the model panicked".to_string(),
    };
    tracing::error!(requests = round.len(), "embedding round failed: {failure}");
    for ready in round {
        ready.send(Err(QueueError::Failed(failure.clone())));
    }
}

impl Ready {
    /// Gives the client's tokens back, then answers: a caller that has its answer sees its
    /// share already freed.
    fn send(self, answer: Result<Vec<Embedding>, QueueError>) {
        let Ready { reply, _reservation, .. } = self;
        drop(_reservation);
        let _ = reply.send(answer);
    }
}
