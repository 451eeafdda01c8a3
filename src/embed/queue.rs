//! A bounded queue in front of the embedder, shared by all requests.
//!
//! Requests from concurrent callers wait in a bounded channel; one dedicated worker thread
//! tokenises each request as it takes it and keeps taking waiting requests until their tokens
//! reach a budget, then embeds them together (queries and passages alike: the prefix is part
//! of the tokens), so 32 concurrent clients cost a few forward passes rather than 32. A request
//! that would overshoot the budget waits for the next round; one larger than the budget runs
//! alone. A full queue refuses new work at once ([`QueueError::Full`]) instead of growing
//! without bound, and the async runtime never runs model code: callers await a oneshot reply.
//! A request with bad text fails alone; a panic in the model fails that round's requests and
//! the worker goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{EmbedError, Embedder, Embedding, Mode, Prepared};

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

type Reply = oneshot::Sender<Result<Vec<Embedding>, QueueError>>;

struct Job {
    texts: Vec<String>,
    mode: Mode,
    reply: Reply,
}

/// Counters of the worker, for tests and stats.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Requests served.
    pub jobs: AtomicU64,
    /// Embedder calls made (each may hold several requests).
    pub batches: AtomicU64,
}

/// Handle to the embedding worker; clone it freely.
#[derive(Clone)]
pub struct EmbedQueue {
    tx: SyncSender<Job>,
    capacity: usize,
    embedder: Arc<Embedder>,
    stats: Arc<QueueStats>,
}

impl EmbedQueue {
    /// Starts the worker thread. `capacity` is the number of requests that may wait;
    /// `batch_tokens` bounds the tokens of the requests merged into one embedder call.
    pub fn start(embedder: Arc<Embedder>, capacity: usize, batch_tokens: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = sync_channel::<Job>(capacity);
        let stats = Arc::new(QueueStats::default());
        let worker_embedder = Arc::clone(&embedder);
        let worker_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("simtheme-embed-queue".into())
            .spawn(move || worker(rx, &worker_embedder, batch_tokens.max(1), &worker_stats))
            .expect("spawn embedding worker thread");
        Self { tx, capacity, embedder, stats }
    }

    /// The embedder behind the queue (for metadata such as name and dimension).
    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    /// Worker counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// Embeds `texts`, waiting asynchronously for the worker.
    pub async fn embed(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job { texts, mode, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(QueueError::Full(self.capacity)),
            Err(TrySendError::Disconnected(_)) => return Err(QueueError::Stopped),
        }
        rx.await.map_err(|_| QueueError::Stopped)?
    }

    /// Blocking variant for non-async callers (CLI, start-up ingestion).
    pub fn embed_blocking(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job { texts, mode, reply }).map_err(|_| QueueError::Stopped)?;
        rx.blocking_recv().map_err(|_| QueueError::Stopped)?
    }
}

fn worker(rx: Receiver<Job>, embedder: &Embedder, batch_tokens: usize, stats: &QueueStats) {
    // A prepared request that did not fit the previous round opens the next one.
    let mut carried: Option<(Reply, Prepared)> = None;
    loop {
        let mut round: Vec<(Reply, Prepared)> = Vec::new();
        let mut tokens = 0;
        if let Some(c) = carried.take() {
            tokens = c.1.tokens();
            round.push(c);
        }
        while tokens < batch_tokens {
            // Block only for a round's first request; afterwards take what is already waiting.
            let next = if round.is_empty() { rx.recv().ok() } else { rx.try_recv().ok() };
            let Some(job) = next else { break };
            let Some(ready) = prepare(embedder, job, stats) else { continue };
            if !round.is_empty() && tokens + ready.1.tokens() > batch_tokens {
                carried = Some(ready);
                break;
            }
            tokens += ready.1.tokens();
            round.push(ready);
        }
        if round.is_empty() {
            return; // channel closed and nothing carried: the server is shutting down
        }
        run_round(embedder, round, stats);
    }
}

/// Tokenises a job; bad input is answered at once (only this job fails).
fn prepare(embedder: &Embedder, job: Job, stats: &QueueStats) -> Option<(Reply, Prepared)> {
    let prepared = match catch_unwind(AssertUnwindSafe(|| embedder.prepare(&job.texts, job.mode))) {
        Ok(result) => result.map_err(QueueError::from),
        Err(_) => Err(QueueError::Failed("the tokenizer panicked on this request".into())),
    };
    match prepared {
        Ok(p) => Some((job.reply, p)),
        Err(e) => {
            stats.jobs.fetch_add(1, Ordering::Relaxed);
            let _ = job.reply.send(Err(e));
            None
        }
    }
}

/// Embeds one round of prepared requests with one batching plan and answers each.
fn run_round(embedder: &Embedder, round: Vec<(Reply, Prepared)>, stats: &QueueStats) {
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.jobs.fetch_add(round.len() as u64, Ordering::Relaxed);
    let prepared: Vec<&Prepared> = round.iter().map(|(_, p)| p).collect();
    let outcome = catch_unwind(AssertUnwindSafe(|| embedder.embed_prepared(&prepared)));
    let failure = match outcome {
        Ok(Ok(outputs)) => {
            for ((reply, _), out) in round.into_iter().zip(outputs) {
                let _ = reply.send(Ok(out));
            }
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "the model panicked".to_string(),
    };
    tracing::error!(requests = prepared.len(), "embedding round failed: {failure}");
    for (reply, _) in round {
        let _ = reply.send(Err(QueueError::Failed(failure.clone())));
    }
}
