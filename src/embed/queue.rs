//! A bounded queue in front of the embedder, shared by all requests.
//!
//! Requests from concurrent callers wait in a bounded channel; one dedicated worker thread
//! takes every request waiting (up to a token budget) and embeds their texts together, so 32
//! concurrent clients cost a few forward passes rather than 32. A full queue refuses new work
//! at once ([`QueueError::Full`]) instead of growing without bound, and the async runtime never
//! runs model code: callers await a oneshot reply.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{EmbedError, Embedder, Embedding, Mode};

/// Why a queued embedding did not happen.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue holds its maximum number of waiting requests.
    #[error("embedding queue is full ({0} requests waiting); retry later")]
    Full(usize),
    /// The worker has stopped (server shutting down).
    #[error("embedding worker has stopped")]
    Stopped,
    /// The embedder rejected the texts or failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

struct Job {
    texts: Vec<String>,
    mode: Mode,
    reply: oneshot::Sender<Result<Vec<Embedding>, EmbedError>>,
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
    /// `batch_chars` bounds the characters merged into one embedder call.
    pub fn start(embedder: Arc<Embedder>, capacity: usize, batch_chars: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = sync_channel::<Job>(capacity);
        let stats = Arc::new(QueueStats::default());
        let worker_embedder = Arc::clone(&embedder);
        let worker_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("simtheme-embed-queue".into())
            .spawn(move || worker(rx, &worker_embedder, batch_chars.max(1), &worker_stats))
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
        rx.await.map_err(|_| QueueError::Stopped)?.map_err(QueueError::from)
    }

    /// Blocking variant for non-async callers (CLI, start-up ingestion).
    pub fn embed_blocking(&self, texts: Vec<String>, mode: Mode) -> Result<Vec<Embedding>, QueueError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job { texts, mode, reply }).map_err(|_| QueueError::Stopped)?;
        rx.blocking_recv().map_err(|_| QueueError::Stopped)?.map_err(QueueError::from)
    }
}

fn worker(rx: Receiver<Job>, embedder: &Embedder, batch_chars: usize, stats: &QueueStats) {
    while let Ok(first) = rx.recv() {
        let mut size: usize = first.texts.iter().map(|t| t.chars().count()).sum();
        let mut jobs = vec![first];
        while size < batch_chars {
            match rx.try_recv() {
                Ok(job) => {
                    size += job.texts.iter().map(|t| t.chars().count()).sum::<usize>();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (queries, passages): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.mode == Mode::Query);
        for (group, mode) in [(queries, Mode::Query), (passages, Mode::Passage)] {
            if !group.is_empty() {
                run_group(embedder, group, mode, stats);
            }
        }
    }
}

/// Embeds the texts of several jobs in one call and hands each job its part. If the
/// combined call fails (one bad text), each job is retried alone so only it fails.
fn run_group(embedder: &Embedder, group: Vec<Job>, mode: Mode, stats: &QueueStats) {
    let all: Vec<&str> = group.iter().flat_map(|j| j.texts.iter().map(String::as_str)).collect();
    stats.batches.fetch_add(1, Ordering::Relaxed);
    match embedder.embed(&all, mode) {
        Ok(mut out) => {
            for job in group.into_iter().rev() {
                let part = out.split_off(out.len() - job.texts.len());
                stats.jobs.fetch_add(1, Ordering::Relaxed);
                let _ = job.reply.send(Ok(part));
            }
        }
        Err(e) => {
            if group.len() == 1 {
                let job = group.into_iter().next().expect("one job");
                stats.jobs.fetch_add(1, Ordering::Relaxed);
                let _ = job.reply.send(Err(e));
            } else {
                for job in group {
                    run_group(embedder, vec![job], mode, stats);
                }
            }
        }
    }
}
