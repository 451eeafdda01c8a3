//! Scheduling priority of background threads (Linux `nice`; a no-op elsewhere): ingestion's
//! inference threads and the keyword index's writer threads run below the threads that
//! answer searches, so the kernel gives a query the cores the moment it needs them.

/// Nice value of the keyword index writer's threads (chunk analysis and segment merges).
pub const KEYWORD_WRITER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to `nice` (0..=19; best effort). A thread
/// it creates afterwards inherits the value. Unprivileged processes cannot raise it back, so
/// call it only on threads that stay in the background.
pub fn lower_current_thread(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice > 0 {
        // SAFETY: plain system calls on the calling thread; failure only leaves the priority as is.
        unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice.min(19));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// Runs `f` on a new thread whose priority is lowered to `nice` first, so the threads `f`
/// starts inherit it; returns `f`'s result (re-raising its panic).
pub fn spawn_lowered<T: Send>(nice: i32, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            lower_current_thread(nice);
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice_of_current_thread() -> i32 {
        // SAFETY: reads the calling thread's priority.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn threads_started_from_a_lowered_thread_inherit_its_priority() {
        let base = nice_of_current_thread();
        let (own, child) = spawn_lowered(7, || (nice_of_current_thread(), std::thread::spawn(nice_of_current_thread).join().unwrap()));
        assert_eq!(own, (base.max(7)).min(19));
        assert_eq!(child, own);
        assert_eq!(nice_of_current_thread(), base, "the caller's priority is unchanged");
    }
}
