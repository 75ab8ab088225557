//! The engine's front door: one open profile, with the operations the CLI and the desktop
//! shell call. Everything here is a thin composition of the stage modules; the shells
//! contain no logic of their own.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::models::ModelSpec;
use crate::pipeline::chunk::ChunkLimits;
use crate::pipeline::embed::{self, EmbedOptions, Embedder};
use crate::pipeline::run::{self, IndexReport, Progress, RunOptions};
use crate::pipeline::walk::WalkOptions;
use crate::profiles::limits::Usage;
use crate::profiles::registry::{ProfileRecord, ProfileStatus, Registry};
use crate::profiles::{self, JobLock, ProfileConfig, ProfilePaths};
use crate::search::{self, SearchContext, SearchOptions, SearchResults};
use crate::store::{AuditRow, RepoRow, Store};
use crate::vectors::{self, VectorIndex};
use crate::{Error, Result};

mod jobs;
mod link_grants;
mod model_versions;
mod repos;
mod stats;
#[cfg(test)]
mod tests;

pub use link_grants::LinkGrant;
use model_versions::{active_model, record_speed, target_model};
pub use model_versions::{ModelInfo, ModelStatus, ModelSwitch};
pub(crate) use repos::validate_repo_name;
use repos::{find_repo, refuse_paused};
pub use repos::{FileContext, RepoInfo, SyncReport, SyncRun};
pub use stats::{DiskBreakdown, Stats};

/// How to open a profile.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Data root; `None` uses `$FERRET_DATA_DIR` or the platform default.
    pub data_root: Option<PathBuf>,
    /// Profile id; `None` is the current profile (the built-in `default` until another is
    /// chosen). A named profile must exist in the registry.
    pub profile: Option<String>,
    /// Model directory; `None` uses the profile config, `$FERRET_MODEL_DIR`, then defaults.
    pub model_dir: Option<PathBuf>,
    /// Threads for indexing and embedding; `None` uses the profile config (half the cores).
    pub threads: Option<usize>,
}

/// How long a count of the clones' bytes is reused (see `Engine::bytes_on_disk`).
const CLONE_BYTES_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Queries run since the counter was last written (see [`Engine::search`]).
const QUERIES_KEY: &str = "queries_run";

/// How often a search rebuilds a vector index that another process's writes made stale:
/// between two rebuilds it answers from the one it has, a moment behind (an indexer in
/// this process keeps its index current instead, with no rebuild).
const VECTOR_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the active model's vector index holds, and the memory it takes.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct VectorIndexInfo {
    pub chunks: u64,
    /// One per window of each chunk.
    pub vectors: u64,
    pub memory_bytes: u64,
}

/// One model version's vectors, and when they were read from SQLite.
struct LoadedVectors {
    model: &'static str,
    index: Arc<VectorIndex>,
    loaded_at: std::time::Instant,
}

/// An open profile.
pub struct Engine {
    /// The profile registry, kept open: the runner reads the profile's status on every
    /// progress tick (a pause from another process must stop it within a batch).
    registry: Mutex<Registry>,
    /// Every profile's data lives under it; never indexed or watched (see `ignore_rules`).
    data_root: PathBuf,
    paths: ProfilePaths,
    config: ProfileConfig,
    model_dir: Option<PathBuf>,
    threads: usize,
    /// Threads for the first index of a repository just added, which the user waits for:
    /// every core (or the profile's `index_threads`), unless the caller fixed `threads`.
    first_index_threads: usize,
    /// The connection searches and listings use; indexing opens its own so searches are
    /// never blocked behind a long write (WAL lets both proceed).
    store: Mutex<Store>,
    /// Loaded on first use, one per model version (two during a model switch).
    embedders: Mutex<Vec<Arc<Embedder>>>,
    /// Vector indexes in memory, one per model version (two during a model switch), built
    /// from SQLite on first use and kept in step by this engine's writers.
    vectors: Mutex<Vec<LoadedVectors>>,
    /// Bytes of the clones under `repos/` and when they were counted: walking every clone
    /// costs seconds on a big profile, so an index run reuses a recent count (clones change
    /// only by clone, sync and remove, which drop it).
    clone_bytes: Mutex<Option<(std::time::Instant, u64)>>,
    /// Removed when the engine is dropped: its absence tells the next open this close was
    /// clean (see [`profiles::OpenMarker`]).
    _open_marker: profiles::OpenMarker,
    /// This open checked the database (the previous process died with it open).
    integrity_checked: bool,
    /// The snapshot this open restored because the database was damaged.
    restored_from: Option<PathBuf>,
    /// Queries not yet added to the database's counter (a busy database defers the write).
    unsaved_queries: std::sync::atomic::AtomicU64,
}

impl Engine {
    /// Opens the default profile under the default data root.
    pub fn open_default() -> Result<Self> {
        Self::open(EngineOptions::default())
    }

    pub fn open(opts: EngineOptions) -> Result<Self> {
        crate::memory::limit_arenas();
        let root = match opts.data_root {
            Some(root) => root,
            None => profiles::data_root()?,
        };
        let registry = Registry::open(&root)?;
        registry.ensure_default()?;
        let profile = match opts.profile.as_deref() {
            Some(id) => registry.require(id)?.id,
            None => registry.current()?,
        };
        let paths = ProfilePaths::new(&root, &profile)?;
        paths.ensure_dirs()?;
        vectors::remove_legacy_files(&paths.legacy_vectors_dir());
        let mut config = ProfileConfig::load(&paths.config_file())?;
        // Reading every page costs seconds on a big index: only after a process that had
        // the profile open died (power loss, kill -9) is the database checked at open.
        let (open_marker, unclean) = profiles::OpenMarker::place(&paths)?;
        let opened = Store::open(&paths.meta_db()).and_then(|store| {
            if unclean {
                log::info!(
                    "profile {}: not closed cleanly last time; checking its database",
                    paths.id
                );
                store.check_integrity()?;
            }
            Ok(store)
        });
        let mut restored_from = None;
        let store = match opened {
            Ok(store) => store,
            // A damaged database: the newest snapshot takes its place, the damaged file is
            // kept aside; without a snapshot the error says how to recover.
            Err(damage) if damage.kind() == crate::ErrorKind::Corrupt => {
                match profiles::snapshots::restore_newest(&paths, crate::store::now())? {
                    Some((snapshot, aside)) => {
                        log::warn!(
                            "profile {}: {damage}; restored {} and kept the damaged file as {}",
                            paths.id,
                            snapshot.display(),
                            aside.display()
                        );
                        let store = Store::open(&paths.meta_db())?;
                        store.audit(
                            "restored-from-snapshot",
                            &format!(
                                "{}; damaged file kept as {}",
                                snapshot.display(),
                                aside.display()
                            ),
                        )?;
                        restored_from = Some(snapshot);
                        store
                    }
                    None => return Err(damage),
                }
            }
            Err(e) => return Err(e),
        };
        link_grants::settle_at_open(&mut config, &store, &paths);
        // The database (and its WAL) were just created with the umask's modes.
        profiles::private::private_files_in(&paths.root)?;
        let swept = crate::remote::git::sweep_abandoned_clones(&paths.repos_dir());
        if swept > 0 {
            log::info!("removed {swept} partial clone(s) left by processes that died");
        }

        let model_dir = opts
            .model_dir
            .or_else(|| config.model_dir.clone())
            .or_else(embed::default_model_dir);
        let threads = opts
            .threads
            .unwrap_or_else(|| config.effective_threads())
            .max(1);
        let first_index_threads = opts
            .threads
            .map_or_else(|| config.foreground_threads(), |_| threads)
            .max(threads);
        Ok(Engine {
            registry: Mutex::new(registry),
            data_root: root.canonicalize().unwrap_or(root),
            clone_bytes: Mutex::new(None),
            _open_marker: open_marker,
            integrity_checked: unclean,
            restored_from,
            paths,
            config,
            model_dir,
            threads,
            first_index_threads,
            store: Mutex::new(store),
            embedders: Mutex::new(Vec::new()),
            vectors: Mutex::new(Vec::new()),
            unsaved_queries: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Whether opening checked the whole database, because a process that had it open
    /// died without closing it.
    pub fn integrity_checked_at_open(&self) -> bool {
        self.integrity_checked
    }

    /// The snapshot opening restored because the database was found damaged, if any.
    pub fn restored_from_snapshot(&self) -> Option<&std::path::Path> {
        self.restored_from.as_deref()
    }

    /// The data directory holding every profile (this one's under `user_data/`).
    pub fn data_root(&self) -> &std::path::Path {
        &self.data_root
    }

    pub fn profile_id(&self) -> &str {
        &self.paths.id
    }

    pub fn paths(&self) -> &ProfilePaths {
        &self.paths
    }

    /// The profile's settings as they were when this engine opened. Link grants and the
    /// security settings a user may revoke from another process are read with
    /// [`Engine::current_config`] where they take effect.
    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// The profile's settings as its `config.json` holds them now: a link, Settings or
    /// `ferret profile set` in another process may have changed them since this engine
    /// opened.
    pub fn current_config(&self) -> Result<ProfileConfig> {
        ProfileConfig::load(&self.paths.config_file())
    }

    /// The profile's registry record, read fresh (another process may have changed its
    /// status).
    pub fn record(&self) -> Result<ProfileRecord> {
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .require(&self.paths.id)
    }

    /// Refuses `action` when the profile is read-only.
    fn check_writable(&self, action: &str) -> Result<()> {
        if self.record()?.status == ProfileStatus::ReadOnly {
            return Err(Error::Refused(format!(
                "profile {:?} is read-only: searches work, {action} is refused; \
                 `ferret profile set {} --status active` allows it again",
                self.paths.id, self.paths.id
            )));
        }
        Ok(())
    }

    /// Repositories, chunks and bytes the profile holds now.
    pub fn usage(&self) -> Result<Usage> {
        let store = self.store();
        Ok(Usage {
            repos: store.count("SELECT COUNT(*) FROM repos")? as u64,
            chunks: store.count("SELECT COUNT(*) FROM chunks")? as u64,
            bytes: self.bytes_on_disk(),
        })
    }

    /// The profile directory's size: its databases (and any file in it) counted now, its
    /// clones from a count at most [`CLONE_BYTES_TTL`] old.
    fn bytes_on_disk(&self) -> u64 {
        let repos_dir = self.paths.repos_dir();
        let clones = {
            let mut cached = self.clone_bytes.lock().unwrap_or_else(|p| p.into_inner());
            match *cached {
                Some((at, bytes)) if at.elapsed() < CLONE_BYTES_TTL => bytes,
                _ => {
                    let bytes = profiles::limits::dir_bytes(&repos_dir);
                    *cached = Some((std::time::Instant::now(), bytes));
                    bytes
                }
            }
        };
        let rest: u64 = std::fs::read_dir(&self.paths.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path() != repos_dir)
            .map(|entry| match entry.file_type() {
                Ok(t) if t.is_dir() => profiles::limits::dir_bytes(&entry.path()),
                Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
                _ => 0,
            })
            .sum();
        clones + rest
    }

    /// Forgets the clones' size (after a clone, a sync or a removal changed it).
    pub(crate) fn clones_changed(&self) {
        *self.clone_bytes.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Fails before an operation that would take the profile past a limit.
    fn check_limits(&self, adding: &Usage) -> Result<()> {
        self.config
            .limits
            .check(&self.paths.id, &self.usage()?, adding)
    }

    /// Appends to the profile's audit log.
    pub fn audit(&self, event: &str, detail: &str) -> Result<()> {
        self.store().audit(event, detail)
    }

    pub fn audit_log(&self) -> Result<Vec<AuditRow>> {
        self.store().audit_log()
    }

    /// Searches run on this profile, ever.
    pub fn queries_run(&self) -> Result<u64> {
        let saved = self.store().usage(QUERIES_KEY)? as u64;
        Ok(saved
            + self
                .unsaved_queries
                .load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Counts a query. The write must never slow or fail a search: if an indexer holds the
    /// database's write lock, the count waits in memory for the next search.
    fn count_query(&self, store: &Store) {
        use std::sync::atomic::Ordering;
        let pending = self.unsaved_queries.swap(0, Ordering::Relaxed) + 1;
        let _ = store.conn().busy_timeout(std::time::Duration::ZERO);
        if store.add_usage(QUERIES_KEY, pending as i64).is_err() {
            self.unsaved_queries.fetch_add(pending, Ordering::Relaxed);
        }
        let _ = store
            .conn()
            .busy_timeout(std::time::Duration::from_secs(10));
    }

    /// The model version that serves searches (see [`crate::models`]).
    pub fn model(&self) -> Result<&'static ModelSpec> {
        active_model(&self.store())
    }

    pub fn model_id(&self) -> Result<&'static str> {
        Ok(self.model()?.id)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The active model's embedder, loaded on first use (it takes a moment and most
    /// commands never need it).
    pub fn embedder(&self) -> Result<Arc<Embedder>> {
        self.embedder_for(self.model()?, self.threads)
    }

    /// Lets go of every model no search or indexing run has used for `idle` (about 80 MiB
    /// each), and says whether one was let go. A process that stays up in the background
    /// (the app, `ferret daemon`) calls this now and then, so an idle app holds no model;
    /// the next search loads it again (about half a second, ranking lexically meanwhile).
    /// A model an indexing run holds is kept, however long its last batch took.
    pub fn release_idle_models(&self, idle: std::time::Duration) -> bool {
        let released: Vec<Arc<Embedder>> = {
            let mut loaded = self.embedders.lock().unwrap_or_else(|p| p.into_inner());
            let (idle_ones, kept) = std::mem::take(&mut *loaded)
                .into_iter()
                .partition(|e| Arc::strong_count(e) == 1 && e.idle_for() >= idle);
            *loaded = kept;
            idle_ones
        };
        if released.is_empty() {
            return false;
        }
        for embedder in &released {
            log::info!(
                "model {} unused for {} s: unloaded until the next search",
                embedder.model_id(),
                embedder.idle_for().as_secs()
            );
        }
        drop(released);
        crate::memory::release_free_memory();
        true
    }

    /// Whether the active model is loaded, so a hybrid search would not wait for it.
    /// Never blocks: while another thread loads the model, the answer is `false`.
    pub fn model_ready(&self) -> bool {
        self.model().is_ok_and(|model| self.model_loaded(model))
    }

    /// Whether `model` is loaded (without touching the store; never blocks).
    fn model_loaded(&self, model: &ModelSpec) -> bool {
        self.embedders
            .try_lock()
            .is_ok_and(|loaded| loaded.iter().any(|e| e.model_id() == model.id))
    }

    /// The embedder of model version `spec`, loaded on first use with `threads` for its
    /// document batches (an embedder already loaded keeps its count).
    fn embedder_for(&self, spec: &'static ModelSpec, threads: usize) -> Result<Arc<Embedder>> {
        let mut loaded = self.embedders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(embedder) = loaded.iter().find(|e| e.model_id() == spec.id) {
            return Ok(embedder.clone());
        }
        let dir = self.model_dir.clone().ok_or_else(|| {
            Error::Model(format!(
                "no model directory found for {}: run scripts/setup.sh, or set \
                 FERRET_MODEL_DIR to a directory containing onnxruntime/ and {}/",
                spec.id, spec.dir
            ))
        })?;
        let opts = EmbedOptions {
            threads,
            ..EmbedOptions::default()
        };
        let embedder = Arc::new(Embedder::load(&dir, spec, &opts)?);
        loaded.push(embedder.clone());
        Ok(embedder)
    }

    /// Indexes one repository (by name) or all of them, at the caller's CPU priority: the
    /// background job runner calls this at background priority
    /// ([`crate::pipeline::priority`]), a terminal's `ferret index` at normal priority.
    pub fn index(
        &self,
        repo: Option<&str>,
        cancel: &AtomicBool,
        lexical_only: bool,
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Result<IndexReport> {
        self.check_writable("indexing")?;
        let _lock = JobLock::acquire(&self.paths)?;
        self.check_limits(&Usage::default())?;
        let mut store = Store::open(&self.paths.meta_db())?;
        let repos = match repo {
            Some(name) => {
                let repo = refuse_paused(find_repo(&store, name)?, "index")?;
                self.checked_root(&repo)?;
                vec![repo]
            }
            None => store.repos()?,
        };
        if repos.is_empty() {
            return Err(Error::NotFound(
                "no repositories to index: add one with `ferret repo add PATH`".into(),
            ));
        }
        // All of them: the paused ones wait (what they hold stays searchable), and so do
        // imported folders not confirmed yet and any clone whose folder is not its own.
        let repos: Vec<RepoRow> = repos
            .into_iter()
            .filter(|r| !r.paused)
            .filter(|r| match self.checked_root(r) {
                Ok(_) => true,
                Err(e) => {
                    if !r.needs_confirmation {
                        log::warn!("{}: not indexed: {e}", r.name);
                    }
                    false
                }
            })
            .collect();
        if repos.is_empty() {
            return Ok(IndexReport::default());
        }
        let model = active_model(&store)?;
        // A repository never indexed was just added: the user is waiting for it, so its
        // first index uses every core even in the app, whose background work keeps to half.
        let threads = if repos.iter().any(|r| r.last_indexed_at.is_none()) {
            self.first_index_threads
        } else {
            self.threads
        };
        let embedder = if lexical_only {
            None
        } else {
            let embedder = self.embedder_for(model, threads)?;
            embedder.set_threads(threads)?;
            Some(embedder)
        };
        let vectors = self.vectors_for(&store, model, true)?;
        let _writing = vectors.writing();
        let opts = RunOptions {
            walk: WalkOptions {
                max_file_bytes: self.config.max_file_bytes,
                excludes: self.config.excludes.clone(),
                // Read now, not at open: turning it off (Settings, `ferret profile set`)
                // must keep credential files out of the very next run, whichever process
                // runs it; the run then drops those already indexed.
                index_secrets: self.current_config()?.index_secret_files,
                skip_dirs: vec![self.data_root.clone()],
            },
            limits: ChunkLimits::default(),
            threads,
            cancel,
            skip_embeddings: lexical_only,
            max_chunks: Some((self.config.limits.max_chunks, &self.paths.id)),
            progress,
        };
        let result = run::run(
            &mut store,
            &repos,
            embedder.as_deref(),
            &vectors,
            model.id,
            &opts,
        );
        if let Some(embedder) = &embedder {
            // Searches no longer compete with document batches: one session will do.
            embedder.release_query_session();
        }
        let mut report = result?;
        record_speed(
            &store,
            model.id,
            report.embeddings_computed,
            report.embed_secs,
        );
        if !report.interrupted {
            let config = &self.config;
            match profiles::snapshots::take_if_due(
                &store,
                &self.paths,
                config.snapshots_kept,
                config.snapshots_on_battery,
                crate::store::now(),
            ) {
                Ok(Some(snapshot)) => log::info!("snapshot {}", snapshot.display()),
                Ok(None) => {}
                Err(e) => log::warn!("profile {}: no snapshot taken: {e}", self.paths.id),
            }
        }
        if !lexical_only && !report.interrupted {
            if let Some(target) = target_model(&store)? {
                self.build_target_model(&mut store, model, target, &vectors, &opts, &mut report)?;
            }
        }
        store.audit(
            "index",
            &format!(
                "{} repos, {} files changed, {} removed, {} chunks written, {} embeddings{}",
                report.repos,
                report.files_changed,
                report.files_removed,
                report.chunks_written,
                report.embeddings_computed,
                if report.interrupted {
                    ", interrupted"
                } else {
                    ""
                }
            ),
        )?;
        Ok(report)
    }

    /// Runs a search: its hits, best first, and whether none of them is a strong match.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        let model = self.model()?;
        let semantic = opts.mode != search::SearchMode::Lexical;
        let store = self.store();
        let wants_model = semantic && store.has_embeddings(model.id)?;
        std::thread::scope(|scope| {
            // A cold process starts loading the model now, on another thread, and ranks
            // lexically meanwhile; a warm one finds it loaded.
            let loading = (wants_model && !self.model_loaded(model))
                .then(|| scope.spawn(|| self.embedder_for(model, self.threads)));
            let loading = Mutex::new(loading);
            let embedder = || -> Result<Option<Arc<Embedder>>> {
                let pending = loading.lock().unwrap_or_else(|p| p.into_inner()).take();
                let loaded = match pending {
                    Some(thread) => thread
                        .join()
                        .unwrap_or_else(|_| Err(Error::Model("the model loader panicked".into()))),
                    None => self.embedder_for(model, self.threads),
                };
                match loaded {
                    Ok(embedder) => Ok(Some(embedder)),
                    // Hybrid still answers lexically when the model cannot load; semantic
                    // mode has nothing else to offer, so it reports why.
                    Err(e) if opts.mode == search::SearchMode::Hybrid => {
                        log::warn!("semantic ranking unavailable, lexical only: {e}");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            };
            // Read while the model loads (a cold process reads them from SQLite).
            let vectors = if semantic {
                Some(self.vectors_for(&store, model, false)?)
            } else {
                None
            };
            let ctx = SearchContext {
                store: &store,
                vectors: vectors.as_deref(),
                embedder: &embedder,
            };
            let found = search::search(&ctx, query, opts)?;
            self.count_query(&store);
            Ok(found)
        })
    }

    /// The vector index of `model`, from memory when it matches SQLite (or a writer of
    /// this engine keeps it in step), else rebuilt from SQLite's stored embeddings (no model
    /// needed: about a tenth of a second per 100k vectors). For searches an index another
    /// process made stale is reused for up to [`VECTOR_RELOAD_EVERY`]; writers always get a
    /// current one.
    fn vectors_for(
        &self,
        store: &Store,
        model: &'static ModelSpec,
        for_writing: bool,
    ) -> Result<Arc<VectorIndex>> {
        let generation = store.generation()?;
        // Held while rebuilding: two searches that both find it stale build it once.
        let mut loaded = self.vectors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = loaded.iter().find(|l| l.model == model.id) {
            let current = l.index.synced_generation() == generation || l.index.has_writer();
            let recent = !for_writing && l.loaded_at.elapsed() < VECTOR_RELOAD_EVERY;
            if current || recent {
                return Ok(l.index.clone());
            }
        }
        let started = std::time::Instant::now();
        let index = Arc::new(VectorIndex::new(model.dims));
        let n = run::rebuild_vectors(store, &index, model.id)?;
        index.mark_synced(generation);
        log::debug!(
            "vector index of {} read from the database: {n} vectors in {} ms",
            model.id,
            started.elapsed().as_millis()
        );
        loaded.retain(|l| l.model != model.id);
        loaded.push(LoadedVectors {
            model: model.id,
            index: index.clone(),
            loaded_at: std::time::Instant::now(),
        });
        Ok(index)
    }

    /// The active model's vector index as a search would use it now, read from the
    /// database if it is not in memory yet (tests compare it with SQLite; the bench times it).
    pub fn vector_index_info(&self) -> Result<VectorIndexInfo> {
        let model = self.model()?;
        let store = self.store();
        let index = self.vectors_for(&store, model, false)?;
        Ok(VectorIndexInfo {
            chunks: index.keys() as u64,
            vectors: index.len() as u64,
            memory_bytes: index.memory_bytes(),
        })
    }

    /// The vector indexes in memory now.
    fn loaded_vectors(&self) -> Vec<Arc<VectorIndex>> {
        self.vectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|l| l.index.clone())
            .collect()
    }

    /// Forgets the vector indexes of models other than `keep` (after a model swap).
    fn drop_vectors_except(&self, keep: &str) {
        self.vectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|l| l.model == keep);
    }
}
