//! The profile's job queue as the shells see it: list, cancel one, cancel all, and hold or
//! release waiting work when the profile is paused. The rows and their SQL live in
//! `crate::background::queue`; a running [`crate::background::JobRunner`] picks up every
//! change made here (it re-reads the queue and each job's cancel flag).

use crate::background::queue;
use crate::background::{Job, JobKind};
use crate::Result;

use super::Engine;

impl Engine {
    /// Unfinished jobs first (oldest first), then the `recent` latest finished ones.
    pub fn jobs(&self, recent: usize) -> Result<Vec<Job>> {
        queue::list(&self.store(), recent)
    }

    /// Queues a job without a runner in this process (one in another process, such as
    /// `ferret daemon` or the desktop app, picks it up); coalesces with an identical
    /// waiting job. Returns the job and whether it is new.
    pub fn enqueue_job(&self, kind: JobKind, repo: Option<&str>) -> Result<(Job, bool)> {
        queue::enqueue(&self.store(), kind, repo)
    }

    /// Cancels a job: a waiting one at once, a running one after its current batch.
    pub fn cancel_job(&self, id: i64) -> Result<Job> {
        queue::request_cancel(&self.store(), id)
    }

    /// Cancels every unfinished job (running ones after their current batch); returns how
    /// many were asked to stop.
    pub fn cancel_unfinished_jobs(&self) -> Result<usize> {
        let store = self.store();
        let mut cancelled = 0;
        for job in queue::list(&store, 0)? {
            if !job.state.is_finished() {
                queue::request_cancel(&store, job.id)?;
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }

    /// Holds every waiting job (the profile is being paused); returns how many.
    pub(crate) fn hold_waiting_jobs(&self) -> Result<usize> {
        queue::pause_all(&self.store())
    }

    /// Releases held jobs back to the queue (the profile is resumed); returns how many.
    pub(crate) fn release_held_jobs(&self) -> Result<usize> {
        queue::resume_all(&self.store())
    }
}

#[cfg(test)]
mod tests {
    use crate::background::JobState;
    use crate::{Engine, EngineOptions};

    #[test]
    fn cancel_all_stops_every_unfinished_job_and_leaves_finished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(EngineOptions {
            data_root: Some(dir.path().to_path_buf()),
            ..Default::default()
        })
        .unwrap();
        let (a, _) = engine
            .enqueue_job(super::JobKind::Index, Some("a"))
            .unwrap();
        let (b, _) = engine.enqueue_job(super::JobKind::Sync, None).unwrap();
        engine.cancel_job(a.id).unwrap();
        assert!(
            engine.cancel_job(a.id).is_err(),
            "a finished job stays finished"
        );
        assert_eq!(engine.hold_waiting_jobs().unwrap(), 1);
        assert_eq!(engine.cancel_unfinished_jobs().unwrap(), 1);
        let jobs = engine.jobs(10).unwrap();
        assert_eq!(jobs.len(), 2);
        assert!(jobs.iter().all(|j| j.state == JobState::Cancelled));
        assert!(jobs.iter().any(|j| j.id == b.id));
        assert_eq!(engine.release_held_jobs().unwrap(), 0);
    }
}
