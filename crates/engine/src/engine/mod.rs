//! The engine's front door: one open profile, with the operations the CLI and the desktop
//! shell call. Everything here is a thin composition of the stage modules; the shells
//! contain no logic of their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;

use crate::models::{self, ModelSpec};
use crate::pipeline::chunk::ChunkLimits;
use crate::pipeline::embed::{self, EmbedOptions, Embedder};
use crate::pipeline::run::{self, IndexReport, Progress, RunOptions};
use crate::pipeline::walk::WalkOptions;
use crate::profiles::limits::Usage;
use crate::profiles::manager::github_session;
use crate::profiles::registry::{ProfileRecord, ProfileStatus, Registry};
use crate::profiles::{self, JobLock, ProfileConfig, ProfilePaths};
use crate::remote::git::{self, GitAuth, GitProgress};
use crate::remote::github;
use crate::search::{self, SearchContext, SearchHit, SearchOptions};
use crate::store::{AuditRow, RemoteInfo, RepoRow, Store};
use crate::vectors::{self, VectorFileState, VectorIndex};
use crate::{Error, Result};

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

/// A repository with its indexed counts.
#[derive(Debug, Clone, Serialize)]
pub struct RepoInfo {
    pub name: String,
    pub root: PathBuf,
    pub kind: String,
    pub added_at: i64,
    pub last_indexed_at: Option<i64>,
    /// `OWNER/NAME` for a cloned GitHub repository.
    pub remote: Option<String>,
    pub branch: Option<String>,
    pub head: Option<String>,
    /// Not watched, fetched or indexed until resumed; what is indexed stays searchable.
    pub paused: bool,
    pub files: u64,
    pub chunks: u64,
    pub embedded_chunks: u64,
}

/// `ferret stats`: what the profile holds and what it costs on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub profile: String,
    pub data_dir: PathBuf,
    pub model_id: String,
    pub repos: u64,
    pub files: u64,
    pub chunks: u64,
    pub embedded_chunks: u64,
    pub pending_embeddings: u64,
    /// Fraction of chunks searchable semantically (0..=1).
    pub semantic_coverage: f64,
    pub skipped: BTreeMap<String, u64>,
    pub source_bytes: u64,
    pub database_bytes: u64,
    pub vector_index_bytes: u64,
    pub bytes_on_disk: u64,
}

/// `ferret model list` and the Settings page: which model serves searches, the switch in
/// progress, and every model this build knows.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub active: String,
    pub switch: Option<ModelSwitch>,
    pub models: Vec<ModelInfo>,
}

/// A model switch in progress: distinct chunk texts embedded for the new model so far.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSwitch {
    pub to: String,
    pub embedded: u64,
    pub total: u64,
}

/// One catalogue entry, with what it costs here.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub dims: usize,
    pub max_tokens: usize,
    pub max_windows: usize,
    /// Its files are in the model directory.
    pub installed: bool,
    /// Chunks embedded per second on this machine, measured by this profile's index runs.
    pub chunks_per_sec: Option<f64>,
}

/// What `sync` did to one cloned repository.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub repo: String,
    pub old_head: String,
    pub new_head: String,
    /// Paths the fetched commits added, changed, renamed or deleted.
    pub changed_paths: u64,
}

/// Lines around a place in a file, for the preview pane.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileContext {
    /// 1-based line number of `lines[0]`.
    pub start_line: u32,
    pub lines: Vec<String>,
}

/// Files larger than this are not previewed.
const MAX_PREVIEW_BYTES: u64 = 32 * 1024 * 1024;
/// At most this many lines before and after the asked-for line.
const MAX_CONTEXT_LINES: u32 = 2000;

/// Queries run since the counter was last written (see [`Engine::search`]).
const QUERIES_KEY: &str = "queries_run";

/// An open profile.
pub struct Engine {
    data_root: PathBuf,
    paths: ProfilePaths,
    config: ProfileConfig,
    model_dir: Option<PathBuf>,
    threads: usize,
    /// The connection searches and listings use; indexing opens its own so searches are
    /// never blocked behind a long write (WAL lets both proceed).
    store: Mutex<Store>,
    /// Loaded on first use, one per model version (two during a model switch).
    embedders: Mutex<Vec<Arc<Embedder>>>,
    /// The active model's index, loaded on the first semantic search; dropped after an
    /// index run (and a model swap) so the next search sees the new file.
    vectors: RwLock<Option<(&'static str, Arc<VectorIndex>)>>,
    /// Queries not yet added to the database's counter (a busy database defers the write).
    unsaved_queries: std::sync::atomic::AtomicU64,
}

impl Engine {
    /// Opens the default profile under the default data root.
    pub fn open_default() -> Result<Self> {
        Self::open(EngineOptions::default())
    }

    pub fn open(opts: EngineOptions) -> Result<Self> {
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
        drop(registry);
        let paths = ProfilePaths::new(&root, &profile)?;
        paths.ensure_dirs()?;
        let config = ProfileConfig::load(&paths.config_file())?;
        let store = Store::open(&paths.meta_db())?;
        store.check_integrity()?;
        let model_dir = opts
            .model_dir
            .or_else(|| config.model_dir.clone())
            .or_else(embed::default_model_dir);
        let threads = opts
            .threads
            .unwrap_or_else(|| config.effective_threads())
            .max(1);
        Ok(Engine {
            data_root: root,
            paths,
            config,
            model_dir,
            threads,
            store: Mutex::new(store),
            embedders: Mutex::new(Vec::new()),
            vectors: RwLock::new(None),
            unsaved_queries: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn profile_id(&self) -> &str {
        &self.paths.id
    }

    pub fn paths(&self) -> &ProfilePaths {
        &self.paths
    }

    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// The profile's registry record, read fresh (another process may have changed its
    /// status).
    pub fn record(&self) -> Result<ProfileRecord> {
        Registry::open(&self.data_root)?.require(&self.paths.id)
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
            bytes: profiles::limits::dir_bytes(&self.paths.root),
        })
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

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The active model's embedder, loaded on first use (it takes a moment and most
    /// commands never need it).
    pub fn embedder(&self) -> Result<Arc<Embedder>> {
        self.embedder_for(self.model()?)
    }

    /// The embedder of model version `spec`, loaded on first use.
    fn embedder_for(&self, spec: &'static ModelSpec) -> Result<Arc<Embedder>> {
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
            threads: self.threads,
            ..EmbedOptions::default()
        };
        let embedder = Arc::new(Embedder::load(&dir, spec, &opts)?);
        loaded.push(embedder.clone());
        Ok(embedder)
    }

    /// Registers a local repository (it is indexed by `index`). The name defaults to the
    /// directory name.
    pub fn add_repo(&self, path: &Path, name: Option<&str>) -> Result<RepoRow> {
        self.check_writable("adding repositories")?;
        let root = std::fs::canonicalize(path).map_err(|e| {
            Error::io(
                format!("cannot open {} (does it exist?)", path.display()),
                e,
            )
        })?;
        if !root.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        let name = match name {
            Some(name) => name.to_string(),
            None => root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "root".into()),
        };
        validate_repo_name(&name)?;
        self.check_limits(&Usage {
            repos: 1,
            ..Usage::default()
        })?;
        let repo = self.store().add_repo(&name, &root, "local")?;
        self.audit("repo-added", &format!("{name} {}", root.display()))?;
        Ok(repo)
    }

    /// Clones `OWNER/NAME` from the profile's GitHub account into the profile's `repos/`
    /// directory and registers it (index it next). The token goes from the keychain to
    /// git's credential callback and nowhere else. A failed or cancelled clone leaves no
    /// directory and no row behind.
    pub fn add_github_repo(
        &self,
        full_name: &str,
        branch: Option<&str>,
        cancel: &AtomicBool,
        progress: &dyn Fn(&GitProgress),
    ) -> Result<RepoRow> {
        let (owner, name) = github::validate_full_name(full_name)?;
        let full_name = format!("{owner}/{name}");
        self.check_writable("adding repositories")?;
        let _lock = JobLock::acquire(&self.paths)?;
        if let Some(existing) = self.store().repo_by_remote(&full_name)? {
            return Err(Error::InvalidInput(format!(
                "{full_name} is already added as {:?}; `ferret repo sync {}` updates it",
                existing.name, existing.name
            )));
        }
        let (client, token) = github_session(&self.record()?)?;
        let remote = client.repo(&token, &owner, &name)?;
        // GitHub's `size` is the packed repository in KiB; a checkout plus its .git is
        // typically about twice that.
        self.check_limits(&Usage {
            repos: 1,
            chunks: 0,
            bytes: remote.size_kb.saturating_mul(2048),
        })?;
        let dest = self.paths.repos_dir().join(&owner).join(&name);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        let auth = GitAuth {
            token: Some(token.expose()),
        };
        let outcome = git::clone_repo(&remote.clone_url, &dest, branch, &auth, cancel, progress)?;
        let info = RemoteInfo {
            full_name: &full_name,
            clone_url: &remote.clone_url,
            branch: &outcome.branch,
            head: &outcome.head,
        };
        let added = self.store().add_remote_repo(&full_name, &dest, &info);
        match added {
            Ok(repo) => {
                self.audit(
                    "repo-added",
                    &format!("github:{full_name} {} at {}", outcome.branch, outcome.head),
                )?;
                Ok(repo)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dest);
                Err(e)
            }
        }
    }

    /// Fetches and fast-forwards cloned repositories (one by name, or all), then indexes
    /// them: only files the fetched commits touched are re-chunked, since unchanged files
    /// keep their size and mtime through a fast-forward checkout.
    pub fn sync(
        &self,
        repo: Option<&str>,
        cancel: &AtomicBool,
        git_progress: &dyn Fn(&str, &GitProgress),
    ) -> Result<Vec<SyncReport>> {
        self.check_writable("syncing")?;
        let repos: Vec<RepoRow> = {
            let store = self.store();
            match repo {
                Some(name) => vec![refuse_paused(find_repo(&store, name)?, "sync")?],
                None => store.repos()?,
            }
        }
        .into_iter()
        .filter(|r| r.remote.is_some())
        .collect();
        if repos.is_empty() {
            return Err(Error::NotFound(match repo {
                Some(name) => format!(
                    "{name:?} is a local repository: nothing to fetch (`ferret index` re-reads it)"
                ),
                None => "no GitHub repositories to sync: add one with \
                         `ferret repo add github:OWNER/NAME`"
                    .into(),
            }));
        }
        // All of them: the paused ones wait (with all paused, not even the keychain is read).
        let repos: Vec<RepoRow> = repos.into_iter().filter(|r| !r.paused).collect();
        if repos.is_empty() {
            return Ok(Vec::new());
        }
        let (_, token) = github_session(&self.record()?)?;
        let auth = GitAuth {
            token: Some(token.expose()),
        };
        let mut reports = Vec::new();
        {
            let _lock = JobLock::acquire(&self.paths)?;
            for repo in &repos {
                let branch = repo.branch.as_deref().unwrap_or("main");
                let outcome = git::fetch_fast_forward(&repo.root, branch, &auth, cancel, &|p| {
                    git_progress(&repo.name, p)
                })?;
                self.store().set_repo_head(repo.id, &outcome.new_head)?;
                self.audit(
                    "repo-synced",
                    &format!(
                        "{} {} -> {} ({} paths)",
                        repo.name,
                        outcome.old_head,
                        outcome.new_head,
                        outcome.changed.len()
                    ),
                )?;
                reports.push(SyncReport {
                    repo: repo.name.clone(),
                    old_head: outcome.old_head,
                    new_head: outcome.new_head,
                    changed_paths: outcome.changed.len() as u64,
                });
            }
        }
        Ok(reports)
    }

    /// The absolute path of `rel_path` (`/`-separated, as search results give it) inside
    /// repository `repo`. Refuses `..`, absolute paths, and anything that resolves outside
    /// the repository root, such as a symlink pointing elsewhere.
    pub fn resolve_file(&self, repo: &str, rel_path: &str) -> Result<PathBuf> {
        crate::links::deeplink::validate_relative_path(rel_path)?;
        let row = find_repo(&self.store(), repo)?;
        let root = std::fs::canonicalize(&row.root).map_err(|e| {
            Error::io(
                format!(
                    "repository {repo:?} is no longer at {} (moved or deleted?)",
                    row.root.display()
                ),
                e,
            )
        })?;
        let joined = rel_path
            .split('/')
            .fold(root.clone(), |path, part| path.join(part));
        let full = std::fs::canonicalize(&joined).map_err(|e| {
            Error::io(
                format!("{rel_path} is not in {repo} any more (re-index to refresh results)"),
                e,
            )
        })?;
        if !full.starts_with(&root) {
            return Err(Error::Refused(format!(
                "{rel_path} in {repo} resolves to {}, outside the repository (a symlink?); \
                 Ferret only opens files inside the repository",
                full.display()
            )));
        }
        if !full.is_file() {
            return Err(Error::InvalidInput(format!(
                "{rel_path} in {repo} is not a file"
            )));
        }
        Ok(full)
    }

    /// Up to `before` lines before `line` (1-based), the line itself, and up to `after`
    /// lines after it, read from the file now (so the preview shows unsaved-to-index edits).
    /// A line past the end of the file shows the file's last lines.
    pub fn file_context(
        &self,
        repo: &str,
        rel_path: &str,
        line: u32,
        before: u32,
        after: u32,
    ) -> Result<FileContext> {
        let path = self.resolve_file(repo, rel_path)?;
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            .len();
        if size > MAX_PREVIEW_BYTES {
            return Err(Error::Refused(format!(
                "{rel_path} is {} MiB, too large to preview; open it in the editor",
                size / (1024 * 1024)
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        if all.is_empty() {
            return Ok(FileContext {
                start_line: 1,
                lines: Vec::new(),
            });
        }
        let total = all.len() as u32;
        let line = line.clamp(1, total);
        let first = line.saturating_sub(before.min(MAX_CONTEXT_LINES)).max(1);
        let last = line.saturating_add(after.min(MAX_CONTEXT_LINES)).min(total);
        Ok(FileContext {
            start_line: first,
            lines: all[(first - 1) as usize..last as usize]
                .iter()
                .map(|l| l.to_string())
                .collect(),
        })
    }

    pub fn repos(&self) -> Result<Vec<RepoInfo>> {
        let store = self.store();
        let model_id = active_model(&store)?.id;
        let mut stmt = store
            .conn()
            .prepare_cached(
                "SELECT r.id,
                        (SELECT COUNT(*) FROM files f WHERE f.repo_id = r.id),
                        (SELECT COUNT(*) FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.repo_id = r.id),
                        (SELECT COUNT(*) FROM chunks c JOIN files f ON f.id = c.file_id
                           JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash
                         WHERE f.repo_id = r.id)
                 FROM repos r",
            )
            .map_err(|e| store.err(e))?;
        let counts: BTreeMap<i64, (u64, u64, u64)> = stmt
            .query_map([model_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    (
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ),
                ))
            })
            .map_err(|e| store.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| store.err(e))?;
        Ok(store
            .repos()?
            .into_iter()
            .map(|r| {
                let (files, chunks, embedded_chunks) =
                    counts.get(&r.id).copied().unwrap_or_default();
                RepoInfo {
                    name: r.name,
                    root: r.root,
                    kind: r.kind,
                    added_at: r.added_at,
                    last_indexed_at: r.last_indexed_at,
                    remote: r.remote,
                    branch: r.branch,
                    head: r.head,
                    paused: r.paused,
                    files,
                    chunks,
                    embedded_chunks,
                }
            })
            .collect())
    }

    /// Pauses or resumes one repository. A paused repository is not watched, fetched or
    /// indexed (indexing "all" skips it; naming it is refused with how to resume), and
    /// what it already holds stays searchable. Background work picks the change up on its
    /// next refresh.
    pub fn set_repo_paused(&self, name: &str, paused: bool) -> Result<RepoRow> {
        self.check_writable(if paused {
            "pausing repositories"
        } else {
            "resuming repositories"
        })?;
        let store = self.store();
        let repo = find_repo(&store, name)?;
        store.set_repo_paused(repo.id, paused)?;
        store.audit(
            if paused {
                "repo-paused"
            } else {
                "repo-resumed"
            },
            name,
        )?;
        Ok(RepoRow { paused, ..repo })
    }

    /// Removes a repository and everything indexed from it. A local working copy is
    /// untouched; a clone Ferret made under the profile's `repos/` is deleted with it.
    pub fn remove_repo(&self, name: &str) -> Result<u64> {
        self.check_writable("removing repositories")?;
        let _lock = JobLock::acquire(&self.paths)?;
        let mut store = Store::open(&self.paths.meta_db())?;
        let repo = find_repo(&store, name)?;
        let removed = store.remove_repo(repo.id)?;
        store.audit(
            "repo-removed",
            &format!("{name} ({} chunks)", removed.len()),
        )?;
        if repo.remote.is_some() && repo.root.starts_with(self.paths.repos_dir()) {
            std::fs::remove_dir_all(&repo.root).map_err(|e| {
                Error::io(
                    format!("cannot delete the clone {}", repo.root.display()),
                    e,
                )
            })?;
        }
        let mut vectors = self.writable_vectors(&store, active_model(&store)?, &mut false)?;
        for id in &removed {
            vectors.remove(*id as u64)?;
        }
        vectors.save(store.generation()?)?;
        self.invalidate_vectors();
        Ok(removed.len() as u64)
    }

    /// Indexes one repository (by name) or all of them.
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
            Some(name) => vec![refuse_paused(find_repo(&store, name)?, "index")?],
            None => store.repos()?,
        };
        if repos.is_empty() {
            return Err(Error::NotFound(
                "no repositories to index: add one with `ferret repo add PATH`".into(),
            ));
        }
        // All of them: the paused ones wait (what they hold stays searchable).
        let repos: Vec<RepoRow> = repos.into_iter().filter(|r| !r.paused).collect();
        if repos.is_empty() {
            return Ok(IndexReport::default());
        }
        let model = active_model(&store)?;
        let embedder = if lexical_only {
            None
        } else {
            Some(self.embedder_for(model)?)
        };
        let mut rebuilt = false;
        let mut vectors = self.writable_vectors(&store, model, &mut rebuilt)?;
        let opts = RunOptions {
            walk: WalkOptions {
                max_file_bytes: self.config.max_file_bytes,
                excludes: self.config.excludes.clone(),
            },
            limits: ChunkLimits::default(),
            threads: self.threads,
            cancel,
            skip_embeddings: lexical_only,
            max_chunks: Some((self.config.limits.max_chunks, &self.paths.id)),
            progress,
        };
        let result = run::run(
            &mut store,
            &repos,
            embedder.as_deref(),
            &mut vectors,
            model.id,
            &opts,
        );
        self.invalidate_vectors();
        let mut report = result?;
        report.vectors_rebuilt = rebuilt;
        record_speed(
            &store,
            model.id,
            report.embeddings_computed,
            report.embed_secs,
        );
        if !lexical_only && !report.interrupted {
            if let Some(target) = target_model(&store)? {
                self.build_target_model(
                    &mut store,
                    model,
                    target,
                    &mut vectors,
                    &opts,
                    &mut report,
                )?;
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

    /// The second half of a model switch: embeds everything for `target` beside the active
    /// model's vectors (searches keep using those), then, once nothing is pending, makes
    /// `target` the active model in one transaction and deletes the old vectors. An
    /// interrupted run (cancel, crash, kill -9) resumes here next time; nothing is embedded
    /// twice, since each committed batch is in SQLite.
    fn build_target_model(
        &self,
        store: &mut Store,
        active: &'static ModelSpec,
        target: &'static ModelSpec,
        active_vectors: &mut VectorIndex,
        opts: &RunOptions<'_>,
        report: &mut IndexReport,
    ) -> Result<()> {
        let embedder = self.embedder_for(target)?;
        let mut rebuilt = false;
        let mut target_vectors = self.writable_vectors(store, target, &mut rebuilt)?;
        let started = std::time::Instant::now();
        let computed_before = report.embeddings_computed;
        run::reembed(store, &embedder, &mut target_vectors, opts, report)?;
        let secs = started.elapsed().as_secs_f64();
        record_speed(
            store,
            target.id,
            report.embeddings_computed - computed_before,
            secs,
        );
        report.embed_secs += secs;
        report.total_secs += secs;
        // Re-embedding bumped the data generation; the active model's vectors did not
        // change, so its file is re-stamped rather than left to look stale.
        active_vectors.save(store.generation()?)?;
        if opts.cancel.load(std::sync::atomic::Ordering::Relaxed)
            || store.pending_embedding_count(target.id, None)? > 0
        {
            report.interrupted = true;
            return Ok(());
        }
        store.transaction(|tx| tx.promote_model(active.id, target.id))?;
        self.invalidate_vectors();
        self.remove_vector_files_except(&[target.id]);
        store.audit(
            "model",
            &format!("now searching with {} (was {})", target.id, active.id),
        )?;
        log::info!("model switch complete: {} -> {}", active.id, target.id);
        Ok(())
    }

    /// Deletes the vector files of models other than `keep` (left by a finished switch, or
    /// by one a crash interrupted between its swap and the clean-up).
    fn remove_vector_files_except(&self, keep: &[&str]) {
        let Ok(entries) = std::fs::read_dir(self.paths.vectors_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let model = name.split(".usearch").next().unwrap_or_default();
            if name.contains(".usearch") && !keep.contains(&model) {
                if let Err(e) = std::fs::remove_file(entry.path()) {
                    log::warn!("cannot remove {}: {e}", entry.path().display());
                }
            }
        }
    }

    /// Switches the profile to model version `id`: it becomes the target, built by the next
    /// index run (or job) beside the active model, which serves searches until the new
    /// vectors are complete. Choosing the active model again cancels a switch in progress
    /// (what it embedded stays cached, so switching once more resumes). Fails, naming the
    /// file and the fix, when the model's files are missing or wrong.
    pub fn use_model(&self, id: &str) -> Result<ModelStatus> {
        self.check_writable("switching models")?;
        let spec = models::find(id)?;
        let dir = self
            .model_dir
            .clone()
            .ok_or_else(|| Error::Model("no model directory found: run scripts/setup.sh".into()))?;
        spec.check_files(&dir, true)?;
        let store = self.store();
        let active = active_model(&store)?;
        if spec.id == active.id {
            store.set_model_in_role("target", None)?;
        } else if store.embedded_chunk_count(active.id)? == 0 {
            // Nothing embedded yet, so nothing to keep serving: switch at once.
            store.set_model_in_role("active", Some(spec.id))?;
            store.set_model_in_role("target", None)?;
            self.invalidate_vectors();
            self.remove_vector_files_except(&[spec.id]);
        } else {
            store.set_model_in_role("target", Some(spec.id))?;
        }
        store.audit(
            "model",
            &format!("switch requested: {} -> {}", active.id, spec.id),
        )?;
        drop(store);
        self.model_status()
    }

    /// The active model, the switch in progress (if any) and its progress, and the
    /// catalogue with what each model costs on this machine.
    pub fn model_status(&self) -> Result<ModelStatus> {
        let store = self.store();
        let active = active_model(&store)?;
        let target = target_model(&store)?;
        let distinct = store.count("SELECT COUNT(DISTINCT content_hash) FROM chunks")? as u64;
        let switch = match target {
            Some(t) => Some(ModelSwitch {
                to: t.id.to_string(),
                embedded: distinct.saturating_sub(store.pending_embedding_count(t.id, None)?),
                total: distinct,
            }),
            None => None,
        };
        let installed = |spec: &ModelSpec| {
            self.model_dir
                .as_deref()
                .is_some_and(|dir| spec.check_files(dir, false).is_ok())
        };
        let models = models::CATALOGUE
            .iter()
            .map(|spec| {
                Ok(ModelInfo {
                    id: spec.id.to_string(),
                    name: spec.name.to_string(),
                    description: spec.description.to_string(),
                    dims: spec.dims,
                    max_tokens: spec.max_tokens,
                    max_windows: spec.max_windows,
                    installed: installed(spec),
                    chunks_per_sec: measured_speed(&store, spec.id)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ModelStatus {
            active: active.id.to_string(),
            switch,
            models,
        })
    }

    /// Runs a search.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<SearchHit>> {
        let model = self.model()?;
        let vectors = match opts.mode {
            search::SearchMode::Lexical => None,
            _ => self.readable_vectors(model)?,
        };
        let embedder = match &vectors {
            Some(v) if !v.is_empty() => match self.embedder_for(model) {
                Ok(embedder) => Some(embedder),
                // Hybrid still answers lexically when the model cannot load; semantic
                // mode has nothing else to offer, so it reports why.
                Err(e) if opts.mode == search::SearchMode::Hybrid => {
                    log::warn!("semantic ranking unavailable, lexical only: {e}");
                    None
                }
                Err(e) => return Err(e),
            },
            _ => None,
        };
        let store = self.store();
        let ctx = SearchContext {
            store: &store,
            vectors: vectors.as_deref(),
            embedder: embedder.as_deref(),
        };
        let hits = search::search(&ctx, query, opts)?;
        self.count_query(&store);
        Ok(hits)
    }

    pub fn stats(&self) -> Result<Stats> {
        let store = self.store();
        let model_id = active_model(&store)?.id;
        let count = |sql: &str| store.count(sql).map(|n| n as u64);
        let chunks = count("SELECT COUNT(*) FROM chunks")?;
        let embedded_chunks = store.embedded_chunk_count(model_id)?;
        let database_bytes: u64 = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.paths.meta_db().into_os_string();
                p.push(suffix);
                std::fs::metadata(p).ok()
            })
            .map(|m| m.len())
            .sum();
        let vector_index_bytes = VectorIndex::disk_bytes(&self.paths.vector_file(model_id)?);
        Ok(Stats {
            profile: self.paths.id.clone(),
            data_dir: self.paths.root.clone(),
            model_id: model_id.to_string(),
            repos: count("SELECT COUNT(*) FROM repos")?,
            files: count("SELECT COUNT(*) FROM files")?,
            chunks,
            embedded_chunks,
            pending_embeddings: store.pending_embedding_count(model_id, None)?,
            semantic_coverage: if chunks == 0 {
                0.0
            } else {
                embedded_chunks as f64 / chunks as f64
            },
            skipped: store
                .skipped_by_reason(None)?
                .into_iter()
                .map(|(reason, n)| (reason, n as u64))
                .collect(),
            source_bytes: count("SELECT COALESCE(SUM(size), 0) FROM files")?,
            database_bytes,
            vector_index_bytes,
            bytes_on_disk: database_bytes + vector_index_bytes,
        })
    }

    /// The vector index of `model` for writing: the saved file if it matches SQLite exactly,
    /// else a rebuild from SQLite's stored embeddings (no model needed).
    fn writable_vectors(
        &self,
        store: &Store,
        model: &'static ModelSpec,
        rebuilt: &mut bool,
    ) -> Result<VectorIndex> {
        let path = self.paths.vector_file(model.id)?;
        let dims = model.dims;
        let expected = VectorFileState {
            generation: store.generation()?,
            count: store.embedded_vector_count(model.id, dims)?,
            dims,
        };
        if let Some(index) = VectorIndex::open_if_current(&path, dims, Some(expected), true)? {
            return Ok(index);
        }
        let mut index = VectorIndex::new(&path, dims)?;
        if expected.count > 0 || path.exists() {
            *rebuilt = true;
            let n = run::rebuild_vectors(store, &mut index, model.id)?;
            log::info!(
                "rebuilt vector index {} from the database: {n} vectors",
                path.display()
            );
            index.save(expected.generation)?;
        }
        Ok(index)
    }

    /// The active model's vector index for searching: memory-mapped when the saved file is
    /// sound, even if an indexer is mid-run (it is then a little behind); rebuilt in memory
    /// from SQLite when the file is missing or corrupt.
    fn readable_vectors(&self, model: &'static ModelSpec) -> Result<Option<Arc<VectorIndex>>> {
        if let Some((id, v)) = self
            .vectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            // A swap to another model since it was loaded makes it stale.
            if *id == model.id {
                return Ok(Some(v.clone()));
            }
        }
        let path = self.paths.vector_file(model.id)?;
        let dims = model.dims;
        let index = match VectorIndex::open_if_current(&path, dims, None, false)? {
            Some(index) => index,
            None => {
                let store = self.store();
                if store.embedded_chunk_count(model.id)? == 0 {
                    return Ok(None);
                }
                // In memory only: an indexer may be running and owns the file (two writers
                // would race on its temporary file, and holding the job lock here would make
                // a starting job fail). The next index run saves it.
                let mut index = VectorIndex::new(&path, dims)?;
                run::rebuild_vectors(&store, &mut index, model.id)?;
                index
            }
        };
        let index = Arc::new(index);
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = Some((model.id, index.clone()));
        Ok(Some(index))
    }

    fn invalidate_vectors(&self) {
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Checks that the saved vector index agrees with SQLite (used by tests and `stats`).
    pub fn vector_index_state(&self) -> Result<Option<VectorFileState>> {
        Ok(vectors::read_state(
            &self.paths.vector_file(self.model_id()?)?,
        ))
    }
}

/// Adds an embedding run to `model`'s measured speed (kept in the usage counters as chunks
/// and milliseconds). Best effort: a busy database only loses the sample.
fn record_speed(store: &Store, model: &str, chunks: u64, secs: f64) {
    if chunks == 0 || secs <= 0.0 {
        return;
    }
    let _ = store.add_usage(&format!("embed_chunks:{model}"), chunks as i64);
    let _ = store.add_usage(&format!("embed_ms:{model}"), (secs * 1000.0) as i64);
}

fn measured_speed(store: &Store, model: &str) -> Result<Option<f64>> {
    let chunks = store.usage(&format!("embed_chunks:{model}"))?;
    let ms = store.usage(&format!("embed_ms:{model}"))?;
    Ok((chunks > 0 && ms > 0).then(|| chunks as f64 * 1000.0 / ms as f64))
}

/// The model version serving searches in `store`'s profile.
fn active_model(store: &Store) -> Result<&'static ModelSpec> {
    let stored = store.model_in_role("active")?;
    known_model(stored.as_deref().unwrap_or(models::DEFAULT_MODEL))
}

/// The model version being built after a switch, if any.
fn target_model(store: &Store) -> Result<Option<&'static ModelSpec>> {
    match store.model_in_role("target")? {
        Some(id) => Ok(Some(known_model(&id)?)),
        None => Ok(None),
    }
}

/// A stored model id this build knows; an id from a newer or older build is an error that
/// says how to move on.
fn known_model(id: &str) -> Result<&'static ModelSpec> {
    models::find(id).map_err(|_| {
        Error::Model(format!(
            "this profile's vectors were made with model {id:?}, which this version of Ferret \
             does not know: `ferret model use {}` re-embeds with the default model",
            models::DEFAULT_MODEL
        ))
    })
}

/// Repository names appear in results and `repo:` filters; `OWNER/NAME` is allowed.
fn validate_repo_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 200
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::InvalidInput(format!(
            "invalid repository name {name:?}: use a short name without spaces (--name)"
        )));
    }
    Ok(())
}

/// `repo`, unless it is paused: then an error that says how to resume it.
fn refuse_paused(repo: RepoRow, what: &str) -> Result<RepoRow> {
    if repo.paused {
        return Err(Error::Refused(format!(
            "{:?} is paused, so Ferret does not {what} it: resume it first \
             (`ferret repo resume {}`, or Resume in the app)",
            repo.name, repo.name
        )));
    }
    Ok(repo)
}

fn find_repo(store: &Store, name: &str) -> Result<RepoRow> {
    store.repo_by_name(name)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no repository named {name:?}; `ferret repo list` shows the added ones"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_with_repo() -> (tempfile::TempDir, Engine, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("work").join("proj");
        std::fs::create_dir_all(repo.join("src")).unwrap();
        let text: String = (1..=10).map(|i| format!("line {i}\r\n")).collect();
        std::fs::write(repo.join("src/lib.rs"), text).unwrap();
        std::fs::write(dir.path().join("work/secret.txt"), "s3cret").unwrap();
        let engine = Engine::open(EngineOptions {
            data_root: Some(dir.path().join("data")),
            ..EngineOptions::default()
        })
        .unwrap();
        engine.add_repo(&repo, Some("proj")).unwrap();
        (dir, engine, repo)
    }

    #[test]
    fn resolve_file_stays_inside_the_repository() {
        let (dir, engine, repo) = engine_with_repo();
        let root = std::fs::canonicalize(&repo).unwrap();
        assert_eq!(
            engine.resolve_file("proj", "src/lib.rs").unwrap(),
            root.join("src/lib.rs")
        );
        for bad in ["../secret.txt", "src/../../secret.txt", "/etc/passwd", ""] {
            let err = engine.resolve_file("proj", bad).unwrap_err().to_string();
            assert!(err.contains("invalid file path"), "{bad}: {err}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("work/secret.txt"), repo.join("out"))
                .unwrap();
            std::os::unix::fs::symlink("lib.rs", repo.join("src/inside")).unwrap();
            let err = engine.resolve_file("proj", "out").unwrap_err().to_string();
            assert!(err.contains("outside the repository"), "{err}");
            assert_eq!(
                engine.resolve_file("proj", "src/inside").unwrap(),
                root.join("src/lib.rs"),
                "a symlink within the repository is fine"
            );
        }
        let err = engine.resolve_file("proj", "src").unwrap_err().to_string();
        assert!(err.contains("not a file"), "{err}");
        let err = engine
            .resolve_file("proj", "gone.rs")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not in proj any more"), "{err}");
        let err = engine.resolve_file("nope", "a.rs").unwrap_err().to_string();
        assert!(err.contains("no repository named"), "{err}");
    }

    #[test]
    fn file_context_takes_lines_around_the_line() {
        let (_dir, engine, _repo) = engine_with_repo();
        let ctx = engine.file_context("proj", "src/lib.rs", 5, 2, 1).unwrap();
        assert_eq!(ctx.start_line, 3);
        assert_eq!(ctx.lines, ["line 3", "line 4", "line 5", "line 6"]);
        let start = engine.file_context("proj", "src/lib.rs", 1, 5, 0).unwrap();
        assert_eq!((start.start_line, start.lines.len()), (1, 1));
        let end = engine.file_context("proj", "src/lib.rs", 99, 1, 5).unwrap();
        assert_eq!(end.start_line, 9);
        assert_eq!(end.lines, ["line 9", "line 10"]);
        assert!(engine.file_context("proj", "../x", 1, 1, 1).is_err());
    }
}
