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

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;
use notify::event::{AccessKind, AccessMode, ModifyKind, RemoveKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::pipeline::walk::skip_by_name;
use crate::{Error, Result};

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
        let rules = IgnoreRules::new(&root, &repo.excludes)?;
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

/// Watches `dir` (not recursively). `Ok(false)` when it vanished meanwhile.
fn watch_dir(watcher: &mut RecommendedWatcher, dir: &Path) -> std::result::Result<bool, String> {
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Ok(true),
        Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => Err(error_reason(&err)),
        Err(err) => {
            log::debug!("cannot watch {}: {err}", dir.display());
            Ok(false)
        }
    }
}

/// Watches `dir` and every directory below it that is not ignored. With `files`, also
/// records (relative to `root`) the files found, which may have been written before the
/// watch was in place.
fn watch_tree(
    watcher: &mut RecommendedWatcher,
    rules: &mut IgnoreRules,
    root: &Path,
    dir: &Path,
    mut files: Option<&mut BTreeSet<PathBuf>>,
) -> std::result::Result<(), String> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // Watch first, then list: a file created in between is seen twice, never missed.
        if !watch_dir(watcher, &dir)? {
            continue;
        }
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if file_type.is_dir() {
                let vcs = matches!(entry.file_name().to_str(), Some(".git" | ".hg" | ".svn"));
                if !vcs && !rules.decide(&path, true) {
                    stack.push(path);
                }
            } else if let Some(files) = files.as_deref_mut() {
                if file_type.is_file() && !rules.decide(&path, false) {
                    if let Ok(rel) = path.strip_prefix(root) {
                        files.insert(rel.to_path_buf());
                    }
                }
            }
        }
    }
    Ok(())
}

/// The reason (cause and fix) to poll after a notify error.
fn error_reason(err: &notify::Error) -> String {
    match &err.kind {
        notify::ErrorKind::MaxFilesWatch => {
            let current = fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
                .map(|s| format!(" (now {})", s.trim()))
                .unwrap_or_default();
            format!(
                "the inotify watch limit fs.inotify.max_user_watches{current} was reached; \
                 raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (and persist it \
                 in /etc/sysctl.d/)"
            )
        }
        notify::ErrorKind::Io(io)
            if io.raw_os_error() == Some(24) || io.raw_os_error() == Some(23) =>
        {
            format!(
                "cannot create an inotify instance ({io}); raise the limit with \
                 `sudo sysctl fs.inotify.max_user_instances=512`"
            )
        }
        _ => format!("file watching failed: {err}"),
    }
}

/// The ignore rules of one repository, as the walk applies them: the repository's excludes
/// and vendored directories, then `.ignore` and `.gitignore` of each directory from the
/// deepest up (loaded lazily), then `.git/info/exclude` and git's global excludes.
struct IgnoreRules {
    root: PathBuf,
    excludes: Gitignore,
    repo_wide: Vec<Gitignore>,
    dirs: HashMap<PathBuf, Vec<Gitignore>>,
}

impl IgnoreRules {
    fn new(root: &Path, excludes: &[String]) -> Result<IgnoreRules> {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in excludes {
            builder.add_line(None, pattern).map_err(|e| {
                Error::InvalidInput(format!("bad exclude pattern {pattern:?}: {e}"))
            })?;
        }
        let excludes = builder
            .build()
            .map_err(|e| Error::InvalidInput(format!("bad exclude patterns: {e}")))?;
        let mut rules = IgnoreRules {
            root: root.to_path_buf(),
            excludes,
            repo_wide: Vec::new(),
            dirs: HashMap::new(),
        };
        rules.reload();
        Ok(rules)
    }

    /// Reads the ignore files again (now for the repository-wide ones, lazily for the
    /// per-directory ones); the repository's own excludes do not change.
    fn reload(&mut self) {
        self.dirs.clear();
        self.repo_wide.clear();
        let info_exclude = self.root.join(".git/info/exclude");
        if info_exclude.is_file() {
            let mut builder = GitignoreBuilder::new(&self.root);
            if let Some(err) = builder.add(&info_exclude) {
                log::debug!("{}: {err}", info_exclude.display());
            }
            self.repo_wide
                .push(builder.build().unwrap_or_else(|_| Gitignore::empty()));
        }
        let (global, err) = GitignoreBuilder::new(&self.root).build_global();
        if let Some(err) = err {
            log::debug!("git global excludes: {err}");
        }
        self.repo_wide.push(global);
    }

    /// Whether `path` (absolute, under the root) or any directory above it is ignored.
    fn is_ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return true;
        };
        let components: Vec<Component> = rel.components().collect();
        let mut current = self.root.clone();
        for (i, component) in components.iter().enumerate() {
            current.push(component);
            let last = i + 1 == components.len();
            if self.decide(&current, !last || is_dir) {
                return true;
            }
        }
        false
    }

    /// Whether `path` itself is ignored, assuming the directories above it are not.
    fn decide(&mut self, path: &Path, is_dir: bool) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return true;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        let rel = rel.to_string_lossy().replace('\\', "/");
        let probe = if is_dir { format!("{rel}/_") } else { rel };
        if skip_by_name(&probe).is_some() {
            return true;
        }
        if self.excludes.matched(path, is_dir).is_ignore() {
            return true;
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !d.starts_with(&self.root) {
                break;
            }
            for matcher in self.dir_rules(d) {
                match matcher.matched(path, is_dir) {
                    Match::None => {}
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                }
            }
            dir = d.parent();
        }
        self.repo_wide
            .iter()
            .find_map(|m| match m.matched(path, is_dir) {
                Match::None => None,
                other => Some(other.is_ignore()),
            })
            .unwrap_or(false)
    }

    fn dir_rules(&mut self, dir: &Path) -> &[Gitignore] {
        self.dirs.entry(dir.to_path_buf()).or_insert_with(|| {
            [".ignore", ".gitignore"]
                .iter()
                .map(|name| dir.join(name))
                .filter(|file| file.is_file())
                .map(|file| {
                    let (matcher, err) = Gitignore::new(&file);
                    if let Some(err) = err {
                        log::debug!("{}: {err}", file.display());
                    }
                    matcher
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, TryRecvError};

    use notify::event::Flag;

    use super::*;

    /// How long a test waits for something that must happen (generous: 2 loaded cores).
    const WAIT: Duration = Duration::from_secs(10);

    fn options() -> WatchOptions {
        WatchOptions {
            debounce: Duration::from_millis(200),
            ..WatchOptions::default()
        }
    }

    fn repo(name: &str, root: &Path) -> WatchedRepo {
        WatchedRepo {
            name: name.into(),
            root: root.to_path_buf(),
            excludes: Vec::new(),
        }
    }

    fn start(repos: Vec<WatchedRepo>, opts: WatchOptions) -> (RepoWatcher, Receiver<ChangeBatch>) {
        let (tx, rx) = mpsc::channel();
        let watcher = RepoWatcher::start(repos, opts, move |batch| {
            let _ = tx.send(batch);
        })
        .unwrap();
        (watcher, rx)
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// Receives batches until `done` holds for all received so far, or [`WAIT`] passes.
    fn collect_until(
        rx: &Receiver<ChangeBatch>,
        done: impl Fn(&[ChangeBatch]) -> bool,
    ) -> Vec<ChangeBatch> {
        let deadline = Instant::now() + WAIT;
        let mut batches = Vec::new();
        while !done(&batches) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(batch) => batches.push(batch),
                Err(_) => break,
            }
        }
        batches
    }

    /// Everything that arrives within `period`.
    fn collect_for(rx: &Receiver<ChangeBatch>, period: Duration) -> Vec<ChangeBatch> {
        let deadline = Instant::now() + period;
        let mut batches = Vec::new();
        while let Ok(batch) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            batches.push(batch);
        }
        batches
    }

    fn all_paths(batches: &[ChangeBatch], repo: &str) -> BTreeSet<PathBuf> {
        batches
            .iter()
            .filter(|b| b.repo == repo)
            .flat_map(|b| b.paths.iter().cloned())
            .collect()
    }

    fn has_all(batches: &[ChangeBatch], repo: &str, wanted: &[&str]) -> bool {
        let paths = all_paths(batches, repo);
        wanted.iter().all(|w| paths.contains(Path::new(w)))
    }

    fn set(paths: &[&str]) -> BTreeSet<PathBuf> {
        paths.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn a_written_file_arrives_as_one_batch_with_its_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/lib.rs", "");
        let (_watcher, rx) = start(vec![repo("r", dir.path())], options());
        write(dir.path(), "src/lib.rs", "fn main() {}\n");
        let batches = collect_until(&rx, |b| !b.is_empty());
        assert_eq!(batches.len(), 1, "{batches:?}");
        assert_eq!(batches[0].repo, "r");
        assert_eq!(batches[0].paths, set(&["src/lib.rs"]));
        assert_eq!(batches[0].rescan, None);
    }

    #[test]
    fn a_burst_of_500_files_is_one_batch_with_all_of_them() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("many")).unwrap();
        let opts = WatchOptions {
            debounce: Duration::from_millis(500),
            max_batch_wait: Duration::from_secs(5),
            ..WatchOptions::default()
        };
        let (_watcher, rx) = start(vec![repo("r", dir.path())], opts);
        let expected: BTreeSet<PathBuf> = (0..500)
            .map(|i| PathBuf::from(format!("many/file{i}.rs")))
            .collect();
        for path in &expected {
            fs::write(dir.path().join(path), "fn f() {}\n").unwrap();
        }
        let mut batches = collect_until(&rx, |b| all_paths(b, "r").len() >= 500);
        // Anything that would still trickle in counts against the "one batch" promise.
        batches.extend(collect_for(&rx, Duration::from_secs(1)));
        assert_eq!(all_paths(&batches, "r"), expected);
        assert!(batches.len() <= 2, "{} batches", batches.len());
    }

    #[test]
    fn ignored_paths_emit_nothing_while_normal_files_still_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".gitignore", "build/\n*.log\n");
        write(root, "sub/.gitignore", "*.scratch\n");
        write(root, ".git/HEAD", "ref: refs/heads/main\n");
        write(root, ".git/objects/00/placeholder", "");
        write(root, ".git/info/exclude", "private/\n");
        for d in [
            "target/debug",
            "build",
            "private",
            "generated",
            "node_modules/x",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let mut watched = repo("r", root);
        watched.excludes = vec!["generated/".into()];
        let (_watcher, rx) = start(vec![watched], options());

        write(root, "target/debug/main.rs", "x");
        write(root, "target/new/deeper.rs", "x");
        write(root, "build/out.rs", "x");
        write(root, "debug.log", "x");
        write(root, "sub/notes.scratch", "x");
        write(root, ".git/objects/ab/cdef0123", "x");
        write(root, ".git/index", "x");
        write(root, "private/key.rs", "x");
        write(root, "generated/api.rs", "x");
        write(root, "node_modules/x/index.js", "x");
        write(root, "image.png", "x");
        let quiet = collect_for(&rx, Duration::from_millis(1500));
        assert!(quiet.is_empty(), "{quiet:?}");

        // The watcher is alive: a normal file, and a `*.scratch` outside `sub/`, do arrive.
        write(root, "sub/keep.rs", "x");
        write(root, "top.scratch", "x");
        let batches = collect_until(&rx, |b| has_all(b, "r", &["sub/keep.rs", "top.scratch"]));
        assert_eq!(
            all_paths(&batches, "r"),
            set(&["sub/keep.rs", "top.scratch"])
        );
    }

    #[test]
    fn a_branch_switch_rewriting_git_head_emits_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".git/HEAD", "ref: refs/heads/main\n");
        let (_watcher, rx) = start(vec![repo("r", dir.path())], options());
        // As git does it: write a lock file, rename it over HEAD.
        write(dir.path(), ".git/HEAD.lock", "ref: refs/heads/topic\n");
        fs::rename(
            dir.path().join(".git/HEAD.lock"),
            dir.path().join(".git/HEAD"),
        )
        .unwrap();
        let batches = collect_until(&rx, |b| has_all(b, "r", &[".git/HEAD"]));
        assert_eq!(all_paths(&batches, "r"), set(&[".git/HEAD"]));
    }

    #[test]
    fn deletes_and_renames_of_files_and_directories_emit_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "a.rs", "a");
        write(root, "b.rs", "b");
        write(root, "old/f.rs", "f");
        let (_watcher, rx) = start(vec![repo("r", root)], options());

        fs::remove_file(root.join("a.rs")).unwrap();
        let batches = collect_until(&rx, |b| has_all(b, "r", &["a.rs"]));
        assert_eq!(all_paths(&batches, "r"), set(&["a.rs"]));

        fs::rename(root.join("b.rs"), root.join("c.rs")).unwrap();
        let batches = collect_until(&rx, |b| has_all(b, "r", &["b.rs", "c.rs"]));
        assert_eq!(all_paths(&batches, "r"), set(&["b.rs", "c.rs"]));

        // A renamed directory: both names, what the new one holds, and it is watched.
        fs::rename(root.join("old"), root.join("new")).unwrap();
        let batches = collect_until(&rx, |b| has_all(b, "r", &["old", "new", "new/f.rs"]));
        assert!(
            has_all(&batches, "r", &["old", "new", "new/f.rs"]),
            "{batches:?}"
        );
        write(root, "new/g.rs", "g");
        let batches = collect_until(&rx, |b| has_all(b, "r", &["new/g.rs"]));
        assert!(has_all(&batches, "r", &["new/g.rs"]), "{batches:?}");
    }

    #[test]
    fn a_new_directory_is_watched_and_files_written_before_its_watch_count() {
        let dir = tempfile::tempdir().unwrap();
        let (_watcher, rx) = start(vec![repo("r", dir.path())], options());
        // Created and filled at once, most likely before the watcher sees the directory.
        write(dir.path(), "pkg/deep/first.rs", "x");
        let batches = collect_until(&rx, |b| has_all(b, "r", &["pkg/deep/first.rs"]));
        assert!(
            has_all(&batches, "r", &["pkg/deep/first.rs"]),
            "{batches:?}"
        );
        write(dir.path(), "pkg/deep/second.rs", "x");
        let batches = collect_until(&rx, |b| has_all(b, "r", &["pkg/deep/second.rs"]));
        assert_eq!(all_paths(&batches, "r"), set(&["pkg/deep/second.rs"]));
    }

    #[test]
    fn editing_gitignore_rescans_and_applies_the_new_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".gitignore", "build/\n");
        fs::create_dir(root.join("build")).unwrap();
        let (_watcher, rx) = start(vec![repo("r", root)], options());

        write(root, ".gitignore", "*.log\n");
        let batches = collect_until(&rx, |b| b.iter().any(|b| b.rescan.is_some()));
        let rescan = batches.iter().find(|b| b.rescan.is_some()).unwrap();
        assert_eq!(rescan.rescan.as_deref(), Some(IGNORE_RULES_CHANGED));
        assert!(rescan.paths.contains(Path::new(".gitignore")), "{rescan:?}");

        // `build/` is no longer ignored (so it is watched now) and `*.log` is.
        write(root, "app.log", "x");
        write(root, "build/gen.rs", "x");
        let batches = collect_until(&rx, |b| has_all(b, "r", &["build/gen.rs"]));
        assert_eq!(all_paths(&batches, "r"), set(&["build/gen.rs"]));
    }

    #[test]
    fn a_queue_overflow_switches_to_polling_with_periodic_rescans() {
        let dir = tempfile::tempdir().unwrap();
        let opts = WatchOptions {
            rescan_interval: Duration::from_millis(300),
            ..options()
        };
        let (watcher, rx) = start(vec![repo("r", dir.path())], opts);
        assert_eq!(watcher.mode("r"), Some(WatchMode::Events));
        watcher.inject(
            "r",
            Ok(notify::Event::new(EventKind::Other).set_flag(Flag::Rescan)),
        );
        let batches = collect_until(&rx, |b| b.len() >= 3);
        assert_eq!(batches.len(), 3, "{batches:?}");
        for batch in &batches {
            assert_eq!(batch.repo, "r");
            let reason = batch.rescan.as_deref().unwrap_or_default();
            assert!(reason.contains("overflowed"), "{reason}");
            assert!(
                reason.contains("sysctl fs.inotify.max_queued_events="),
                "{reason}"
            );
        }
        match watcher.mode("r") {
            Some(WatchMode::Polling { reason }) => assert!(reason.contains("overflowed")),
            other => panic!("expected polling, got {other:?}"),
        }
        // Events that still arrive are reported too.
        write(dir.path(), "late.rs", "x");
        let batches = collect_until(&rx, |b| has_all(b, "r", &["late.rs"]));
        assert!(has_all(&batches, "r", &["late.rs"]), "{batches:?}");
    }

    #[test]
    fn reaching_the_watch_limit_switches_to_polling_and_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("one"), dir.path().join("two"));
        fs::create_dir(&first).unwrap();
        fs::create_dir(&second).unwrap();
        let opts = WatchOptions {
            rescan_interval: Duration::from_millis(300),
            ..options()
        };
        let (watcher, rx) = start(vec![repo("one", &first), repo("two", &second)], opts);
        watcher.inject(
            "one",
            Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch)),
        );
        let batches = collect_until(&rx, |b| b.len() >= 2);
        assert_eq!(batches.len(), 2, "{batches:?}");
        for batch in &batches {
            assert_eq!(batch.repo, "one");
            let reason = batch.rescan.as_deref().unwrap_or_default();
            assert!(
                reason.contains("sysctl fs.inotify.max_user_watches="),
                "{reason}"
            );
        }
        assert!(matches!(
            watcher.mode("one"),
            Some(WatchMode::Polling { .. })
        ));
        // The other repository is not affected.
        assert_eq!(watcher.mode("two"), Some(WatchMode::Events));
    }

    #[test]
    fn remove_stops_batches_for_that_repository_only() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("one"), dir.path().join("two"));
        fs::create_dir(&first).unwrap();
        fs::create_dir(&second).unwrap();
        let (watcher, rx) = start(vec![repo("one", &first), repo("two", &second)], options());
        write(&first, "before.rs", "x");
        let batches = collect_until(&rx, |b| has_all(b, "one", &["before.rs"]));
        assert!(has_all(&batches, "one", &["before.rs"]), "{batches:?}");

        watcher.remove("one");
        assert_eq!(watcher.mode("one"), None);
        write(&first, "after.rs", "x");
        write(&second, "other.rs", "x");
        let mut batches = collect_until(&rx, |b| has_all(b, "two", &["other.rs"]));
        batches.extend(collect_for(&rx, Duration::from_secs(1)));
        assert!(has_all(&batches, "two", &["other.rs"]), "{batches:?}");
        assert!(batches.iter().all(|b| b.repo == "two"), "{batches:?}");

        // The name can be watched again.
        watcher.add(repo("one", &first)).unwrap();
        write(&first, "again.rs", "x");
        let batches = collect_until(&rx, |b| has_all(b, "one", &["again.rs"]));
        assert_eq!(all_paths(&batches, "one"), set(&["again.rs"]));
    }

    #[test]
    fn dropping_the_watcher_joins_its_thread_and_releases_the_sink() {
        let dir = tempfile::tempdir().unwrap();
        let (watcher, rx) = start(vec![repo("r", dir.path())], options());
        write(dir.path(), "a.rs", "x");
        assert!(!collect_until(&rx, |b| !b.is_empty()).is_empty());
        drop(watcher);
        // The sink (and so the only sender) lived on the worker thread, which was joined.
        while rx.try_recv().is_ok() {}
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Disconnected);
    }

    #[test]
    fn a_steady_stream_of_writes_still_flushes_after_max_batch_wait() {
        let dir = tempfile::tempdir().unwrap();
        let opts = WatchOptions {
            // Far longer than any pause between two writes below.
            debounce: Duration::from_secs(5),
            max_batch_wait: Duration::from_millis(500),
            ..WatchOptions::default()
        };
        let (_watcher, rx) = start(vec![repo("r", dir.path())], opts);
        let deadline = Instant::now() + WAIT;
        let mut received = None;
        let mut i = 0;
        while received.is_none() && Instant::now() < deadline {
            write(dir.path(), &format!("stream{i}.rs"), "x");
            i += 1;
            received = rx.recv_timeout(Duration::from_millis(50)).ok();
        }
        let batch = received.expect("no batch while writes kept coming");
        assert!(!batch.paths.is_empty());
    }

    #[test]
    fn add_refuses_duplicates_missing_roots_and_bad_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let (watcher, _rx) = start(vec![repo("r", dir.path())], options());
        assert!(watcher.add(repo("r", dir.path())).is_err());
        assert!(watcher
            .add(repo("gone", &dir.path().join("missing")))
            .is_err());
        let mut bad = repo("bad", dir.path());
        bad.excludes = vec!["{unclosed".into()];
        assert!(watcher.add(bad).is_err());
        assert_eq!(watcher.mode("gone"), None);
        assert_eq!(watcher.mode("bad"), None);
        assert_eq!(watcher.mode("r"), Some(WatchMode::Events));
    }
}
