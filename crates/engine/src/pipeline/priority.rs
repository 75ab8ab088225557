//! Background indexing runs at low CPU priority, so a search typed while a repository is
//! being indexed gets a core at once instead of taking turns with the indexer.
//!
//! A first index uses every core (the user is waiting for it), and on a 2-core machine that
//! left a search sharing both cores with the indexer's two busy model threads: at 113k
//! chunks a lexical search took 22 ms at the median and 101 ms at p99 during indexing, 11
//! and 41 ms after. The scheduler only needs to be told which work can wait: indexing
//! threads run at nice [`BACKGROUND_NICE`], so a search thread (nice 0) gets about nine
//! tenths of a core it shares with one of them, and an otherwise idle machine still gives
//! the indexer everything.
//!
//! Who asks for it: the job runner (the app, `ferret daemon`), whose process also answers
//! searches. A terminal's `ferret index` or `ferret repo add` keeps normal priority: nothing
//! in that process searches, and the user waiting for it should not see it yield to their
//! other work in the same session.
//!
//! On Linux, nice is a property of each thread, inherited by the threads it starts, and a
//! thread may lower its own priority but not raise it back. So nothing lowers a thread it
//! did not start: [`in_background`] runs its closure on a new thread that lowers itself
//! (and whatever it starts: the pipeline's chunking threads, ONNX Runtime's thread pool
//! when it builds a model session, see `Embedder::set_threads`), then ends. The thread that
//! asked stays as it was for the searches it serves next.
//!
//! (With autogroup scheduling, the default on desktop Linux, nice weighs threads against
//! the others of the same session, so the indexer yields to Ferret's own searches without
//! losing ground to other programs.)

/// The nice value of indexing threads: 10, what `nice` uses by default.
pub const BACKGROUND_NICE: i32 = 10;

/// Runs `f` at background priority and returns what it returns: on a new thread that lowers
/// its own priority first, or right here if this thread already runs at that priority (or
/// where threads have no priority of their own).
pub fn in_background<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if !cfg!(target_os = "linux") || is_background() {
        return f();
    }
    // Held here, not moved into the thread, so the work still runs if no thread can be had.
    let work = std::sync::Mutex::new(Some(f));
    let take = || work.lock().unwrap_or_else(|p| p.into_inner()).take();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("ferret-index".into())
            .spawn_scoped(scope, || {
                lower_this_thread();
                take().map(|f| f())
            });
        let done = match worker {
            Ok(worker) => worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => {
                // A process out of threads: index at normal priority rather than not at all.
                log::warn!("cannot start an indexing thread ({e}); indexing at normal priority");
                None
            }
        };
        done.or_else(|| take().map(|f| f()))
            .expect("the work runs on the worker or here")
    })
}

/// Whether this thread runs at background priority or lower: one [`in_background`]
/// started, a thread such a thread started, or any thread of a process started with `nice`.
pub fn is_background() -> bool {
    thread_nice().is_some_and(|nice| nice >= BACKGROUND_NICE)
}

/// The nice value of the calling thread; `None` where threads have none of their own.
pub fn thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and getpriority take no pointers; on Linux PRIO_PROCESS with a thread
    // id addresses that one thread. -1 is a valid nice value, so errno tells the error.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t);
        (*libc::__errno_location() == 0).then_some(nice)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Lowers this thread's CPU priority to [`BACKGROUND_NICE`] (never raises it: a thread
/// already nicer stays so).
fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    if thread_nice().is_some_and(|nice| nice < BACKGROUND_NICE) {
        // SAFETY: as in `thread_nice`.
        let tid = unsafe { libc::gettid() } as libc::id_t;
        // SAFETY: setpriority takes no pointers.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE) } != 0 {
            log::debug!(
                "cannot lower the indexing thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn work_runs_niced_and_the_caller_keeps_its_priority() {
        let nice = || thread_nice().unwrap();
        let before = nice();
        let (inside, nested, child) = in_background(|| {
            let inside = (nice(), is_background());
            // Already in the background: runs on this same thread.
            let nested = in_background(|| (nice(), is_background()));
            // Threads it starts inherit the priority (ONNX Runtime's pool, chunkers).
            let child = std::thread::spawn(move || (nice(), is_background()))
                .join()
                .unwrap();
            (inside, nested, child)
        });
        assert_eq!(inside, (BACKGROUND_NICE.max(before), true));
        assert_eq!(nested, inside);
        assert_eq!(child, inside);
        assert_eq!(nice(), before, "the caller's priority must not change");
        assert_eq!(is_background(), before >= BACKGROUND_NICE);
    }

    #[test]
    fn results_and_panics_come_back_to_the_caller() {
        assert_eq!(in_background(|| 41 + 1), 42);
        let caught = std::panic::catch_unwind(|| in_background(|| panic!("boom")));
        assert!(caught.is_err());
    }
}
