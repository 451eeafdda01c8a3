//! Scheduling priority of background threads (Linux `nice` and `SCHED_IDLE`; a no-op
//! elsewhere): ingestion's inference threads, its cleaning and storing ([`in_background`]) and
//! the keyword index's writer threads run below the threads that answer searches, so the
//! kernel gives a query the cores the moment it needs them, and gives them back to ingestion
//! when queries stop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// How a background thread yields to the threads that answer searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lowering {
    /// Nice value, 0..=19 (0 keeps the default).
    pub nice: i32,
    /// Linux `SCHED_IDLE`: the thread runs only on a core no normal thread wants, and a query
    /// thread that wakes up takes the core from it at once (a nice value alone waits for the
    /// running thread's time slice). Measured on the ingestion bench: query p99 while
    /// ingesting fell from 2.0-2.4x to ~1.6x idle. The nice value still applies where
    /// `SCHED_IDLE` is refused.
    pub idle: bool,
}

/// Ingestion's work outside the model: cleaning and segmenting pages, storing them (SQLite,
/// graph insertions) and the keyword index writer's threads (chunk analysis, segment merges).
pub const BACKGROUND: Lowering = Lowering { nice: 10, idle: true };

/// Lowers the calling thread's scheduling priority (best effort). A thread it creates
/// afterwards inherits it. Unprivileged processes cannot raise it back, so call it only on
/// threads that stay in the background.
pub fn lower_current_thread(lowering: Lowering) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread; failure only leaves the priority as is.
        unsafe {
            if lowering.nice > 0 {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, lowering.nice.min(19));
            }
            if lowering.idle {
                let param = libc::sched_param { sched_priority: 0 };
                if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
                    tracing::debug!("SCHED_IDLE refused; the thread keeps nice {}", lowering.nice);
                }
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = lowering;
}

/// Runs `f` on a new thread lowered first, so the threads `f` starts inherit it; returns `f`'s
/// result (re-raising its panic).
pub fn spawn_lowered<T: Send>(lowering: Lowering, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            lower_current_thread(lowering);
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// A task run by [`in_background`] panicked (a bug, not bad input); the message is the panic's.
#[derive(Debug, thiserror::Error)]
#[error("background task panicked: {0}")]
pub struct BackgroundPanic(pub String);

/// The background pool: one thread per core lowered to [`BACKGROUND`], started on first use
/// (`None` when the threads could not be created).
fn background_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("simtheme-background-{i}"))
            .start_handler(|_| lower_current_thread(BACKGROUND))
            .build()
            .map_err(|e| tracing::warn!("no background threads ({e}); ingestion work runs at normal priority"))
            .ok()
    })
    .as_ref()
}

/// Runs blocking `f` on the background pool (threads lowered to [`BACKGROUND`]) and awaits its
/// result without blocking the async runtime. A panic in `f` is caught and returned. Where the
/// pool could not be started, `f` runs on the calling thread.
pub async fn in_background<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, BackgroundPanic> {
    let run = move || {
        catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            let message = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
            BackgroundPanic(message.unwrap_or_else(|| "no message".into()))
        })
    };
    let Some(pool) = background_pool() else { return run() };
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(run());
    });
    rx.await.unwrap_or_else(|_| Err(BackgroundPanic("the background pool dropped the task".into())))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// (nice value, scheduling policy) of the calling thread.
    fn priority_of_current_thread() -> (i32, i32) {
        // SAFETY: reads the calling thread's priority and policy.
        unsafe { (libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t), libc::sched_getscheduler(0)) }
    }

    #[test]
    fn threads_started_from_a_lowered_thread_inherit_its_priority() {
        let base = priority_of_current_thread();
        let lowering = Lowering { nice: 7, idle: true };
        let (own, child) =
            spawn_lowered(lowering, || (priority_of_current_thread(), std::thread::spawn(priority_of_current_thread).join().unwrap()));
        assert_eq!(own, (base.0.clamp(7, 19), libc::SCHED_IDLE));
        assert_eq!(child, own);
        assert_eq!(priority_of_current_thread(), base, "the caller's priority is unchanged");
        let nice_only = spawn_lowered(Lowering { nice: 9, idle: false }, priority_of_current_thread);
        assert_eq!(nice_only, (base.0.clamp(9, 19), base.1));
    }

    #[tokio::test]
    async fn background_work_runs_lowered_and_panics_come_back_as_errors() {
        let base = priority_of_current_thread();
        let got = in_background(priority_of_current_thread).await.unwrap();
        assert_eq!(got, (base.0.clamp(BACKGROUND.nice, 19), libc::SCHED_IDLE));
        let err = in_background(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(in_background(|| 7).await.unwrap(), 7, "the pool survives a panic");
    }
}
