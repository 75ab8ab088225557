//! The runner that works one profile's job queue on a background thread.
//!
//! The runner is polite: at most one job per profile at a time, on the profile's indexing
//! threads (half the cores by default); it stops after the current batch when the job is
//! cancelled, the profile is paused, or the runner is shut down; and the embedder lets
//! searches jump its queue (see `crate::pipeline::embed::Embedder`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::pipeline::priority;
use crate::pipeline::run::{Phase, Progress};
use crate::profiles::registry::ProfileStatus;
use crate::store::Store;
use crate::{Engine, Error, Result};

use super::queue::*;

/// A change to a job, for the CLI's status line and the desktop's progress events.
#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    pub profile: String,
    pub job: Job,
    /// The indexer's latest snapshot, on progress events of a running job (it names the
    /// repository being indexed, which the job row does not when it covers all of them).
    pub progress: Option<Progress>,
}

/// Where job events go.
pub type EventSink = Arc<dyn Fn(&JobEvent) + Send + Sync>;

/// How often a running job's progress is written and its cancel flag read.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How long an idle runner sleeps before looking for jobs queued by other processes.
const IDLE_POLL: Duration = Duration::from_millis(500);

struct Shared {
    engine: Arc<Engine>,
    /// This process owns the profile's queue (holds its runner lock).
    owner: AtomicBool,
    sink: EventSink,
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
}

/// Runs one profile's jobs on a background thread until stopped.
pub struct JobRunner {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl JobRunner {
    /// Starts working the profile's queue. One process at a time does (it holds the
    /// profile's runner lock, released even if it is killed): the desktop app and
    /// `ferret daemon` on one profile would otherwise run jobs twice and reset each other's
    /// running jobs. The first one in owns the queue and re-queues what a dead process left
    /// running; another one defers, says so, queues work for the owner, and takes over when
    /// the owner goes away.
    pub fn start(engine: Arc<Engine>, sink: EventSink) -> Result<JobRunner> {
        let db = engine.paths().meta_db();
        let store = Store::open(&db)?;
        let lock = try_own_queue(&engine)?;
        if lock.is_some() {
            recover_orphans(&engine, &store)?;
        } else {
            log::warn!(
                "profile {}: another Ferret process (the app or `ferret daemon`) runs its jobs; \
                 this one queues work for it and takes over if it stops",
                engine.profile_id()
            );
        }
        let shared = Arc::new(Shared {
            owner: AtomicBool::new(lock.is_some()),
            engine,
            sink,
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ferret-jobs".into())
            .spawn(move || worker_loop(&worker, store, db, lock))
            .map_err(|e| Error::io("cannot start the job runner thread", e))?;
        Ok(JobRunner {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether this process runs the profile's jobs (see [`JobRunner::start`]).
    pub fn owns_queue(&self) -> bool {
        self.shared.owner.load(Ordering::SeqCst)
    }

    /// Queues a job (coalescing with an identical waiting one) and wakes the runner.
    pub fn enqueue(&self, kind: JobKind, repo: Option<&str>) -> Result<Job> {
        self.handle().enqueue(kind, repo)
    }

    /// A cheap handle other threads (the watcher, a fetch timer) use to queue jobs.
    pub fn handle(&self) -> JobHandle {
        JobHandle {
            shared: self.shared.clone(),
        }
    }

    /// Makes the runner look at the queue now.
    pub fn wake(&self) {
        self.handle().wake();
    }

    /// Stops after the current batch; an interrupted job stays queued for the next start.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Queues jobs for a running [`JobRunner`] from any thread.
#[derive(Clone)]
pub struct JobHandle {
    shared: Arc<Shared>,
}

impl JobHandle {
    /// Queues a job (coalescing with an identical waiting one) and wakes the runner.
    pub fn enqueue(&self, kind: JobKind, repo: Option<&str>) -> Result<Job> {
        let store = Store::open(&self.shared.engine.paths().meta_db())?;
        let (job, created) = enqueue(&store, kind, repo)?;
        if created {
            (self.shared.sink)(&JobEvent {
                profile: self.shared.engine.profile_id().to_string(),
                job: job.clone(),
                progress: None,
            });
        }
        self.wake();
        Ok(job)
    }

    pub fn wake(&self) {
        let (flag, condvar) = &self.shared.wake;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        condvar.notify_all();
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }
}

impl Drop for JobRunner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The profile's runner lock if no other process holds it.
fn try_own_queue(engine: &Engine) -> Result<Option<std::fs::File>> {
    let path = engine.paths().runner_lock_file();
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::io(format!("cannot lock {}", path.display()), e))
        }
    }
}

/// Jobs left `running` by a process that died go back to the queue. Only the queue's owner
/// does this, so a live runner's job is never reset under it.
fn recover_orphans(engine: &Engine, store: &Store) -> Result<()> {
    let recovered = recover(store)?;
    if recovered > 0 {
        log::info!(
            "profile {}: resuming {recovered} interrupted job(s)",
            engine.profile_id()
        );
    }
    Ok(())
}

fn worker_loop(shared: &Shared, store: Store, db: PathBuf, mut lock: Option<std::fs::File>) {
    while !shared.stop.load(Ordering::SeqCst) {
        if lock.is_none() {
            match try_own_queue(&shared.engine) {
                Ok(Some(file)) => {
                    log::info!(
                        "profile {}: the process that ran its jobs stopped; this one takes over",
                        shared.engine.profile_id()
                    );
                    if let Err(e) = recover_orphans(&shared.engine, &store) {
                        log::warn!("job runner of {}: {e}", shared.engine.profile_id());
                    }
                    lock = Some(file);
                    shared.owner.store(true, Ordering::SeqCst);
                }
                Ok(None) => {
                    wait(shared);
                    continue;
                }
                Err(e) => {
                    log::warn!("job runner of {}: {e}", shared.engine.profile_id());
                    wait(shared);
                    continue;
                }
            }
        }
        let next = match shared.engine.record() {
            Ok(record) if record.status == ProfileStatus::Paused => Ok(None),
            Ok(_) => next_queued(&store),
            Err(e) => Err(e),
        };
        match next {
            Ok(Some(job)) => run_one(shared, &store, &db, job),
            Ok(None) => wait(shared),
            Err(e) => {
                log::warn!("job runner of {}: {e}", shared.engine.profile_id());
                wait(shared);
            }
        }
    }
}

fn wait(shared: &Shared) {
    let (flag, condvar) = &shared.wake;
    let mut woken = flag.lock().unwrap_or_else(|p| p.into_inner());
    if !*woken {
        woken = condvar
            .wait_timeout(woken, IDLE_POLL)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
    }
    *woken = false;
}

fn emit(shared: &Shared, store: &Store, id: i64, progress: Option<&Progress>) {
    if let Ok(Some(job)) = get(store, id) {
        (shared.sink)(&JobEvent {
            profile: shared.engine.profile_id().to_string(),
            job,
            progress: progress.cloned(),
        });
    }
}

/// Items per second and seconds left in the current phase.
fn rate_and_eta(p: &Progress, phase_started: Instant, done_at_start: u64) -> (f64, Option<f64>) {
    let (done, total) = match p.phase {
        Phase::Embedding => (p.embeddings_done, p.embeddings_total),
        _ => (p.files_done, p.files_total),
    };
    let secs = phase_started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        done.saturating_sub(done_at_start) as f64 / secs
    } else {
        0.0
    };
    let eta = (rate > 0.0).then(|| total.saturating_sub(done) as f64 / rate);
    (rate, eta)
}

fn run_one(shared: &Shared, store: &Store, db: &std::path::Path, job: Job) {
    let engine = &shared.engine;
    // The progress callback runs on the indexer's thread and needs its own connection.
    match claim(store, job.id) {
        Ok(true) => {}
        // Cancelled meanwhile, or (in a race with another runner) taken by it.
        Ok(false) => return,
        Err(e) => {
            log::warn!("cannot start job {}: {e}", job.id);
            return wait(shared);
        }
    }
    let progress_store = match Store::open(db) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            log::warn!("cannot start job {}: {e}", job.id);
            let _ = set_state(store, job.id, JobState::Queued, None);
            return wait(shared);
        }
    };
    emit(shared, store, job.id, None);
    let cancel = AtomicBool::new(false);
    // Why the job stopped early, decided by the progress callback.
    let paused = AtomicBool::new(false);
    let tracker = Mutex::new((Instant::now(), Phase::Walking, 0u64, Instant::now()));
    let on_progress = |p: &Progress| {
        let mut t = tracker.lock().unwrap_or_else(|e| e.into_inner());
        if t.1 != p.phase {
            let done = match p.phase {
                Phase::Embedding => p.embeddings_done,
                _ => p.files_done,
            };
            *t = (Instant::now(), p.phase, done, t.3);
        }
        if t.3.elapsed() < PROGRESS_EVERY && p.phase != Phase::Done {
            return;
        }
        t.3 = Instant::now();
        let (rate, eta) = rate_and_eta(p, t.0, t.2);
        let store = progress_store.lock().unwrap_or_else(|e| e.into_inner());
        let _ = record_progress(&store, job.id, p, rate, eta);
        let profile_paused = engine
            .record()
            .map(|r| r.status == ProfileStatus::Paused)
            .unwrap_or(false);
        if profile_paused {
            paused.store(true, Ordering::SeqCst);
        }
        if profile_paused
            || shared.stop.load(Ordering::SeqCst)
            || cancel_requested(&store, job.id).unwrap_or(false)
        {
            cancel.store(true, Ordering::SeqCst);
        }
        emit(shared, &store, job.id, Some(p));
    };
    // Searches of this process come first (see `priority`).
    let result = priority::in_background(|| match job.kind {
        JobKind::Index => engine
            .index(job.repo.as_deref(), &cancel, false, &on_progress)
            .map(|r| r.interrupted),
        JobKind::Sync => engine
            .sync_and_index(job.repo.as_deref(), &cancel, &|_, _| {}, &on_progress)
            .and_then(|run| match run.failures() {
                Some(failures) if !run.interrupted => {
                    Err(Error::git(crate::ErrorKind::Git, failures))
                }
                _ => Ok(run.interrupted),
            }),
    });
    let (state, error) = match result {
        Ok(false) => (JobState::Completed, None),
        Ok(true) | Err(Error::Cancelled) | Err(Error::Interrupted) => {
            if shared.stop.load(Ordering::SeqCst) {
                // Shutting down: the job resumes when the runner starts again.
                (JobState::Queued, None)
            } else if paused.load(Ordering::SeqCst) {
                (JobState::Paused, None)
            } else {
                (JobState::Cancelled, None)
            }
        }
        Err(e) => (JobState::Failed, Some(e.to_string())),
    };
    if let Err(e) = set_state(store, job.id, state, error.as_deref()) {
        log::warn!("cannot record the end of job {}: {e}", job.id);
    }
    emit(shared, store, job.id, None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineOptions;

    fn open(root: &std::path::Path) -> Arc<Engine> {
        Arc::new(
            Engine::open(EngineOptions {
                data_root: Some(root.to_path_buf()),
                ..EngineOptions::default()
            })
            .unwrap(),
        )
    }

    fn state_of(engine: &Engine, id: i64) -> JobState {
        engine
            .jobs(100)
            .unwrap()
            .into_iter()
            .find(|j| j.id == id)
            .unwrap()
            .state
    }

    /// The app and `ferret daemon` on one profile: the second runner neither resets the
    /// first one's running job nor takes jobs, and it takes over when the first stops.
    #[test]
    fn a_second_runner_defers_to_the_first_and_takes_over_when_it_stops() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (open(dir.path()), open(dir.path()));
        let first = JobRunner::start(a.clone(), Arc::new(|_: &JobEvent| {})).unwrap();
        assert!(first.owns_queue());
        // A job the first process is running, queued and claimed in one transaction so its
        // runner cannot take it first.
        let job = {
            let store = a.store();
            store.conn().execute_batch("BEGIN IMMEDIATE").unwrap();
            let (job, _) = enqueue(&store, JobKind::Sync, None).unwrap();
            assert!(claim(&store, job.id).unwrap());
            store.conn().execute_batch("COMMIT").unwrap();
            job
        };
        assert!(!claim(&b.store(), job.id).unwrap(), "a job is claimed once");

        let second = JobRunner::start(b.clone(), Arc::new(|_: &JobEvent| {})).unwrap();
        assert!(!second.owns_queue(), "the second runner defers");
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(
            state_of(&b, job.id),
            JobState::Running,
            "not reset under its owner"
        );

        // The first process goes away with its job unfinished: the second takes over,
        // re-queues the orphan and runs it (a sync with no GitHub repositories fails fast).
        first.stop();
        let deadline = Instant::now() + Duration::from_secs(15);
        while !state_of(&b, job.id).is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(second.owns_queue(), "the second runner took over");
        assert_eq!(state_of(&b, job.id), JobState::Failed);
    }

    #[test]
    fn rate_and_eta_follow_the_phase() {
        let p = Progress {
            phase: Phase::Embedding,
            embeddings_done: 50,
            embeddings_total: 150,
            ..Progress::default()
        };
        let started = Instant::now() - Duration::from_secs(10);
        let (rate, eta) = rate_and_eta(&p, started, 0);
        assert!((rate - 5.0).abs() < 0.5, "{rate}");
        assert!((eta.unwrap() - 20.0).abs() < 3.0, "{eta:?}");
        let (rate, eta) = rate_and_eta(&Progress::default(), Instant::now(), 0);
        assert_eq!(rate, 0.0);
        assert!(eta.is_none());
    }
}
