//! Background work as jobs persisted in the profile's SQLite, and the runner that does them.
//!
//! A job is a row (`jobs` table): kind, repository, state, progress, error, timestamps.
//! Because the row is written before the work starts and indexing commits in batches, a job
//! survives anything: a job found `running` when a runner starts belonged to a process that
//! died, so it goes back to `queued` and, when it runs again, the incremental indexer skips
//! everything already committed. Nothing is lost and nothing is done twice.
//!
//! Jobs coalesce: asking for a job identical to one already waiting returns the waiting one,
//! so a burst of watcher batches (a branch checkout) becomes one index run, not thousands.
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

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::pipeline::run::{Phase, Progress};
use crate::profiles::registry::ProfileStatus;
use crate::store::{now, Store};
use crate::{Engine, Error, Result};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Re-read a repository (or all) and index what changed, embeddings included.
    Index,
    /// Fetch cloned GitHub repositories, then index what the new commits changed.
    Sync,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Paused,
    Completed,
    Failed,
    Cancelled,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Index => "index",
            JobKind::Sync => "sync",
        }
    }
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> JobState {
        match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "paused" => JobState::Paused,
            "completed" => JobState::Completed,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Failed,
        }
    }

    /// Completed, failed and cancelled jobs never change again.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }
}

/// One job as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    /// The repository, or `None` for all of the profile's.
    pub repo: Option<String>,
    pub state: JobState,
    pub cancel_requested: bool,
    pub phase: String,
    pub files_done: u64,
    pub files_total: u64,
    pub chunks_written: u64,
    pub embeddings_done: u64,
    pub embeddings_total: u64,
    /// Items per second in the current phase (files while chunking, chunks while embedding).
    pub rate: f64,
    pub eta_secs: Option<f64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, repo, state, cancel_requested, files_done, files_total,
    chunks_written, embeddings_done, embeddings_total, rate, eta_secs, error, created_at,
    started_at, finished_at";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let kind: String = r.get(1)?;
    let state: String = r.get(3)?;
    let embeddings_total: i64 = r.get(9)?;
    let files_total: i64 = r.get(6)?;
    Ok(Job {
        id: r.get(0)?,
        kind: if kind == "sync" {
            JobKind::Sync
        } else {
            JobKind::Index
        },
        repo: r.get(2)?,
        state: JobState::parse(&state),
        cancel_requested: r.get::<_, i64>(4)? != 0,
        phase: if embeddings_total > 0 {
            "embedding".into()
        } else if files_total > 0 {
            "chunking".into()
        } else {
            "waiting".into()
        },
        files_done: r.get::<_, i64>(5)? as u64,
        files_total: files_total as u64,
        chunks_written: r.get::<_, i64>(7)? as u64,
        embeddings_done: r.get::<_, i64>(8)? as u64,
        embeddings_total: embeddings_total as u64,
        rate: r.get(10)?,
        eta_secs: r.get(11)?,
        error: r.get(12)?,
        created_at: r.get(13)?,
        started_at: r.get(14)?,
        finished_at: r.get(15)?,
    })
}

fn query_jobs(store: &Store, tail: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs {tail}");
    let mut stmt = store
        .conn()
        .prepare_cached(&sql)
        .map_err(|e| store.err(e))?;
    let rows = stmt
        .query_map(args, job_from_row)
        .map_err(|e| store.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| store.err(e))
}

fn exec(store: &Store, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize> {
    store.conn().execute(sql, args).map_err(|e| store.err(e))
}

/// Queues a job, or returns the identical one already waiting (`false`). A waiting job for
/// all repositories covers any single one.
pub fn enqueue(store: &Store, kind: JobKind, repo: Option<&str>) -> Result<(Job, bool)> {
    let waiting = query_jobs(
        store,
        "WHERE kind = ?1 AND state IN ('queued', 'paused') AND (repo IS NULL OR repo = ?2)
         ORDER BY id LIMIT 1",
        params![kind.as_str(), repo],
    )?;
    if let Some(job) = waiting.into_iter().next() {
        if repo.is_some() || job.repo.is_none() {
            return Ok((job, false));
        }
    }
    let t = now();
    exec(
        store,
        "INSERT INTO jobs (kind, repo, state, created_at, updated_at) VALUES (?1, ?2, 'queued', ?3, ?3)",
        params![kind.as_str(), repo, t],
    )?;
    let id = store.conn().last_insert_rowid();
    Ok((require(store, id)?, true))
}

pub fn get(store: &Store, id: i64) -> Result<Option<Job>> {
    Ok(query_jobs(store, "WHERE id = ?1", params![id])?
        .into_iter()
        .next())
}

fn require(store: &Store, id: i64) -> Result<Job> {
    get(store, id)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no job {id} in this profile; `ferret jobs` lists them"
        ))
    })
}

/// Unfinished jobs first (oldest first), then the `recent` latest finished ones.
pub fn list(store: &Store, recent: usize) -> Result<Vec<Job>> {
    let mut jobs = query_jobs(
        store,
        "WHERE state IN ('queued', 'running', 'paused') ORDER BY id",
        params![],
    )?;
    jobs.extend(query_jobs(
        store,
        "WHERE state IN ('completed', 'failed', 'cancelled') ORDER BY id DESC LIMIT ?1",
        params![recent as i64],
    )?);
    Ok(jobs)
}

/// The oldest queued job.
pub fn next_queued(store: &Store) -> Result<Option<Job>> {
    Ok(query_jobs(
        store,
        "WHERE state = 'queued' ORDER BY id LIMIT 1",
        params![],
    )?
    .into_iter()
    .next())
}

fn set_state(store: &Store, id: i64, state: JobState, error: Option<&str>) -> Result<()> {
    let t = now();
    let finished = state.is_finished().then_some(t);
    let started = (state == JobState::Running).then_some(t);
    exec(
        store,
        "UPDATE jobs SET state = ?2, error = COALESCE(?3, error), updated_at = ?4,
                finished_at = COALESCE(?5, finished_at),
                started_at = COALESCE(started_at, ?6),
                cancel_requested = CASE WHEN ?2 = 'running' THEN cancel_requested ELSE 0 END
         WHERE id = ?1",
        params![id, state.as_str(), error, t, finished, started],
    )?;
    Ok(())
}

fn record_progress(
    store: &Store,
    id: i64,
    p: &Progress,
    rate: f64,
    eta: Option<f64>,
) -> Result<()> {
    exec(
        store,
        "UPDATE jobs SET files_done = ?2, files_total = ?3, chunks_written = ?4,
                embeddings_done = ?5, embeddings_total = ?6, rate = ?7, eta_secs = ?8,
                updated_at = ?9 WHERE id = ?1",
        params![
            id,
            p.files_done as i64,
            p.files_total as i64,
            p.chunks_written as i64,
            p.embeddings_done as i64,
            p.embeddings_total as i64,
            rate,
            eta,
            now()
        ],
    )?;
    Ok(())
}

/// Cancels a job: a waiting one at once, a running one after its current batch (the runner
/// sees the flag). Finished jobs cannot be cancelled.
pub fn request_cancel(store: &Store, id: i64) -> Result<Job> {
    let job = require(store, id)?;
    match job.state {
        JobState::Queued | JobState::Paused => set_state(store, id, JobState::Cancelled, None)?,
        JobState::Running => {
            exec(
                store,
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1",
                params![id],
            )?;
        }
        finished => {
            return Err(Error::InvalidInput(format!(
                "job {id} already {}",
                finished.as_str()
            )))
        }
    }
    require(store, id)
}

fn cancel_requested(store: &Store, id: i64) -> Result<bool> {
    store
        .conn()
        .query_row(
            "SELECT cancel_requested FROM jobs WHERE id = ?1",
            params![id],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|v| v.unwrap_or(0) != 0)
        .map_err(|e| store.err(e))
}

/// Jobs left `running` by a process that died go back to the queue (or end cancelled, if
/// the user had asked for that); returns how many.
pub fn recover(store: &Store) -> Result<usize> {
    exec(
        store,
        "UPDATE jobs SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
                finished_at = CASE WHEN cancel_requested = 1 THEN ?1 ELSE finished_at END,
                cancel_requested = 0, updated_at = ?1
         WHERE state = 'running'",
        params![now()],
    )
}

/// Holds every waiting job (the profile is being paused); returns how many.
pub fn pause_all(store: &Store) -> Result<usize> {
    exec(
        store,
        "UPDATE jobs SET state = 'paused', updated_at = ?1 WHERE state = 'queued'",
        params![now()],
    )
}

/// Releases paused jobs back to the queue; returns how many.
pub fn resume_all(store: &Store) -> Result<usize> {
    exec(
        store,
        "UPDATE jobs SET state = 'queued', updated_at = ?1 WHERE state = 'paused'",
        params![now()],
    )
}

/// A change to a job, for the CLI's status line and the desktop's progress events.
#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    pub profile: String,
    pub job: Job,
    /// The indexer's latest snapshot, on progress events of a running job (it names the
    /// repository being indexed, which the job row does not when it covers all of them).
    pub progress: Option<Progress>,
}

/// A job's progress over all its repositories, for one bar and one status line.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Overall {
    /// Repositories whose files are all chunked (all of them once the job is done).
    pub repos_done: u64,
    pub repos_total: u64,
    /// 0..=100: the lexical pass over the repositories is the first half, embedding the
    /// second (a run with nothing to embed jumps from the lexical pass to 100).
    pub percent: f64,
}

fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}

/// The overall figures of a run that is on its `repo_index`-th (0-based) repository of
/// `repos_total`.
pub fn overall(p: &Progress, repo_index: u64, repos_total: u64) -> Overall {
    let repos_total = repos_total.max(repo_index + 1);
    let lexical = |done: u64, current: f64| (done as f64 + current) / repos_total as f64;
    let (repos_done, percent) = match p.phase {
        Phase::Walking => (repo_index, 50.0 * lexical(repo_index, 0.0)),
        Phase::Chunking => (
            repo_index,
            50.0 * lexical(repo_index, fraction(p.files_done, p.files_total)),
        ),
        Phase::Embedding => (
            repos_total,
            50.0 + 50.0 * fraction(p.embeddings_done, p.embeddings_total),
        ),
        // A model switch's re-embed: its own 0-100%, after the run's own work.
        Phase::Reembedding => (
            repos_total,
            100.0 * fraction(p.embeddings_done, p.embeddings_total),
        ),
        Phase::Saving => (repos_total, 99.0),
        Phase::Done => (repos_total, 100.0),
    };
    Overall {
        repos_done,
        repos_total,
        percent: (percent * 10.0).round() / 10.0,
    }
}

/// Follows one profile's job events and sums them up for a status line: the tray, the
/// desktop's `jobs-changed` event and the CLI agree on one wording.
#[derive(Debug, Default)]
pub struct JobTracker {
    /// Unfinished jobs by id, as last seen.
    open: std::collections::BTreeMap<i64, Job>,
    /// Repositories the running job has reached, in order.
    seen: Vec<String>,
    seen_job: Option<i64>,
    last: Option<Overall>,
    /// Jobs already reported finished (the newest few): a finished job can send more than
    /// one event, and its notification must go out once.
    reported: std::collections::BTreeSet<i64>,
}

/// How many finished job ids the tracker remembers.
const REPORTED_KEPT: usize = 64;

/// What one event changed.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerUpdate {
    /// Set on progress events.
    pub overall: Option<Overall>,
    /// A job changed state (queued, started, paused, finished).
    pub state_changed: bool,
    /// The job, when this event finished it.
    pub finished: Option<Job>,
}

impl JobTracker {
    /// Applies an event; `repos_total` is how many repositories the profile has (a job
    /// for one repository counts one).
    pub fn update(&mut self, event: &JobEvent, repos_total: u64) -> TrackerUpdate {
        let job = &event.job;
        let previous = self.open.get(&job.id).map(|j| j.state);
        let state_changed = previous != Some(job.state);
        let first_report = job.state.is_finished() && self.reported.insert(job.id);
        let finished = first_report.then(|| job.clone());
        if self.reported.len() > REPORTED_KEPT {
            self.reported.pop_first();
        }
        if job.state.is_finished() {
            self.open.remove(&job.id);
        } else {
            self.open.insert(job.id, job.clone());
        }
        let overall = event.progress.as_ref().map(|p| {
            if self.seen_job != Some(job.id) {
                self.seen_job = Some(job.id);
                self.seen.clear();
            }
            if !p.repo.is_empty() && !self.seen.contains(&p.repo) {
                self.seen.push(p.repo.clone());
            }
            let index = self.seen.iter().position(|r| *r == p.repo).unwrap_or(0) as u64;
            let total = if job.repo.is_some() { 1 } else { repos_total };
            overall(p, index, total)
        });
        if overall.is_some() {
            self.last = overall;
        }
        if !self.running() {
            self.last = None;
        }
        TrackerUpdate {
            overall,
            state_changed,
            finished,
        }
    }

    /// Whether a job is running now.
    pub fn running(&self) -> bool {
        self.open.values().any(|j| j.state == JobState::Running)
    }

    /// Whether work is held by a pause (and nothing runs).
    pub fn paused(&self) -> bool {
        !self.running() && self.open.values().any(|j| j.state == JobState::Paused)
    }

    /// One line: "Indexing 3/7 repos, 42%", "Syncing …", "Paused", "2 jobs waiting",
    /// "Up to date". `profile_paused` is the profile's status.
    pub fn summary(&self, profile_paused: bool) -> String {
        if let Some(job) = self.open.values().find(|j| j.state == JobState::Running) {
            let verb = match job.kind {
                JobKind::Index => "Indexing",
                JobKind::Sync => "Syncing",
            };
            return match self.last {
                Some(o) => format!(
                    "{verb} {}/{} repos, {:.0}%",
                    o.repos_done, o.repos_total, o.percent
                ),
                None => format!("{verb}…"),
            };
        }
        if profile_paused || self.paused() {
            return "Paused".into();
        }
        match self.open.len() {
            0 => "Up to date".into(),
            1 => "1 job waiting".into(),
            n => format!("{n} jobs waiting"),
        }
    }
}

/// Where job events go.
pub type EventSink = Arc<dyn Fn(&JobEvent) + Send + Sync>;

/// How often a running job's progress is written and its cancel flag read.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How long an idle runner sleeps before looking for jobs queued by other processes.
const IDLE_POLL: Duration = Duration::from_millis(500);

struct Shared {
    engine: Arc<Engine>,
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
    /// Re-queues jobs a dead process left running, then starts working the queue.
    pub fn start(engine: Arc<Engine>, sink: EventSink) -> Result<JobRunner> {
        let db = engine.paths().meta_db();
        let store = Store::open(&db)?;
        let recovered = recover(&store)?;
        if recovered > 0 {
            log::info!(
                "profile {}: resuming {recovered} interrupted job(s)",
                engine.profile_id()
            );
        }
        let shared = Arc::new(Shared {
            engine,
            sink,
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ferret-jobs".into())
            .spawn(move || worker_loop(&worker, store, db))
            .map_err(|e| Error::io("cannot start the job runner thread", e))?;
        Ok(JobRunner {
            shared,
            thread: Some(thread),
        })
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

fn worker_loop(shared: &Shared, store: Store, db: PathBuf) {
    while !shared.stop.load(Ordering::SeqCst) {
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
    let progress_store =
        match set_state(store, job.id, JobState::Running, None).and_then(|()| Store::open(db)) {
            Ok(s) => Mutex::new(s),
            Err(e) => {
                log::warn!("cannot start job {}: {e}", job.id);
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
    let result = match job.kind {
        JobKind::Index => engine
            .index(job.repo.as_deref(), &cancel, false, &on_progress)
            .map(|r| r.interrupted),
        JobKind::Sync => engine
            .sync(job.repo.as_deref(), &cancel, &|_, _| {})
            .and_then(|reports| {
                let mut interrupted = false;
                for r in reports.iter().filter(|r| r.old_head != r.new_head) {
                    interrupted |= engine
                        .index(Some(&r.repo), &cancel, false, &on_progress)?
                        .interrupted;
                }
                Ok(interrupted)
            }),
    };
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

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("meta.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn identical_waiting_jobs_coalesce() {
        let (_dir, store) = store();
        let (a, new_a) = enqueue(&store, JobKind::Index, Some("r")).unwrap();
        let (b, new_b) = enqueue(&store, JobKind::Index, Some("r")).unwrap();
        assert!(new_a && !new_b);
        assert_eq!(a.id, b.id);
        let (c, new_c) = enqueue(&store, JobKind::Index, Some("other")).unwrap();
        assert!(new_c && c.id != a.id);
        let (all, new_all) = enqueue(&store, JobKind::Index, None).unwrap();
        assert!(new_all, "single-repo jobs do not cover all repositories");
        // A waiting all-repos job covers later single-repo requests.
        let (d, new_d) = enqueue(&store, JobKind::Index, Some("third")).unwrap();
        assert!(!new_d);
        assert_eq!(d.id, all.id);
        let (sync, new_sync) = enqueue(&store, JobKind::Sync, Some("r")).unwrap();
        assert!(new_sync && sync.id != a.id);
        let (_, again) = enqueue(&store, JobKind::Index, None).unwrap();
        assert!(!again);
    }

    #[test]
    fn states_cancel_recover_pause_resume() {
        let (_dir, store) = store();
        let (a, _) = enqueue(&store, JobKind::Index, Some("a")).unwrap();
        let (b, _) = enqueue(&store, JobKind::Index, Some("b")).unwrap();
        assert_eq!(next_queued(&store).unwrap().unwrap().id, a.id);
        set_state(&store, a.id, JobState::Running, None).unwrap();
        assert!(get(&store, a.id).unwrap().unwrap().started_at.is_some());
        // A running job is flagged, a queued one cancelled at once.
        assert!(request_cancel(&store, a.id).unwrap().cancel_requested);
        assert!(cancel_requested(&store, a.id).unwrap());
        assert_eq!(
            request_cancel(&store, b.id).unwrap().state,
            JobState::Cancelled
        );
        assert!(request_cancel(&store, b.id).is_err(), "already finished");
        // The process dies: a running job the user asked to cancel ends cancelled, another
        // running job goes back to the queue.
        let (c, _) = enqueue(&store, JobKind::Index, Some("c")).unwrap();
        set_state(&store, c.id, JobState::Running, None).unwrap();
        assert_eq!(recover(&store).unwrap(), 2);
        assert_eq!(
            get(&store, a.id).unwrap().unwrap().state,
            JobState::Cancelled
        );
        let c2 = get(&store, c.id).unwrap().unwrap();
        assert_eq!(c2.state, JobState::Queued);
        assert!(!c2.cancel_requested);
        assert_eq!(pause_all(&store).unwrap(), 1);
        assert!(next_queued(&store).unwrap().is_none());
        assert_eq!(resume_all(&store).unwrap(), 1);
        set_state(&store, c.id, JobState::Failed, Some("disk full")).unwrap();
        let failed = get(&store, c.id).unwrap().unwrap();
        assert_eq!(failed.error.as_deref(), Some("disk full"));
        assert!(failed.finished_at.is_some());
        let listed = list(&store, 10).unwrap();
        assert_eq!(listed.len(), 3);
        assert!(get(&store, 999).unwrap().is_none());
        assert!(request_cancel(&store, 999).is_err());
    }

    fn event(id: i64, repo: Option<&str>, state: JobState, p: Option<Progress>) -> JobEvent {
        JobEvent {
            profile: "p".into(),
            job: Job {
                id,
                kind: JobKind::Index,
                repo: repo.map(str::to_string),
                state,
                cancel_requested: false,
                phase: String::new(),
                files_done: 0,
                files_total: 0,
                chunks_written: 0,
                embeddings_done: 0,
                embeddings_total: 0,
                rate: 0.0,
                eta_secs: None,
                error: None,
                created_at: 0,
                started_at: None,
                finished_at: None,
            },
            progress: p,
        }
    }

    fn progress(repo: &str, phase: Phase, files: (u64, u64), embeds: (u64, u64)) -> Progress {
        Progress {
            phase,
            repo: repo.into(),
            files_done: files.0,
            files_total: files.1,
            embeddings_done: embeds.0,
            embeddings_total: embeds.1,
            ..Progress::default()
        }
    }

    #[test]
    fn overall_progress_spans_repositories_then_embedding() {
        let o = overall(&progress("b", Phase::Chunking, (5, 10), (0, 0)), 1, 4);
        assert_eq!((o.repos_done, o.repos_total), (1, 4));
        assert!((o.percent - 18.8).abs() < 0.01, "{o:?}");
        let o = overall(&progress("d", Phase::Embedding, (0, 0), (30, 40)), 3, 4);
        assert_eq!(o.repos_done, 4);
        assert!((o.percent - 87.5).abs() < 0.01, "{o:?}");
        let done = overall(&progress("d", Phase::Done, (0, 0), (0, 0)), 3, 4);
        assert_eq!(done.percent, 100.0);
        // More repositories than announced never gives more than 100%.
        let o = overall(&progress("x", Phase::Chunking, (1, 1), (0, 0)), 5, 2);
        assert!(o.percent <= 50.0 && o.repos_total == 6, "{o:?}");
    }

    #[test]
    fn tracker_sums_up_jobs_in_one_line() {
        let mut t = JobTracker::default();
        assert_eq!(t.summary(false), "Up to date");
        let u = t.update(&event(1, None, JobState::Queued, None), 7);
        assert!(u.state_changed && u.overall.is_none());
        assert_eq!(t.summary(false), "1 job waiting");
        assert_eq!(t.summary(true), "Paused");
        t.update(&event(1, None, JobState::Running, None), 7);
        assert_eq!(t.summary(false), "Indexing…");
        for repo in ["a", "b", "c"] {
            let p = progress(repo, Phase::Walking, (0, 0), (0, 0));
            t.update(&event(1, None, JobState::Running, Some(p)), 7);
        }
        let p = progress("d", Phase::Chunking, (4, 10), (0, 0));
        let u = t.update(&event(1, None, JobState::Running, Some(p)), 7);
        assert!(!u.state_changed);
        assert_eq!(u.overall.unwrap().repos_done, 3);
        assert_eq!(t.summary(false), "Indexing 3/7 repos, 24%");
        assert!(t.running() && !t.paused());
        let u = t.update(&event(1, None, JobState::Completed, None), 7);
        assert!(u.state_changed);
        assert_eq!(u.finished.unwrap().id, 1);
        // A second event for the finished job (its last progress) is not a second finish.
        let p = progress("d", Phase::Done, (10, 10), (0, 0));
        let again = t.update(&event(1, None, JobState::Completed, Some(p)), 7);
        assert_eq!(again.finished, None, "reported once");
        assert_eq!(t.summary(false), "Up to date");
        t.update(&event(2, Some("a"), JobState::Paused, None), 7);
        assert!(t.paused());
        assert_eq!(t.summary(false), "Paused");
        // A single-repository job counts one repository.
        t.update(&event(3, Some("a"), JobState::Running, None), 7);
        let p = progress("a", Phase::Embedding, (0, 0), (1, 2));
        let u = t.update(&event(3, Some("a"), JobState::Running, Some(p)), 7);
        assert_eq!(u.overall.unwrap().repos_total, 1);
        assert_eq!(t.summary(false), "Indexing 1/1 repos, 75%");
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
