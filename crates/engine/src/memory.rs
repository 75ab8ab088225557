//! How the process's memory allocator is told to behave, measured on glibc (the Linux
//! builds); elsewhere these do nothing.
//!
//! Ferret's big allocations are ONNX Runtime's (a model session, its activation arena), the
//! vector matrix and SQLite's page caches; they come and go with indexing runs, model loads
//! and idle unloads, on whichever thread happens to do the work. glibc's malloc keeps what
//! is freed for reuse, per arena, and gives each new thread its own arena when others are
//! busy (up to 8 per core), so memory one thread freed is not reused by another and stays
//! resident. Two settings keep that in check: few arenas ([`limit_arenas`]), and handing
//! free pages back after the big frees ([`release_free_memory`]).

/// Arenas glibc may create, at most: 2 on the 2-core machine where it was measured.
///
/// Indexing the 113k-chunk set (`ferret bench --scale`, 2 threads) peaked at 336 MiB with
/// glibc's default (16 arenas here) once indexing moved to threads of its own, 289 MiB with
/// two, at the same speed (74.9 and 76.7 chunks/s): ONNX Runtime allocates from its own
/// arena while it runs, so threads rarely wait for each other in malloc.
const MAX_ARENAS: usize = 2;

/// Caps glibc's arenas at [`MAX_ARENAS`] for the rest of the process, once, unless the user
/// chose a count with `MALLOC_ARENA_MAX`. [`crate::Engine::open`] calls it, so every shell
/// gets it; arenas that exist already are kept.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
                return;
            }
            // SAFETY: mallopt takes two integers and only changes the allocator's settings.
            let done = unsafe { libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS as libc::c_int) };
            if done != 1 {
                log::debug!("glibc refused to cap its arenas at {MAX_ARENAS}");
            }
        });
    }
}

/// Hands memory the allocator holds free back to the system. Building a session frees tens
/// of MiB of temporaries (copies of the graph, constants being folded) that glibc would
/// otherwise keep for the life of the process: a warm `ferret daemon` measured 123 MiB
/// with this and the lean model, 200 MiB without either.
///
/// (ONNX Runtime's arena stays on: without it the activations of each batch went through
/// glibc's heap, which fragmented and peaked higher, 364 MiB against 259 MiB indexing.)
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
