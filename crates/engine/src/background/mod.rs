//! Everything that runs in the background for one open profile: the job runner, a watcher
//! over its local working copies, and a timer that fetches its cloned GitHub repositories.
//! `ferret daemon` runs one of these per profile in the foreground; the desktop app runs
//! one for the current profile while its window is open or hidden in the tray.
//!
//! Every trigger ends as a job in the profile's queue (coalesced there), so the watcher, the
//! timer and the user asking for a re-index never run two indexers on one profile.

pub(crate) mod queue;
mod runner;
mod tracker;
pub mod watch;

pub use queue::{Job, JobKind, JobState};
pub use runner::{EventSink, JobEvent, JobHandle, JobRunner};
pub use tracker::{overall, JobTracker, Overall, TrackerUpdate};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::background::watch::{ChangeBatch, RepoWatcher, WatchMode, WatchOptions, WatchedRepo};
use crate::profiles::registry::ProfileStatus;
use crate::{Engine, Error, Result};

/// Knobs; defaults come from the profile's config.
#[derive(Debug, Clone)]
pub struct BackgroundOptions {
    pub debounce: Duration,
    /// `None` turns periodic fetching off.
    pub fetch_interval: Option<Duration>,
    /// Fallback rescan period for repositories the watcher cannot follow.
    pub rescan_interval: Duration,
    /// Queue an index of every repository at start, to catch changes made while nothing
    /// was watching.
    pub index_at_start: bool,
    /// Unload the embedding model after this long unused (`None`: keep it loaded).
    pub unload_model_after: Option<Duration>,
}

/// How long a background process keeps an unused model loaded: long enough that a burst
/// of searches, or a working session's saves, never reload it; short enough that an app
/// left in the tray overnight holds no model (about 80 MiB).
pub const UNLOAD_MODEL_AFTER: Duration = Duration::from_secs(10 * 60);

impl BackgroundOptions {
    pub fn for_engine(engine: &Engine) -> Self {
        let config = engine.config();
        BackgroundOptions {
            debounce: Duration::from_millis(config.watch_debounce_ms),
            fetch_interval: (config.fetch_interval_mins > 0)
                .then(|| Duration::from_secs(config.fetch_interval_mins * 60)),
            rescan_interval: Duration::from_secs(60),
            index_at_start: true,
            // FERRET_MODEL_IDLE_SECS overrides the delay (0 keeps the model), for measuring.
            unload_model_after: match std::env::var("FERRET_MODEL_IDLE_SECS")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                Some(0) => None,
                Some(secs) => Some(Duration::from_secs(secs)),
                None => Some(UNLOAD_MODEL_AFTER),
            },
        }
    }
}

/// The background work of one profile; stops when dropped.
pub struct ProfileBackground {
    runner: Option<JobRunner>,
    watcher: Mutex<Option<RepoWatcher>>,
    /// The local repositories being watched (name, root), to notice additions and removals.
    watched: Mutex<Vec<WatchedRepo>>,
    stop: Arc<AtomicBool>,
    timer: Option<JoinHandle<()>>,
    /// Answers `ferret search` over the profile's socket while this process runs (`None`
    /// when another process already does, or off this platform).
    #[cfg(unix)]
    socket: Option<crate::ipc::server::Server>,
    opts: BackgroundOptions,
}

impl ProfileBackground {
    pub fn start(engine: Arc<Engine>, opts: BackgroundOptions, sink: EventSink) -> Result<Self> {
        let runner = JobRunner::start(engine.clone(), sink)?;
        let handle = runner.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let timer = spawn_timer(
            handle.clone(),
            opts.fetch_interval,
            opts.unload_model_after,
            stop.clone(),
        )?;
        #[cfg(unix)]
        let socket = {
            let path = engine.paths().socket_file();
            crate::ipc::server::Server::start_for_engine(engine.clone(), &path).unwrap_or_else(
                |e| {
                    // Searches still work, in each process; only the shortcut is lost.
                    log::warn!("no warm-process socket: {e}");
                    None
                },
            )
        };
        let background = ProfileBackground {
            runner: Some(runner),
            watcher: Mutex::new(None),
            watched: Mutex::new(Vec::new()),
            stop,
            timer: Some(timer),
            #[cfg(unix)]
            socket,
            opts,
        };
        background.refresh_repos()?;
        if background.opts.index_at_start && !engine.repos()?.is_empty() {
            handle.enqueue(JobKind::Index, None)?;
        }
        Ok(background)
    }

    fn runner(&self) -> &JobRunner {
        self.runner.as_ref().expect("runner lives until drop")
    }

    /// Whether this process runs the profile's jobs; when another one does (the app and
    /// `ferret daemon` on one profile), this one only watches and queues work for it.
    pub fn owns_queue(&self) -> bool {
        self.runner().owns_queue()
    }

    /// Queues work for this profile.
    pub fn jobs(&self) -> JobHandle {
        self.runner().handle()
    }

    fn local_repos(&self) -> Result<Vec<WatchedRepo>> {
        let handle = self.runner().handle();
        let engine = handle.engine();
        Ok(engine
            .repos()?
            .into_iter()
            .filter(|r| r.remote.is_none() && !r.paused && !r.needs_confirmation)
            .map(|r| WatchedRepo {
                name: r.name,
                root: r.root,
                excludes: engine.config().excludes.clone(),
                skip_dirs: vec![engine.data_root().to_path_buf()],
            })
            .collect())
    }

    /// Watches the profile's current local repositories if they differ from the watched
    /// set (another process added or removed one); returns whether anything changed.
    pub fn refresh_if_changed(&self) -> Result<bool> {
        let current = self.local_repos()?;
        if *self.watched.lock().unwrap_or_else(|p| p.into_inner()) == current {
            return Ok(false);
        }
        self.refresh_repos()?;
        Ok(true)
    }

    /// Re-reads the profile's repositories and watches the local ones (call after adding or
    /// removing a repository).
    pub fn refresh_repos(&self) -> Result<()> {
        let handle = self.runner().handle();
        let repos = self.local_repos()?;
        *self.watched.lock().unwrap_or_else(|p| p.into_inner()) = repos.clone();
        let opts = WatchOptions {
            debounce: self.opts.debounce,
            rescan_interval: self.opts.rescan_interval,
            ..WatchOptions::default()
        };
        let sink_handle = handle.clone();
        let watcher = RepoWatcher::start(repos, opts, move |batch: ChangeBatch| {
            on_change(&sink_handle, &batch)
        })?;
        *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(watcher);
        Ok(())
    }

    /// How each watched repository is followed (events, or polling with the reason).
    pub fn watch_modes(&self) -> BTreeMap<String, WatchMode> {
        let handle = self.runner().handle();
        let names: Vec<String> = handle
            .engine()
            .repos()
            .map(|rs| rs.into_iter().map(|r| r.name).collect())
            .unwrap_or_default();
        let watcher = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
        names
            .into_iter()
            .filter_map(|name| {
                let mode = watcher.as_ref()?.mode(&name)?;
                Some((name, mode))
            })
            .collect()
    }
}

fn on_change(jobs: &JobHandle, batch: &ChangeBatch) {
    match jobs.engine().record() {
        Ok(record) if record.status != ProfileStatus::Active => return,
        Err(e) => {
            log::warn!("watcher: {e}");
            return;
        }
        Ok(_) => {}
    }
    log::debug!(
        "{}: {} changed path(s){}",
        batch.repo,
        batch.paths.len(),
        batch
            .rescan
            .as_deref()
            .map(|r| format!(", rescan: {r}"))
            .unwrap_or_default()
    );
    if let Err(e) = jobs.enqueue(JobKind::Index, Some(&batch.repo)) {
        log::warn!("cannot queue an index of {}: {e}", batch.repo);
    }
}

/// The profile's clock: queues a sync of its cloned repositories every `fetch_every`
/// (skipped while the profile is paused or has none that is not paused), and unloads the
/// model once it has been unused for `unload_after`.
fn spawn_timer(
    jobs: JobHandle,
    fetch_every: Option<Duration>,
    unload_after: Option<Duration>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ferret-timer".into())
        .spawn(move || {
            let mut last_fetch = Instant::now();
            let mut last_unload_check = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                if let Some(idle) = unload_after {
                    // Checked a few times per period, so the model goes at most a quarter
                    // of a period late.
                    if last_unload_check.elapsed() >= idle / 4 {
                        last_unload_check = Instant::now();
                        jobs.engine().release_idle_models(idle);
                    }
                }
                let Some(every) = fetch_every else { continue };
                if last_fetch.elapsed() < every {
                    continue;
                }
                last_fetch = Instant::now();
                let engine = jobs.engine();
                let active = engine
                    .record()
                    .map(|r| r.status == ProfileStatus::Active)
                    .unwrap_or(false);
                let has_clones = engine
                    .repos()
                    .map(|rs| rs.iter().any(|r| r.remote.is_some() && !r.paused))
                    .unwrap_or(false);
                if active && has_clones {
                    if let Err(e) = jobs.enqueue(JobKind::Sync, None) {
                        log::warn!("cannot queue a fetch: {e}");
                    }
                }
            }
        })
        .map_err(|e| Error::io("cannot start the background timer thread", e))
}

impl Drop for ProfileBackground {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        #[cfg(unix)]
        self.socket.take();
        self.watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(timer) = self.timer.take() {
            let _ = timer.join();
        }
        if let Some(runner) = self.runner.take() {
            runner.stop();
        }
    }
}
