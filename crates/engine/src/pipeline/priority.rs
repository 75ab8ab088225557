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

use std::cell::Cell;

/// The nice value of indexing threads: 10, what `nice` uses by default.
pub const BACKGROUND_NICE: i32 = 10;

thread_local! {
    /// This thread already runs at background priority (it lowered itself, or was started by
    /// a thread that had).
    static IN_BACKGROUND: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` at background priority and returns what it returns: on a new thread that lowers
/// its own priority first, or right here if this thread already runs at that priority.
pub fn in_background<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if IN_BACKGROUND.with(Cell::get) {
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

/// Whether this thread is one [`in_background`] started (threads it starts in turn inherit
/// the priority but not this mark).
pub fn is_background() -> bool {
    IN_BACKGROUND.with(Cell::get)
}

/// Marks this thread as a background one and lowers its CPU priority to
/// [`BACKGROUND_NICE`] (never raises it: a thread already nicer stays so).
fn lower_this_thread() {
    IN_BACKGROUND.with(|flag| flag.set(true));
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid, getpriority and setpriority take no pointers; on Linux
        // PRIO_PROCESS with a thread id addresses that one thread.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            *libc::__errno_location() = 0;
            let now = libc::getpriority(libc::PRIO_PROCESS, tid);
            let known = *libc::__errno_location() == 0;
            if known
                && now < BACKGROUND_NICE
                && libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE) != 0
            {
                log::debug!(
                    "cannot lower the indexing thread's priority: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

/// The nice value of the calling thread (Linux), for tests and diagnostics.
#[cfg(target_os = "linux")]
pub fn current_nice() -> i32 {
    // SAFETY: as in `lower_this_thread`.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn work_runs_niced_and_the_caller_keeps_its_priority() {
        let before = current_nice();
        let (inside, nested, child) = in_background(|| {
            let inside = current_nice();
            // Already in the background: runs on this same thread.
            let nested = in_background(|| (current_nice(), is_background()));
            // Threads it starts inherit the priority (ONNX Runtime's pool, chunkers).
            let child = std::thread::spawn(current_nice).join().unwrap();
            (inside, nested, child)
        });
        assert_eq!(inside, BACKGROUND_NICE.max(before));
        assert_eq!(nested, (inside, true));
        assert_eq!(child, inside);
        assert_eq!(
            current_nice(),
            before,
            "the caller's priority must not change"
        );
        assert!(!is_background());
    }

    #[test]
    fn results_and_panics_come_back_to_the_caller() {
        assert_eq!(in_background(|| 41 + 1), 42);
        let caught = std::panic::catch_unwind(|| in_background(|| panic!("boom")));
        assert!(caught.is_err());
    }
}
