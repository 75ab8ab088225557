//! Progress arithmetic over a job's repositories and the one-line status the tray, the
//! desktop's `jobs-changed` event and the CLI share.

use serde::Serialize;

use crate::pipeline::run::{Phase, Progress};

use super::queue::{Job, JobKind, JobState};
use super::runner::JobEvent;

/// A job's progress over all its repositories, for one bar and one status line.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// The overall figures of a run, from where its progress says it is (its `repo_index`-th
/// repository, 0-based, of `repos_total`).
pub fn overall(p: &Progress) -> Overall {
    let repo_index = p.repo_index;
    let repos_total = p.repos_total.max(repo_index + 1);
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
    /// Applies an event.
    pub fn update(&mut self, event: &JobEvent) -> TrackerUpdate {
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
        let overall = event.progress.as_ref().map(overall);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::background::queue::{Job, JobKind, JobState};
    use crate::pipeline::run::{Phase, Progress};

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
            repo_index: u64::from(repo.as_bytes()[0] - b'a'),
            repos_total: 7,
            files_done: files.0,
            files_total: files.1,
            embeddings_done: embeds.0,
            embeddings_total: embeds.1,
            ..Progress::default()
        }
    }

    #[test]
    fn overall_progress_spans_repositories_then_embedding() {
        let of4 = |p: Progress| {
            overall(&Progress {
                repos_total: 4,
                ..p
            })
        };
        let o = of4(progress("b", Phase::Chunking, (5, 10), (0, 0)));
        assert_eq!((o.repos_done, o.repos_total), (1, 4));
        assert!((o.percent - 18.8).abs() < 0.01, "{o:?}");
        let o = of4(progress("d", Phase::Embedding, (0, 0), (30, 40)));
        assert_eq!(o.repos_done, 4);
        assert!((o.percent - 87.5).abs() < 0.01, "{o:?}");
        let done = of4(progress("d", Phase::Done, (0, 0), (0, 0)));
        assert_eq!(done.percent, 100.0);
        // More repositories than announced never gives more than 100%.
        let o = overall(&Progress {
            repo_index: 5,
            repos_total: 2,
            ..progress("x", Phase::Chunking, (1, 1), (0, 0))
        });
        assert!(o.percent <= 50.0 && o.repos_total == 6, "{o:?}");
    }

    #[test]
    fn tracker_sums_up_jobs_in_one_line() {
        let mut t = JobTracker::default();
        assert_eq!(t.summary(false), "Up to date");
        let u = t.update(&event(1, None, JobState::Queued, None));
        assert!(u.state_changed && u.overall.is_none());
        assert_eq!(t.summary(false), "1 job waiting");
        assert_eq!(t.summary(true), "Paused");
        t.update(&event(1, None, JobState::Running, None));
        assert_eq!(t.summary(false), "Indexing…");
        for repo in ["a", "b", "c"] {
            let p = progress(repo, Phase::Walking, (0, 0), (0, 0));
            t.update(&event(1, None, JobState::Running, Some(p)));
        }
        let p = progress("d", Phase::Chunking, (4, 10), (0, 0));
        let u = t.update(&event(1, None, JobState::Running, Some(p)));
        assert!(!u.state_changed);
        assert_eq!(u.overall.unwrap().repos_done, 3);
        assert_eq!(t.summary(false), "Indexing 3/7 repos, 24%");
        assert!(t.running() && !t.paused());
        let u = t.update(&event(1, None, JobState::Completed, None));
        assert!(u.state_changed);
        assert_eq!(u.finished.unwrap().id, 1);
        // A second event for the finished job (its last progress) is not a second finish.
        let p = progress("d", Phase::Done, (10, 10), (0, 0));
        let again = t.update(&event(1, None, JobState::Completed, Some(p)));
        assert_eq!(again.finished, None, "reported once");
        assert_eq!(t.summary(false), "Up to date");
        t.update(&event(2, Some("a"), JobState::Paused, None));
        assert!(t.paused());
        assert_eq!(t.summary(false), "Paused");
        // A single-repository job counts one repository.
        t.update(&event(3, Some("a"), JobState::Running, None));
        let p = Progress {
            repos_total: 1,
            ..progress("a", Phase::Embedding, (0, 0), (1, 2))
        };
        let u = t.update(&event(3, Some("a"), JobState::Running, Some(p)));
        assert_eq!(u.overall.unwrap().repos_total, 1);
        assert_eq!(t.summary(false), "Indexing 1/1 repos, 75%");
    }
}
