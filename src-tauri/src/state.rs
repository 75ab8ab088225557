//! What the shell holds: the profiles, and the background work (job runner, watcher, fetch
//! timer) of the current profile, whose job events become the UI's progress events and the
//! tray's status line.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use ferret_engine::background::{
    BackgroundOptions, EventSink, JobEvent, JobHandle, JobState, JobTracker, ProfileBackground,
};
use ferret_engine::contract::{event, ErrorEvent, IndexProgressEvent, JobsChangedEvent};
use ferret_engine::{Engine, ErrorKind, ErrorReport, ProfileStatus, Profiles};
use tauri::{AppHandle, Emitter};

use crate::tray;

/// What every command returns: a failure reaches the UI as `{kind, message}`.
pub type Res<T> = Result<T, ErrorReport>;

/// An engine error for the UI, its kind intact.
pub fn err(e: ferret_engine::Error) -> ErrorReport {
    ErrorReport::from(e)
}

/// A failure of the shell itself (a thread, the window, a plugin), shown as an I/O error.
pub fn shell_failure(message: &str) -> ErrorReport {
    ErrorReport {
        kind: ErrorKind::Io,
        message: message.to_string(),
    }
}

/// Failure messages already notified, so the same failure twice in a row (the watcher and
/// an explicit re-index both finding a folder gone) raises one desktop notification.
#[derive(Default)]
struct RecentFailures(Vec<(String, std::time::Instant)>);

/// How long an identical failure stays quiet.
const REPEAT_FAILURE_QUIET: std::time::Duration = std::time::Duration::from_secs(120);

impl RecentFailures {
    fn first_time(&mut self, message: &str) -> bool {
        self.0.retain(|(_, at)| at.elapsed() < REPEAT_FAILURE_QUIET);
        if self.0.iter().any(|(m, _)| m == message) {
            return false;
        }
        self.0
            .push((message.to_string(), std::time::Instant::now()));
        true
    }
}

/// Jobs that ran at least this long get a desktop notification when they end (failures
/// always do). `FERRET_NOTIFY_AFTER_SECS` overrides it, e.g. 0 to hear about every job.
const NOTIFY_AFTER_SECS: i64 = 20;

fn notify_after_secs() -> i64 {
    static SECS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *SECS.get_or_init(|| {
        std::env::var("FERRET_NOTIFY_AFTER_SECS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|s: &i64| *s >= 0)
            .unwrap_or(NOTIFY_AFTER_SECS)
    })
}

struct Current {
    id: String,
    engine: Arc<Engine>,
    background: ProfileBackground,
}

pub struct Shell {
    pub profiles: Arc<Profiles>,
    current: Mutex<Option<Current>>,
    tracker: Arc<Mutex<JobTracker>>,
    /// Set by `index_cancel` to stop a clone in progress.
    pub clone_cancel: Arc<AtomicBool>,
    /// Held while switching profiles, so two callers never start two runners.
    switching: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shell {
    pub fn new(profiles: Profiles) -> Self {
        Shell {
            profiles: Arc::new(profiles),
            current: Mutex::new(None),
            tracker: Arc::new(Mutex::new(JobTracker::default())),
            clone_cancel: Arc::new(AtomicBool::new(false)),
            switching: Mutex::new(()),
        }
    }

    /// The current profile's id, as the registry says.
    ///
    /// The window keeps the profile it activated: a `ferret profile use` in a terminal
    /// changes what the CLI uses next, never silently what this window shows and writes
    /// to. Only before anything is active (start-up, after a deletion) does the registry's
    /// current profile decide.
    pub fn current_id(&self) -> Res<String> {
        if let Some(current) = lock(&self.current).as_ref() {
            return Ok(current.id.clone());
        }
        self.profiles.resolve(None).map_err(ErrorReport::from)
    }

    /// The window's active profile, if one is active.
    pub fn active_id(&self) -> Option<String> {
        lock(&self.current).as_ref().map(|c| c.id.clone())
    }

    /// The current profile's engine, starting its background work on first use.
    pub fn engine(&self, app: &AppHandle) -> Res<Arc<Engine>> {
        let id = self.current_id()?;
        if let Some(current) = lock(&self.current).as_ref().filter(|c| c.id == id) {
            return Ok(current.engine.clone());
        }
        self.activate(app, &id)?;
        lock(&self.current)
            .as_ref()
            .map(|c| c.engine.clone())
            .ok_or_else(|| shell_failure("the profile could not be opened"))
    }

    /// The current profile's job queue.
    pub fn jobs(&self, app: &AppHandle) -> Res<JobHandle> {
        self.engine(app)?;
        lock(&self.current)
            .as_ref()
            .map(|c| c.background.jobs())
            .ok_or_else(|| shell_failure("the profile's background work is not running"))
    }

    /// Re-reads the repositories to watch (after adding or removing one).
    pub fn refresh_repos(&self) {
        if let Some(current) = lock(&self.current).as_ref() {
            if let Err(e) = current.background.refresh_repos() {
                log::warn!("cannot watch the repositories: {e}");
            }
        }
    }

    /// Makes `id` the profile the window, tray and background work act on. Switching stops
    /// the old profile's background work (its running job resumes next time) and starts the
    /// new one's.
    pub fn activate(&self, app: &AppHandle, id: &str) -> Res<()> {
        let _switching = lock(&self.switching);
        let old = {
            let mut current = lock(&self.current);
            if current.as_ref().is_some_and(|c| c.id == id) {
                return Ok(());
            }
            current.take()
        };
        // Dropping waits for the runner to stop after its current batch: outside the lock.
        drop(old);
        *lock(&self.tracker) = JobTracker::default();
        let engine = self.profiles.engine(id).map_err(ErrorReport::from)?;
        let sink = self.sink(app, id);
        let background =
            ProfileBackground::start(engine.clone(), BackgroundOptions::for_engine(&engine), sink)
                .map_err(ErrorReport::from)?;
        *lock(&self.current) = Some(Current {
            id: id.to_string(),
            engine,
            background,
        });
        self.announce_jobs(app);
        tray::rebuild(app);
        Ok(())
    }

    /// Stops the current profile's background work (before deleting or reconfiguring it).
    pub fn deactivate(&self) {
        let _switching = lock(&self.switching);
        let old = lock(&self.current).take();
        drop(old);
        *lock(&self.tracker) = JobTracker::default();
    }

    /// Stops background work before the process exits, waiting at most `grace`.
    ///
    /// Leaving while the indexer embeds would crash on the way out (ONNX Runtime's exit
    /// handlers free what the running batch uses), so quitting first lets the runner finish
    /// its batch. A clone in progress is cancelled. If the work outlasts `grace` the process
    /// leaves at once without exit handlers; the interrupted job stays queued for next time.
    pub fn shut_down(&self, grace: std::time::Duration) {
        self.clone_cancel
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let Some(current) = lock(&self.current).take() else {
            return;
        };
        let (stopped, wait) = std::sync::mpsc::channel();
        let stopping = std::thread::Builder::new()
            .name("ferret-quit".into())
            .spawn(move || {
                drop(current);
                let _ = stopped.send(());
            });
        if stopping.is_ok() && wait.recv_timeout(grace).is_err() {
            log::warn!(
                "background work did not stop within {} s; leaving now (it resumes next start)",
                grace.as_secs()
            );
            ferret_engine::pipeline::embed::exit_now(0);
        }
    }

    /// Whether the current profile is paused.
    pub fn paused(&self) -> bool {
        self.current_id()
            .ok()
            .and_then(|id| self.profiles.get(&id).ok())
            .is_some_and(|r| r.status == ProfileStatus::Paused)
    }

    /// The `jobs-changed` payload now.
    pub fn jobs_state(&self) -> JobsChangedEvent {
        let paused = self.paused();
        let tracker = lock(&self.tracker);
        JobsChangedEvent {
            running: tracker.running(),
            paused: paused || tracker.paused(),
            summary: tracker.summary(paused),
        }
    }

    /// Sends `jobs-changed` and updates the tray.
    pub fn announce_jobs(&self, app: &AppHandle) {
        let state = self.jobs_state();
        tray::set_status(app, &state);
        let _ = app.emit(event::JOBS_CHANGED, state);
    }

    fn sink(&self, app: &AppHandle, id: &str) -> EventSink {
        let app = app.clone();
        let id = id.to_string();
        let tracker = self.tracker.clone();
        let recent_failures = Mutex::new(RecentFailures::default());
        Arc::new(move |event: &JobEvent| {
            if event.profile != id {
                return;
            }
            let update = lock(&tracker).update(event);
            if let (Some(overall), Some(progress)) = (update.overall, &event.progress) {
                let _ = app.emit(
                    event::INDEX_PROGRESS,
                    IndexProgressEvent {
                        repo: event.job.repo.clone(),
                        progress: progress.clone(),
                        overall,
                        rate: event.job.rate,
                        eta_secs: event.job.eta_secs,
                    },
                );
            }
            if update.state_changed || update.overall.is_some() {
                let shell = tauri::Manager::state::<Shell>(&app);
                if update.state_changed {
                    shell.announce_jobs(&app);
                } else {
                    tray::set_status(&app, &shell.jobs_state());
                }
            }
            if let Some(job) = update.finished {
                let what = event.job.repo.as_deref().unwrap_or("all repositories");
                let long = match (job.started_at, job.finished_at) {
                    (Some(s), Some(f)) => f - s >= notify_after_secs(),
                    _ => false,
                };
                match job.state {
                    JobState::Failed => {
                        let message = format!(
                            "Indexing {what} failed: {}",
                            job.error.as_deref().unwrap_or("unknown error")
                        );
                        let _ = app.emit(
                            event::ERROR,
                            ErrorEvent {
                                message: message.clone(),
                            },
                        );
                        // The window shows every failure; the desktop hears of one once.
                        if lock(&recent_failures).first_time(&message) {
                            crate::notify(&app, "Indexing failed", &message);
                        }
                    }
                    JobState::Completed if long => {
                        crate::notify(&app, "Indexing finished", &format!("{what} is up to date"))
                    }
                    _ => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RecentFailures;

    #[test]
    fn an_identical_failure_is_notified_once() {
        let mut recent = RecentFailures::default();
        assert!(recent.first_time("Indexing a failed: gone"));
        assert!(!recent.first_time("Indexing a failed: gone"));
        assert!(recent.first_time("Indexing b failed: gone"));
    }
}
