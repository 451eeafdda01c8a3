//! Process memory settings for glibc's allocator (no-ops elsewhere).
//!
//! Measured on the server under the load bench (issue 11): glibc's default of up to 8 malloc
//! arenas per core and memory freed after model loading or an ingestion round that stays
//! mapped in those arenas together held ~80 MB of resident memory that no live allocation
//! used.

/// Caps glibc's malloc arenas at one per core (unless `MALLOC_ARENA_MAX` is set). By default
/// glibc gives up to 8 arenas per core to threads that allocate at the same moment; the server
/// runs storage work on tokio's blocking pool (dozens of threads under concurrent load) and
/// every extra arena keeps its own freed pages, 20-50 MB of resident memory under the load
/// bench, without making anything faster on a few cores. Call it first thing in `main`,
/// before any other thread exists.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: mallopt only sets an allocator parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.clamp(1, 64) as libc::c_int);
        }
    }
}

/// Hands memory that is free inside glibc's arenas back to the kernel (`malloc_trim`): the
/// buffers of model loading, of the seed ingestion and of an ingestion round are freed, but
/// glibc keeps their pages mapped. Takes a few milliseconds; call it when a burst of large
/// allocations has ended, not per request.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let t = std::time::Instant::now();
        // SAFETY: malloc_trim only returns free pages to the kernel; it is thread-safe.
        unsafe {
            libc::malloc_trim(0);
        }
        tracing::debug!(ms = t.elapsed().as_secs_f64() * 1e3, "malloc_trim");
    }
}
