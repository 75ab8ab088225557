//! The engine's front door: one open profile, with the operations the CLI and the desktop
//! shell call. Everything here is a thin composition of the stage modules; the shells
//! contain no logic of their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use serde::Serialize;

use crate::chunk::ChunkLimits;
use crate::embed::{self, EmbedOptions, Embedder};
use crate::index::{self, IndexReport, Progress, RunOptions};
use crate::profiles::{self, ProfileConfig, ProfilePaths};
use crate::search::{self, SearchContext, SearchHit, SearchOptions};
use crate::store::{RepoRow, Store};
use crate::vectors::{self, VectorFileState, VectorIndex};
use crate::walk::WalkOptions;
use crate::{Error, Result};

/// How to open a profile.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Data root; `None` uses `$FERRET_DATA_DIR` or the platform default.
    pub data_root: Option<PathBuf>,
    /// Profile id; `None` is the default profile.
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

/// An open profile.
pub struct Engine {
    paths: ProfilePaths,
    config: ProfileConfig,
    model_dir: Option<PathBuf>,
    threads: usize,
    /// The connection searches and listings use; indexing opens its own so searches are
    /// never blocked behind a long write (WAL lets both proceed).
    store: Mutex<Store>,
    embedder: OnceLock<Arc<Embedder>>,
    /// Loaded on the first semantic search; dropped after an index run so the next search
    /// sees the new file.
    vectors: RwLock<Option<Arc<VectorIndex>>>,
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
        let profile = opts.profile.as_deref().unwrap_or(profiles::DEFAULT_PROFILE);
        let paths = ProfilePaths::new(&root, profile)?;
        paths.ensure_dirs()?;
        let config = ProfileConfig::load(&paths.config_file())?;
        let store = Store::open(&paths.meta_db())?;
        let model_dir = opts
            .model_dir
            .or_else(|| config.model_dir.clone())
            .or_else(embed::default_model_dir);
        let threads = opts
            .threads
            .unwrap_or_else(|| config.effective_threads())
            .max(1);
        Ok(Engine {
            paths,
            config,
            model_dir,
            threads,
            store: Mutex::new(store),
            embedder: OnceLock::new(),
            vectors: RwLock::new(None),
        })
    }

    pub fn profile_id(&self) -> &str {
        &self.paths.id
    }

    pub fn paths(&self) -> &ProfilePaths {
        &self.paths
    }

    pub fn model_id(&self) -> &str {
        embed::DEFAULT_MODEL_ID
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The embedding model, loaded on first use (it takes a moment and most commands never
    /// need it).
    pub fn embedder(&self) -> Result<Arc<Embedder>> {
        if let Some(embedder) = self.embedder.get() {
            return Ok(embedder.clone());
        }
        let dir = self.model_dir.clone().ok_or_else(|| {
            Error::Model(
                "no model directory found: run scripts/setup.sh, or set FERRET_MODEL_DIR to a \
                 directory containing onnxruntime/ and all-minilm-l6-v2-int8/"
                    .into(),
            )
        })?;
        let opts = EmbedOptions {
            threads: self.threads,
            ..EmbedOptions::default()
        };
        let embedder = Arc::new(Embedder::load(&dir, &opts)?);
        Ok(self.embedder.get_or_init(|| embedder).clone())
    }

    /// Registers a local repository (it is indexed by `index`). The name defaults to the
    /// directory name.
    pub fn add_repo(&self, path: &Path, name: Option<&str>) -> Result<RepoRow> {
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
        if name.is_empty()
            || name.len() > 200
            || name.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(Error::InvalidInput(format!(
                "invalid repository name {name:?}: use a short name without spaces (--name)"
            )));
        }
        self.store().add_repo(&name, &root, "local")
    }

    pub fn repos(&self) -> Result<Vec<RepoInfo>> {
        let store = self.store();
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
            .query_map([self.model_id()], |r| {
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
                    files,
                    chunks,
                    embedded_chunks,
                }
            })
            .collect())
    }

    /// Removes a repository and everything indexed from it (the working copy is untouched).
    pub fn remove_repo(&self, name: &str) -> Result<u64> {
        let mut store = Store::open(&self.paths.meta_db())?;
        let repo = find_repo(&store, name)?;
        let removed = store.remove_repo(repo.id)?;
        let mut vectors = self.writable_vectors(&store, &mut false)?;
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
        let mut store = Store::open(&self.paths.meta_db())?;
        let repos = match repo {
            Some(name) => vec![find_repo(&store, name)?],
            None => store.repos()?,
        };
        if repos.is_empty() {
            return Err(Error::NotFound(
                "no repositories to index: add one with `ferret repo add PATH`".into(),
            ));
        }
        let embedder = if lexical_only {
            None
        } else {
            Some(self.embedder()?)
        };
        let mut rebuilt = false;
        let mut vectors = self.writable_vectors(&store, &mut rebuilt)?;
        let opts = RunOptions {
            walk: WalkOptions {
                max_file_bytes: self.config.max_file_bytes,
                excludes: self.config.excludes.clone(),
            },
            limits: ChunkLimits::default(),
            threads: self.threads,
            cancel,
            skip_embeddings: lexical_only,
            progress,
        };
        let result = index::run(
            &mut store,
            &repos,
            embedder.as_deref(),
            &mut vectors,
            self.model_id(),
            &opts,
        );
        self.invalidate_vectors();
        let mut report = result?;
        report.vectors_rebuilt = rebuilt;
        Ok(report)
    }

    /// Runs a search.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<SearchHit>> {
        let vectors = match opts.mode {
            search::SearchMode::Lexical => None,
            _ => self.readable_vectors()?,
        };
        let embedder = match &vectors {
            Some(v) if !v.is_empty() => match self.embedder() {
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
        search::search(&ctx, query, opts)
    }

    pub fn stats(&self) -> Result<Stats> {
        let store = self.store();
        let count = |sql: &str| store.count(sql).map(|n| n as u64);
        let chunks = count("SELECT COUNT(*) FROM chunks")?;
        let embedded_chunks = store.embedded_chunk_count(self.model_id())?;
        let database_bytes: u64 = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.paths.meta_db().into_os_string();
                p.push(suffix);
                std::fs::metadata(p).ok()
            })
            .map(|m| m.len())
            .sum();
        let vector_index_bytes = VectorIndex::disk_bytes(&self.paths.vector_file(self.model_id())?);
        Ok(Stats {
            profile: self.paths.id.clone(),
            data_dir: self.paths.root.clone(),
            model_id: self.model_id().to_string(),
            repos: count("SELECT COUNT(*) FROM repos")?,
            files: count("SELECT COUNT(*) FROM files")?,
            chunks,
            embedded_chunks,
            pending_embeddings: store.pending_embedding_count(self.model_id(), None)?,
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

    fn dims(&self) -> Result<usize> {
        match self.embedder.get() {
            Some(embedder) => Ok(embedder.dims()),
            None => Ok(embed::DEFAULT_DIMS),
        }
    }

    /// The vector index for writing: the saved file if it matches SQLite exactly, else a
    /// rebuild from SQLite's stored embeddings (no model needed).
    fn writable_vectors(&self, store: &Store, rebuilt: &mut bool) -> Result<VectorIndex> {
        let path = self.paths.vector_file(self.model_id())?;
        let dims = self.dims()?;
        let expected = VectorFileState {
            generation: store.generation()?,
            count: store.embedded_chunk_count(self.model_id())?,
            dims,
        };
        if let Some(index) = VectorIndex::open_if_current(&path, dims, Some(expected), true)? {
            return Ok(index);
        }
        let mut index = VectorIndex::new(&path, dims)?;
        if expected.count > 0 || path.exists() {
            *rebuilt = true;
            let n = index::rebuild_vectors(store, &mut index, self.model_id())?;
            log::info!(
                "rebuilt vector index {} from the database: {n} vectors",
                path.display()
            );
            index.save(expected.generation)?;
        }
        Ok(index)
    }

    /// The vector index for searching: memory-mapped when the saved file is sound, even if
    /// an indexer is mid-run (it is then a little behind); rebuilt in memory from SQLite when
    /// the file is missing or corrupt.
    fn readable_vectors(&self) -> Result<Option<Arc<VectorIndex>>> {
        if let Some(v) = self
            .vectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(Some(v.clone()));
        }
        let path = self.paths.vector_file(self.model_id())?;
        let dims = self.dims()?;
        let index = match VectorIndex::open_if_current(&path, dims, None, false)? {
            Some(index) => index,
            None => {
                let store = self.store();
                if store.embedded_chunk_count(self.model_id())? == 0 {
                    return Ok(None);
                }
                let mut rebuilt = false;
                self.writable_vectors(&store, &mut rebuilt)?
            }
        };
        let index = Arc::new(index);
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = Some(index.clone());
        Ok(Some(index))
    }

    fn invalidate_vectors(&self) {
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Checks that the saved vector index agrees with SQLite (used by tests and `stats`).
    pub fn vector_index_state(&self) -> Result<Option<VectorFileState>> {
        Ok(vectors::read_state(
            &self.paths.vector_file(self.model_id())?,
        ))
    }
}

fn find_repo(store: &Store, name: &str) -> Result<RepoRow> {
    store.repo_by_name(name)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no repository named {name:?}; `ferret repo list` shows the added ones"
        ))
    })
}
