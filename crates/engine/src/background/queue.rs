//! Background work as jobs persisted in the profile's SQLite: the `jobs` table's rows and
//! every statement on them (the runner in [`super::runner`] does the work).
//!
//! A job is a row: kind, repository, state, progress, error, timestamps. Because the row is
//! written before the work starts and indexing commits in batches, a job survives
//! anything: a job found `running` when a runner starts belonged to a process that died, so
//! it goes back to `queued` and, when it runs again, the incremental indexer skips
//! everything already committed. Nothing is lost and nothing is done twice.
//!
//! Jobs coalesce: asking for a job identical to one already waiting returns the waiting one,
//! so a burst of watcher batches (a branch checkout) becomes one index run, not thousands.

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::pipeline::run::Progress;
use crate::store::{now, Store};
use crate::{Error, Result};

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
    store.query_all(&sql, args, job_from_row)
}

fn exec(store: &Store, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize> {
    store.conn().execute(sql, args).map_err(|e| store.err(e))
}

/// Queues a job, or returns the identical one already waiting (`false`). A waiting job for
/// all repositories covers any single one.
pub(crate) fn enqueue(store: &Store, kind: JobKind, repo: Option<&str>) -> Result<(Job, bool)> {
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

pub(crate) fn get(store: &Store, id: i64) -> Result<Option<Job>> {
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
pub(crate) fn list(store: &Store, recent: usize) -> Result<Vec<Job>> {
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
pub(crate) fn next_queued(store: &Store) -> Result<Option<Job>> {
    Ok(query_jobs(
        store,
        "WHERE state = 'queued' ORDER BY id LIMIT 1",
        params![],
    )?
    .into_iter()
    .next())
}

/// Takes a queued job for this process: one atomic `UPDATE … WHERE state = 'queued'`, so of
/// two runners that both saw the job only one gets it. Returns whether this one did.
pub(crate) fn claim(store: &Store, id: i64) -> Result<bool> {
    let t = now();
    let changed = exec(
        store,
        "UPDATE jobs SET state = 'running', updated_at = ?2, started_at = COALESCE(started_at, ?2)
         WHERE id = ?1 AND state = 'queued'",
        params![id, t],
    )?;
    Ok(changed == 1)
}

pub(super) fn set_state(
    store: &Store,
    id: i64,
    state: JobState,
    error: Option<&str>,
) -> Result<()> {
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

pub(super) fn record_progress(
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
pub(crate) fn request_cancel(store: &Store, id: i64) -> Result<Job> {
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

pub(super) fn cancel_requested(store: &Store, id: i64) -> Result<bool> {
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
pub(crate) fn recover(store: &Store) -> Result<usize> {
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
pub(crate) fn pause_all(store: &Store) -> Result<usize> {
    exec(
        store,
        "UPDATE jobs SET state = 'paused', updated_at = ?1 WHERE state = 'queued'",
        params![now()],
    )
}

/// Releases paused jobs back to the queue; returns how many.
pub(crate) fn resume_all(store: &Store) -> Result<usize> {
    exec(
        store,
        "UPDATE jobs SET state = 'queued', updated_at = ?1 WHERE state = 'paused'",
        params![now()],
    )
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
}
