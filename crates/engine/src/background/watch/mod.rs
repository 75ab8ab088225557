//! Watches repositories and says, debounced and batched, which one changed.
//!
//! # What the watcher promises, and what it leaves to the indexer
//! The indexer ([`crate::pipeline::run`]) already re-indexes a repository incrementally: it re-walks
//! it, skips every file whose size and mtime are unchanged, and embeds only chunks whose
//! content hash is new. A no-change pass over ripgrep's source costs about 60 ms. So the
//! watcher does not try to be a precise change log; it only has to say *which repository*
//! changed, soon enough, and never stay silent about a change. The paths in a
//! [`ChangeBatch`] are for logging and future use, never the list of work: inotify can lose
//! events (queue overflow, a directory created and filled before its watch is in place, the
//! watch limit), while a re-walk comparing mtime+size cannot lose anything and is cheap.
//!
//! # Debounce per repository
//! A branch checkout, a `cargo fmt` or a search-and-replace touches thousands of files within
//! a second. Each repository keeps its own pending batch, flushed [`WatchOptions::debounce`]
//! after its *last* event (or [`WatchOptions::max_batch_wait`] after its first, so a steady
//! stream of writes still gets indexed). Debouncing per repository means that a busy
//! repository neither delays nor merges with a quiet one, and a checkout becomes one batch
//! and so one re-index.
//!
//! # What is watched
//! Each repository gets its own inotify instance (`notify::RecommendedWatcher`), so an event
//! queue overflow can be pinned on the repository that caused it. Rather than notify's
//! recursive mode, which would also watch `target/`, `node_modules/` and `.git/objects` (tens of
//! thousands of watches, and a flood of events during every build), the watcher walks the
//! repository itself and puts a non-recursive watch on each directory the indexer would
//! descend into: not ignored by `.gitignore`/`.ignore` files (nested ones included, each
//! applying below its own directory), `.git/info/exclude`, git's global excludes, the
//! repository's own `excludes` (gitignore-style globs) and the vendored directories that
//! [`crate::pipeline::walk`] skips. Symlinks are not followed, as in the walk. A directory created
//! later is watched as soon as its creation is seen, and the files already inside it are
//! reported. Of `.git` only `HEAD` (a branch switch) and `info/exclude` count; everything
//! else there (`index`, `objects`, lock files) is noise, which also means that `git status`
//! refreshing `.git/index` never triggers a re-index. Reads (open, close-without-write) are
//! ignored, so the indexer reading files cannot trigger itself.
//!
//! A change to any `.gitignore` or `.ignore` file (or `.git/info/exclude`) rebuilds the rules,
//! re-creates the watches (a directory may have become visible or hidden) and emits a batch
//! with `rescan: Some("ignore rules changed")`.
//!
//! # When events cannot be trusted: polling
//! If inotify's event queue overflows, if notify reports an error, if the watch limit
//! (`fs.inotify.max_user_watches`) is reached or no inotify instance can be created, the
//! repository switches to [`WatchMode::Polling`]: one warning is logged naming the cause and
//! the `sysctl` that fixes it, a batch with `rescan: Some(reason)` is emitted at once, and
//! another one every [`WatchOptions::rescan_interval`]. Whatever watches still work keep
//! reporting too. Removing and re-adding the repository (after raising the limit) returns it
//! to [`WatchMode::Events`].
//!
//! # Threads
//! One worker thread owns all state and calls the sink; each repository's notify watcher has
//! its own (sleeping) inotify thread. The sink runs on the worker thread: keep it short (send
//! the batch to a channel or queue an index job). Dropping the [`RepoWatcher`] stops the
//! worker and joins it; the notify threads are told to shut down as their watchers drop.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RemoveKind, RenameMode};
use notify::{EventKind, RecommendedWatcher};

use crate::pipeline::ignore_rules::IgnoreRules;

mod tree;
use crate::{Error, Result};
use tree::{error_reason, watch_dir, watch_tree};

/// The `rescan` reason of a batch caused by an edited `.gitignore`, `.ignore` or
/// `.git/info/exclude`.
pub const IGNORE_RULES_CHANGED: &str = "ignore rules changed";

/// A repository to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedRepo {
    /// The name batches carry; unique within one [`RepoWatcher`].
    pub name: String,
    /// The repository's root directory (canonicalized when added).
    pub root: PathBuf,
    /// Extra gitignore-style patterns to ignore, as in [`crate::pipeline::walk::WalkOptions::excludes`].
    pub excludes: Vec<String>,
    /// Absolute directories never watched (Ferret's data directory).
    pub skip_dirs: Vec<PathBuf>,
}

/// What changed in one repository since the previous batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeBatch {
    pub repo: String,
    /// Changed, created, deleted and renamed (both names) paths, relative to the root.
    /// Informational: events can be lost, so the indexer re-walks the repository.
    pub paths: BTreeSet<PathBuf>,
    /// Set when the whole repository must be rescanned, with the reason (ignore rules
    /// changed, events were lost, the watcher is polling).
    pub rescan: Option<String>,
}

/// How a repository is being watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMode {
    /// inotify events are trusted.
    Events,
    /// Events cannot be trusted; a rescan batch is emitted every `rescan_interval`.
    Polling { reason: String },
}

/// Timing of the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// A repository's batch is emitted this long after its last event.
    pub debounce: Duration,
    /// ... or this long after its first event, whichever comes first.
    pub max_batch_wait: Duration,
    /// Period of the rescan batches of a repository in [`WatchMode::Polling`].
    pub rescan_interval: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(300),
            max_batch_wait: Duration::from_secs(2),
            rescan_interval: Duration::from_secs(60),
        }
    }
}

/// Watches a set of repositories and calls a sink with one [`ChangeBatch`] per burst of
/// changes per repository. See the module documentation.
pub struct RepoWatcher {
    tx: mpsc::Sender<Msg>,
    modes: Arc<Mutex<HashMap<String, WatchMode>>>,
    thread: Option<JoinHandle<()>>,
}

enum Msg {
    Add(WatchedRepo, mpsc::Sender<Result<()>>),
    Remove(String, Option<mpsc::Sender<()>>),
    Event(u64, notify::Result<notify::Event>),
    #[cfg(test)]
    Inject(String, notify::Result<notify::Event>),
    Stop,
}

impl RepoWatcher {
    /// Starts watching `repos`; `sink` is called on the watcher's thread with each batch.
    /// Nothing is emitted for the state found at start: index a repository once after
    /// adding it (add first, then index, so no change falls between the two).
    pub fn start(
        repos: Vec<WatchedRepo>,
        opts: WatchOptions,
        sink: impl Fn(ChangeBatch) + Send + 'static,
    ) -> Result<RepoWatcher> {
        let (tx, rx) = mpsc::channel();
        let modes = Arc::new(Mutex::new(HashMap::new()));
        let worker = Worker {
            opts,
            sink: Box::new(sink),
            tx: tx.clone(),
            modes: Arc::clone(&modes),
            repos: HashMap::new(),
            next_id: 0,
        };
        let thread = thread::Builder::new()
            .name("ferret-watch".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| Error::io("cannot start the file watcher thread", e))?;
        let watcher = RepoWatcher {
            tx,
            modes,
            thread: Some(thread),
        };
        for repo in repos {
            watcher.add(repo)?;
        }
        Ok(watcher)
    }

    /// Starts watching one more repository. Fails if the name is already watched, the root
    /// is not a directory or an exclude pattern is invalid. Running out of inotify watches
    /// is not an error: the repository is then polled (see [`RepoWatcher::mode`]).
    /// Must not be called from inside the sink.
    pub fn add(&self, repo: WatchedRepo) -> Result<()> {
        if self.on_worker_thread() {
            return Err(Error::Refused(
                "RepoWatcher::add cannot be called from inside the change sink".into(),
            ));
        }
        let (reply_tx, reply_rx) = mpsc::channel();
        self.tx
            .send(Msg::Add(repo, reply_tx))
            .map_err(|_| stopped())?;
        reply_rx.recv().map_err(|_| stopped())?
    }

    /// Stops watching a repository; once this returns no batch for it is emitted (when
    /// called from inside the sink, no batch after the current one). Unknown names are
    /// ignored.
    pub fn remove(&self, name: &str) {
        if self.on_worker_thread() {
            let _ = self.tx.send(Msg::Remove(name.to_string(), None));
            return;
        }
        let (ack_tx, ack_rx) = mpsc::channel();
        if self
            .tx
            .send(Msg::Remove(name.to_string(), Some(ack_tx)))
            .is_ok()
        {
            let _ = ack_rx.recv();
        }
    }

    /// How a repository is watched, or `None` if it is not watched.
    pub fn mode(&self, name: &str) -> Option<WatchMode> {
        self.modes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Feeds `event` to the repository `name` as if its inotify watcher had reported it.
    #[cfg(test)]
    pub(crate) fn inject(&self, name: &str, event: notify::Result<notify::Event>) {
        let _ = self.tx.send(Msg::Inject(name.to_string(), event));
    }

    fn on_worker_thread(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|t| t.thread().id() == thread::current().id())
    }
}

impl Drop for RepoWatcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn stopped() -> Error {
    Error::Refused("the file watcher has stopped (its change sink panicked)".into())
}

struct Worker {
    opts: WatchOptions,
    sink: Box<dyn Fn(ChangeBatch) + Send>,
    /// Cloned into each notify event handler.
    tx: mpsc::Sender<Msg>,
    modes: Arc<Mutex<HashMap<String, WatchMode>>>,
    repos: HashMap<String, Repo>,
    next_id: u64,
}

struct Repo {
    /// Distinguishes this repository's events from those of a removed one of the same name.
    id: u64,
    name: String,
    root: PathBuf,
    rules: IgnoreRules,
    /// `None` when no inotify instance could be created.
    watcher: Option<RecommendedWatcher>,
    pending: Pending,
    polling: Option<Polling>,
}

struct Polling {
    reason: String,
    next: Instant,
}

#[derive(Default)]
struct Pending {
    paths: BTreeSet<PathBuf>,
    rescan: Option<String>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Pending {
    fn touch(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    fn deadline(&self, opts: &WatchOptions) -> Option<Instant> {
        let first = self.first?;
        let last = self.last.unwrap_or(first);
        Some((last + opts.debounce).min(first + opts.max_batch_wait))
    }

    fn take(&mut self, repo: &str) -> ChangeBatch {
        let pending = std::mem::take(self);
        ChangeBatch {
            repo: repo.to_string(),
            paths: pending.paths,
            rescan: pending.rescan,
        }
    }
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let msg = match self.next_deadline() {
                Some(deadline) => {
                    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.flush_due(Instant::now());
        }
        // Dropping the repositories drops their notify watchers, which stops their threads.
        self.repos.clear();
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Add(repo, reply) => {
                let result = self.add(repo);
                let _ = reply.send(result);
            }
            Msg::Remove(name, ack) => {
                self.repos.remove(&name);
                self.modes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&name);
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
            }
            Msg::Event(id, event) => {
                let name = self
                    .repos
                    .values()
                    .find(|r| r.id == id)
                    .map(|r| r.name.clone());
                if let Some(name) = name {
                    self.on_event(&name, event);
                }
            }
            #[cfg(test)]
            Msg::Inject(name, event) => {
                if self.repos.contains_key(&name) {
                    self.on_event(&name, event);
                }
            }
            Msg::Stop => {}
        }
    }

    fn add(&mut self, repo: WatchedRepo) -> Result<()> {
        if repo.name.is_empty() {
            return Err(Error::InvalidInput(
                "a watched repository needs a name".into(),
            ));
        }
        if self.repos.contains_key(&repo.name) {
            return Err(Error::InvalidInput(format!(
                "repository {} is already watched; remove it first",
                repo.name
            )));
        }
        let root = fs::canonicalize(&repo.root).map_err(|e| {
            Error::io(
                format!("cannot watch repository {}", repo.root.display()),
                e,
            )
        })?;
        if !root.is_dir() {
            return Err(Error::InvalidInput(format!(
                "cannot watch {}: not a directory",
                root.display()
            )));
        }
        let rules = IgnoreRules::new(&root, &repo.excludes, &repo.skip_dirs)?;
        let mut state = Repo {
            id: self.next_id,
            name: repo.name.clone(),
            root,
            rules,
            watcher: None,
            pending: Pending::default(),
            polling: None,
        };
        self.next_id += 1;
        let watched = state.watch_all(&self.tx);
        self.repos.insert(repo.name.clone(), state);
        self.modes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(repo.name.clone(), WatchMode::Events);
        if let Err(reason) = watched {
            self.fall_back_to_polling(&repo.name, reason);
        }
        Ok(())
    }

    fn on_event(&mut self, name: &str, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                let reason = error_reason(&err);
                self.fall_back_to_polling(name, reason);
                return;
            }
        };
        if event.need_rescan() || matches!(event.kind, EventKind::Other) {
            self.fall_back_to_polling(
                name,
                "the inotify event queue overflowed and changes were lost; raise it with \
                 `sudo sysctl fs.inotify.max_queued_events=65536`"
                    .into(),
            );
            return;
        }
        let Some(repo) = self.repos.get_mut(name) else {
            return;
        };
        match repo.on_event(&event, &self.tx) {
            Ok(()) => {}
            Err(reason) => self.fall_back_to_polling(name, reason),
        }
    }

    /// Switches `name` to polling (warning once), and emits a rescan batch right away.
    fn fall_back_to_polling(&mut self, name: &str, reason: String) {
        let Some(repo) = self.repos.get_mut(name) else {
            return;
        };
        if repo.polling.is_some() {
            // Already polling: the next periodic rescan covers whatever this lost.
            log::debug!("watching repository {name}: {reason}");
            return;
        }
        log::warn!(
            "watching repository {name} ({}): {reason}; falling back to a full rescan every {} s \
             until the repository is removed and added again",
            repo.root.display(),
            self.opts.rescan_interval.as_secs_f64()
        );
        let now = Instant::now();
        repo.polling = Some(Polling {
            reason: reason.clone(),
            next: now + self.opts.rescan_interval,
        });
        self.modes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                name.to_string(),
                WatchMode::Polling {
                    reason: reason.clone(),
                },
            );
        let mut batch = repo.pending.take(name);
        batch.rescan = Some(reason);
        (self.sink)(batch);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.repos
            .values()
            .flat_map(|r| {
                [
                    r.pending.deadline(&self.opts),
                    r.polling.as_ref().map(|p| p.next),
                ]
            })
            .flatten()
            .min()
    }

    fn flush_due(&mut self, now: Instant) {
        for repo in self.repos.values_mut() {
            if repo.pending.deadline(&self.opts).is_some_and(|d| d <= now) {
                let batch = repo.pending.take(&repo.name);
                if !batch.paths.is_empty() || batch.rescan.is_some() {
                    (self.sink)(batch);
                }
            }
            if let Some(polling) = repo.polling.as_mut() {
                if polling.next <= now {
                    polling.next = now + self.opts.rescan_interval;
                    let mut batch = repo.pending.take(&repo.name);
                    batch.rescan = Some(polling.reason.clone());
                    (self.sink)(batch);
                }
            }
        }
    }
}

impl Repo {
    /// (Re)creates the inotify watcher and watches every directory that is not ignored.
    /// The old watcher (if any) is dropped only once the new one is in place.
    /// `Err` carries the reason to poll instead.
    fn watch_all(&mut self, tx: &mpsc::Sender<Msg>) -> std::result::Result<(), String> {
        let id = self.id;
        let tx = tx.clone();
        let handler = move |event| {
            // The worker may be gone while this watcher's thread is shutting down.
            let _ = tx.send(Msg::Event(id, event));
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(watcher) => watcher,
            Err(err) => {
                self.watcher = None;
                return Err(error_reason(&err));
            }
        };
        let git = self.root.join(".git");
        let mut result = Ok(());
        for dir in [git.clone(), git.join("info")] {
            if dir.is_dir() {
                result = result.and_then(|()| watch_dir(&mut watcher, &dir).map(|_| ()));
            }
        }
        let result = result
            .and_then(|()| watch_tree(&mut watcher, &mut self.rules, &self.root, &self.root, None));
        self.watcher = Some(watcher);
        result
    }

    fn on_event(
        &mut self,
        event: &notify::Event,
        tx: &mpsc::Sender<Msg>,
    ) -> std::result::Result<(), String> {
        let kind = event.kind;
        if let EventKind::Access(access) = kind {
            if access != AccessKind::Close(AccessMode::Write) {
                return Ok(());
            }
        }
        // A new directory (created or moved in) is watched, and what it already holds counts.
        let may_be_new_dir = matches!(
            kind,
            EventKind::Create(_)
                | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Any))
        );
        let gone = matches!(
            kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
        );
        let mut found = BTreeSet::new();
        let mut rules_changed = false;
        let mut result = Ok(());
        for path in &event.paths {
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                if gone && !path.exists() {
                    result = Err(format!(
                        "the repository root {} was removed or moved",
                        self.root.display()
                    ));
                }
                continue;
            }
            if rel.components().next() == Some(Component::Normal(".git".as_ref())) {
                if rel == Path::new(".git/HEAD") {
                    found.insert(rel.to_path_buf());
                } else if rel == Path::new(".git/info/exclude") {
                    rules_changed = true;
                    found.insert(rel.to_path_buf());
                }
                continue;
            }
            if matches!(
                rel.file_name().and_then(|n| n.to_str()),
                Some(".gitignore" | ".ignore")
            ) {
                rules_changed = true;
                found.insert(rel.to_path_buf());
                continue;
            }
            let meta = fs::symlink_metadata(path).ok();
            let is_dir = match &meta {
                Some(meta) => meta.is_dir(),
                None => kind == EventKind::Remove(RemoveKind::Folder),
            };
            if self.rules.is_ignored(path, is_dir) {
                continue;
            }
            found.insert(rel.to_path_buf());
            if is_dir && may_be_new_dir && meta.is_some() && !rules_changed {
                if let Some(watcher) = self.watcher.as_mut() {
                    let walked =
                        watch_tree(watcher, &mut self.rules, &self.root, path, Some(&mut found));
                    result = result.and(walked);
                }
            }
        }
        if rules_changed {
            self.rules.reload();
            result = result.and(self.watch_all(tx));
            self.pending
                .rescan
                .get_or_insert_with(|| IGNORE_RULES_CHANGED.to_string());
        }
        if !found.is_empty() || rules_changed {
            self.pending.paths.append(&mut found);
            self.pending.touch(Instant::now());
        }
        result
    }
}

#[cfg(test)]
mod tests;
