//! The profile's SQLite database: the source of truth for everything indexed.
//!
//! One file (`meta.sqlite`) in WAL mode with foreign keys on holds repositories, files,
//! chunks (with their text, so results and snippets never depend on the working copy being
//! unchanged), the FTS5 lexical index, every embedding (keyed by model id and chunk content
//! hash, so a chunk text is embedded once per profile, whatever repo or path it shows up in),
//! and the skip log. Schema changes are versioned migrations keyed on `PRAGMA user_version`.
//!
//! Chunk texts are stored deflated: code compresses 2-3x, the text is read only for the
//! handful of results shown and for embedding, and it is the largest part of the index.
//!
//! The FTS5 table is contentless (`content=''`, `contentless_delete=1`): it stores only the
//! inverted index of the code-aware token text (see [`crate::pipeline::tokens`]), not a second copy
//! of the code, and its rowid is the chunk id.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::ErrorKind;
use crate::{Error, Result};

/// Each entry upgrades the schema by one version; never edit a released entry, add one.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE repos (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        root TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL DEFAULT 'local',
        added_at INTEGER NOT NULL,
        last_indexed_at INTEGER
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        language TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash BLOB NOT NULL,
        UNIQUE (repo_id, path)
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        symbol TEXT,
        kind TEXT NOT NULL,
        content_hash BLOB NOT NULL,
        text BLOB NOT NULL
    );
    CREATE INDEX chunks_by_file ON chunks(file_id);
    CREATE INDEX chunks_by_hash ON chunks(content_hash);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        symbol, path, body,
        content = '', contentless_delete = 1,
        tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TABLE embeddings (
        model_id TEXT NOT NULL,
        content_hash BLOB NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model_id, content_hash)
    ) WITHOUT ROWID;
    CREATE TABLE skipped (
        repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (repo_id, path)
    );
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    "#,
    // 2: cloned GitHub repositories, the audit log, usage counters.
    r#"
    ALTER TABLE repos ADD COLUMN remote TEXT;
    ALTER TABLE repos ADD COLUMN clone_url TEXT;
    ALTER TABLE repos ADD COLUMN branch TEXT;
    ALTER TABLE repos ADD COLUMN head TEXT;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE usage (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    "#,
    // 3: background jobs (see `crate::background::jobs`).
    r#"
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        repo TEXT,
        state TEXT NOT NULL,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        files_done INTEGER NOT NULL DEFAULT 0,
        files_total INTEGER NOT NULL DEFAULT 0,
        chunks_written INTEGER NOT NULL DEFAULT 0,
        embeddings_done INTEGER NOT NULL DEFAULT 0,
        embeddings_total INTEGER NOT NULL DEFAULT 0,
        rate REAL NOT NULL DEFAULT 0,
        eta_secs REAL,
        error TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX jobs_by_state ON jobs(state, id);
    "#,
    // 4: repositories paused one by one (not watched, fetched or indexed; still searched).
    r#"
    ALTER TABLE repos ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: embedding models as versions: the one that serves searches, and the one being
    // built beside it after a switch. No 'active' row means the original default model.
    r#"
    CREATE TABLE model_state (
        role TEXT PRIMARY KEY CHECK (role IN ('active', 'target')),
        model_id TEXT NOT NULL,
        since INTEGER NOT NULL
    );
    "#,
];

/// A repository known to the profile.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepoRow {
    pub id: i64,
    pub name: String,
    pub root: PathBuf,
    pub kind: String,
    pub added_at: i64,
    pub last_indexed_at: Option<i64>,
    /// `OWNER/NAME` of a cloned GitHub repository; `None` for local ones.
    pub remote: Option<String>,
    pub clone_url: Option<String>,
    pub branch: Option<String>,
    /// The commit the clone was last synced to.
    pub head: Option<String>,
    /// Paused by the user: not watched, fetched or indexed until resumed; still searched.
    pub paused: bool,
}

/// Where a cloned repository came from.
#[derive(Debug, Clone)]
pub struct RemoteInfo<'a> {
    pub full_name: &'a str,
    pub clone_url: &'a str,
    pub branch: &'a str,
    pub head: &'a str,
}

/// One entry of a profile's audit log.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct AuditRow {
    pub at: i64,
    pub event: String,
    pub detail: String,
}

/// What the indexer knows about a file from its last run.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub size: i64,
    pub mtime_ns: i64,
    pub hash: Vec<u8>,
}

/// A chunk ready to be written.
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    pub kind: String,
    pub content_hash: Vec<u8>,
    pub text: String,
    /// Code-aware token text of the body, for FTS.
    pub body_tokens: String,
    /// Token text of the symbol, for FTS (weighted above the body).
    pub symbol_tokens: String,
}

/// A chunk text waiting for its embedding.
#[derive(Debug, Clone)]
pub struct PendingChunk {
    pub content_hash: Vec<u8>,
    pub text: String,
    pub path: String,
    pub symbol: Option<String>,
    pub kind: String,
}

/// A chunk with everything a search result shows.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub id: i64,
    pub repo: String,
    pub path: String,
    pub language: String,
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    pub kind: String,
    pub text: String,
}

/// An open database connection. Cheap to open; each thread that needs one opens its own.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Brings a database's schema up to date: each entry of `migrations` upgrades it by one
/// version (`PRAGMA user_version`), in its own transaction. Shared by every Ferret database.
pub(crate) fn migrate(conn: &Connection, path: &Path, migrations: &[&str]) -> Result<()> {
    let err = |e| db_error(path, e);
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > migrations.len() {
        return Err(Error::Database {
            path: path.to_path_buf(),
            kind: ErrorKind::Refused,
            source: None,
            message: format!(
                "schema version {version} is newer than this Ferret understands ({}); \
                 upgrade Ferret",
                migrations.len()
            ),
        });
    }
    for (i, sql) in migrations.iter().enumerate().skip(version) {
        let tx = conn.unchecked_transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", i + 1).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

/// The unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// A file that is not a valid database is reported with the recovery step, never
    /// overwritten.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Reads every page of the database (`PRAGMA quick_check`): a file damaged anywhere is
    /// reported now, with the recovery step, instead of failing some later search or index
    /// run halfway. Read-only; the file is never changed.
    pub fn check_integrity(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check(5)")
            .map_err(|e| self.err(e))?;
        let problems: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        if problems.iter().all(|p| p == "ok") {
            return Ok(());
        }
        Err(Error::Database {
            path: self.path.clone(),
            message: format!("{} ({})", DAMAGED, problems.join("; ")),
            kind: ErrorKind::Corrupt,
            source: None,
        })
    }

    fn configure(&self) -> Result<()> {
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| self.err(e))?;
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA cache_size = -32000;",
            )
            .map_err(|e| self.err(e))
    }

    fn migrate(&self) -> Result<()> {
        migrate(&self.conn, &self.path, MIGRATIONS)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for the modules that build their own queries (search).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    /// Runs `f` in one transaction: all of it lands or none of it does.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| db_error(&path, e))?;
        let out = f(&Tx {
            tx: &tx,
            path: &path,
        })?;
        tx.commit().map_err(|e| db_error(&path, e))?;
        Ok(out)
    }

    // ---- repositories ----

    pub fn add_repo(&self, name: &str, root: &Path, kind: &str) -> Result<RepoRow> {
        self.add_repo_with(name, root, kind, None)
    }

    /// Registers a repository cloned from a remote.
    pub fn add_remote_repo(&self, name: &str, root: &Path, remote: &RemoteInfo) -> Result<RepoRow> {
        self.add_repo_with(name, root, "github", Some(remote))
    }

    fn add_repo_with(
        &self,
        name: &str,
        root: &Path,
        kind: &str,
        remote: Option<&RemoteInfo>,
    ) -> Result<RepoRow> {
        let root_str = root.to_string_lossy();
        if let Some(existing) = self.repo_by_root(&root_str)? {
            return Err(Error::InvalidInput(format!(
                "{} is already added as {:?}",
                root.display(),
                existing.name
            )));
        }
        if self.repo_by_name(name)?.is_some() {
            return Err(Error::InvalidInput(format!(
                "a repository named {name:?} already exists; remove it first or rename this one"
            )));
        }
        self.conn
            .execute(
                "INSERT INTO repos (name, root, kind, added_at, remote, clone_url, branch, head)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    name,
                    root_str,
                    kind,
                    now(),
                    remote.map(|r| r.full_name),
                    remote.map(|r| r.clone_url),
                    remote.map(|r| r.branch),
                    remote.map(|r| r.head),
                ],
            )
            .map_err(|e| self.err(e))?;
        self.repo_by_name(name)?
            .ok_or_else(|| Error::NotFound(format!("repository {name} vanished")))
    }

    pub fn repos(&self) -> Result<Vec<RepoRow>> {
        self.query_repos("ORDER BY name", params![])
    }

    pub fn repo_by_name(&self, name: &str) -> Result<Option<RepoRow>> {
        Ok(self
            .query_repos("WHERE name = ?1", params![name])?
            .into_iter()
            .next())
    }

    /// The repository cloned from `OWNER/NAME`, if added.
    pub fn repo_by_remote(&self, full_name: &str) -> Result<Option<RepoRow>> {
        Ok(self
            .query_repos("WHERE remote = ?1", params![full_name])?
            .into_iter()
            .next())
    }

    /// Pauses or resumes one repository.
    pub fn set_repo_paused(&self, repo_id: i64, paused: bool) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET paused = ?2 WHERE id = ?1",
                params![repo_id, paused as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records the commit a clone now sits at.
    pub fn set_repo_head(&self, repo_id: i64, head: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET head = ?2 WHERE id = ?1",
                params![repo_id, head],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn repo_by_root(&self, root: &str) -> Result<Option<RepoRow>> {
        Ok(self
            .query_repos("WHERE root = ?1", params![root])?
            .into_iter()
            .next())
    }

    fn query_repos(&self, tail: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<RepoRow>> {
        let sql =
            format!("SELECT id, name, root, kind, added_at, last_indexed_at, remote, clone_url, branch, head, paused FROM repos {tail}");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(RepoRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    root: PathBuf::from(r.get::<_, String>(2)?),
                    kind: r.get(3)?,
                    added_at: r.get(4)?,
                    last_indexed_at: r.get(5)?,
                    remote: r.get(6)?,
                    clone_url: r.get(7)?,
                    branch: r.get(8)?,
                    head: r.get(9)?,
                    paused: r.get::<_, i64>(10)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Removes a repository and everything indexed from it. Returns the removed chunk ids so
    /// the caller can drop them from the vector index.
    pub fn remove_repo(&mut self, repo_id: i64) -> Result<Vec<i64>> {
        self.transaction(|tx| {
            let file_ids = tx.file_ids_of_repo(repo_id)?;
            let mut removed = Vec::new();
            for file_id in file_ids {
                removed.extend(tx.delete_file(file_id)?);
            }
            tx.exec("DELETE FROM repos WHERE id = ?1", params![repo_id])?;
            tx.bump_generation()?;
            Ok(removed)
        })
    }

    // ---- audit log and usage ----

    /// Appends to the profile's audit log (append-only: the schema refuses updates and
    /// deletes). Details go through token redaction, whatever the caller passed.
    pub fn audit(&self, event: &str, detail: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO audit (at, event, detail) VALUES (?1, ?2, ?3)",
                params![now(), event, crate::redact::redact_tokens(detail).as_ref()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn audit_log(&self) -> Result<Vec<AuditRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT at, event, detail FROM audit ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AuditRow {
                    at: r.get(0)?,
                    event: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Adds `n` to a usage counter (queries run, ...).
    pub fn add_usage(&self, key: &str, n: i64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO usage (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = value + ?2",
                params![key, n],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn usage(&self, key: &str) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT value FROM usage WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// Folds the write-ahead log back into the database and truncates it, so the WAL does
    /// not keep megabytes on disk after a large indexing run.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))
    }

    pub fn set_last_indexed(&self, repo_id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET last_indexed_at = ?1 WHERE id = ?2",
                params![now(), repo_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    // ---- files ----

    /// path -> what the last run recorded, for one repository.
    pub fn files_of_repo(
        &self,
        repo_id: i64,
    ) -> Result<std::collections::HashMap<String, FileRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, path, size, mtime_ns, hash FROM files WHERE repo_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![repo_id], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    FileRow {
                        id: r.get(0)?,
                        size: r.get(2)?,
                        mtime_ns: r.get(3)?,
                        hash: r.get(4)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    // ---- embeddings ----

    /// One chunk id per distinct text that has no embedding for `model_id` yet (duplicates
    /// share the embedding), shortest text first: embedding in this order puts texts of
    /// similar length in the same batch, so little compute goes to padding.
    pub fn pending_embedding_ids(&self, model_id: &str, repo_id: Option<i64>) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT MIN(c.id), MAX(length(c.text))
                 FROM chunks c JOIN files f ON f.id = c.file_id
                 WHERE (?2 IS NULL OR f.repo_id = ?2)
                   AND NOT EXISTS (SELECT 1 FROM embeddings e
                                   WHERE e.model_id = ?1 AND e.content_hash = c.content_hash)
                 GROUP BY c.content_hash
                 ORDER BY 2, 1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![model_id, repo_id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The texts to embed for the given chunk ids, in the same order (missing ids, deleted
    /// since, are left out).
    pub fn pending_chunks(&self, ids: &[i64]) -> Result<Vec<PendingChunk>> {
        let json = serde_json::to_string(ids).expect("ids serialize");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.content_hash, c.text, f.path, c.symbol, c.kind
                 FROM json_each(?1) j JOIN chunks c ON c.id = j.value
                 JOIN files f ON f.id = c.file_id
                 ORDER BY j.key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![json], |r| {
                Ok(PendingChunk {
                    content_hash: r.get(0)?,
                    text: unpack(&r.get::<_, Vec<u8>>(1)?),
                    path: r.get(2)?,
                    symbol: r.get(3)?,
                    kind: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The stored vectors of the given chunks (those that have one).
    pub fn vectors_for_chunks(&self, model_id: &str, ids: &[i64]) -> Result<Vec<(i64, Vec<u8>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(ids).expect("ids serialize");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, e.vector FROM chunks c
                 JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash
                 WHERE c.id IN (SELECT value FROM json_each(?2))",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![model_id, json], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// One chunk id per distinct chunk text (the bench re-embeds exactly these).
    pub fn distinct_text_ids(&self) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT MIN(id) FROM chunks GROUP BY content_hash ORDER BY 1")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// How many distinct chunk texts still wait for an embedding.
    pub fn pending_embedding_count(&self, model_id: &str, repo_id: Option<i64>) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(DISTINCT c.content_hash)
                 FROM chunks c JOIN files f ON f.id = c.file_id
                 WHERE (?2 IS NULL OR f.repo_id = ?2)
                   AND NOT EXISTS (SELECT 1 FROM embeddings e
                                   WHERE e.model_id = ?1 AND e.content_hash = c.content_hash)",
                params![model_id, repo_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Every (chunk id, vector) pair for a model: what the vector index must contain.
    pub fn for_each_chunk_vector(
        &self,
        model_id: &str,
        mut f: impl FnMut(i64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, e.vector FROM chunks c
                 JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![model_id]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = row.get(0).map_err(|e| self.err(e))?;
            let vector = row.get_ref(1).map_err(|e| self.err(e))?;
            let bytes = vector.as_blob().map_err(|e| self.err(e.into()))?;
            f(id, bytes)?;
        }
        Ok(())
    }

    /// Chunk ids (with vectors) whose content hash is one of `hashes`: the chunks a batch of
    /// fresh embeddings belongs to, duplicates included.
    pub fn chunk_ids_with_hash(&self, hash: &[u8]) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM chunks WHERE content_hash = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![hash], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The number of chunks that have a vector for `model_id` (what the vector index holds).
    /// Vectors the index holds for a model: one per window of every embedded chunk, i.e.
    /// the stored bytes over `dims` (vectors are `i8`).
    pub fn embedded_vector_count(&self, model_id: &str, dims: usize) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(length(e.vector)), 0) FROM chunks c
                 JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash",
                params![model_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|bytes| bytes as u64 / dims.max(1) as u64)
            .map_err(|e| self.err(e))
    }

    /// The model in `role` (`active` serves searches, `target` is being built after a
    /// switch), if one is recorded.
    pub fn model_in_role(&self, role: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT model_id FROM model_state WHERE role = ?1",
                params![role],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records (or with `None`, clears) the model in `role`.
    pub fn set_model_in_role(&self, role: &str, model_id: Option<&str>) -> Result<()> {
        match model_id {
            Some(id) => self.conn.execute(
                "INSERT INTO model_state (role, model_id, since) VALUES (?1, ?2, ?3)
                 ON CONFLICT(role) DO UPDATE SET model_id = ?2, since = ?3",
                params![role, id, now()],
            ),
            None => self
                .conn
                .execute("DELETE FROM model_state WHERE role = ?1", params![role]),
        }
        .map(|_| ())
        .map_err(|e| self.err(e))
    }

    pub fn embedded_chunk_count(&self, model_id: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM chunks c
                 JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash",
                params![model_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    // ---- generation ----

    /// A counter bumped by every transaction that changes which chunks exist or which have
    /// vectors; the vector index file records the value it reflects.
    pub fn generation(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT value FROM state WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// Chunks by id, with the repository and file they belong to.
    pub fn chunks_by_ids(&self, ids: &[i64]) -> Result<Vec<ChunkRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(ids).expect("ids serialize");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, r.name, f.path, f.language, c.start_line, c.end_line, c.symbol,
                        c.kind, c.text
                 FROM chunks c JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = f.repo_id
                 WHERE c.id IN (SELECT value FROM json_each(?1))",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![json], |r| {
                Ok(ChunkRow {
                    id: r.get(0)?,
                    repo: r.get(1)?,
                    path: r.get(2)?,
                    language: r.get(3)?,
                    start_line: r.get(4)?,
                    end_line: r.get(5)?,
                    symbol: r.get(6)?,
                    kind: r.get(7)?,
                    text: unpack(&r.get::<_, Vec<u8>>(8)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// A single integer from a query without parameters (stats).
    pub fn count(&self, sql: &str) -> Result<i64> {
        self.conn
            .query_row(sql, [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Skipped files per reason, over all repositories (or one).
    pub fn skipped_by_reason(&self, repo_id: Option<i64>) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT reason, COUNT(*) FROM skipped WHERE (?1 IS NULL OR repo_id = ?1)
                 GROUP BY reason ORDER BY reason",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![repo_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}

/// The operations that must happen inside a transaction.
pub struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl Tx<'_> {
    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(self.path, e)
    }

    fn exec(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize> {
        let mut stmt = self.tx.prepare_cached(sql).map_err(|e| self.err(e))?;
        stmt.execute(args).map_err(|e| self.err(e))
    }

    /// The swap at the end of a model switch, inside one transaction: `new` becomes the
    /// active model, the target is cleared, and `old`'s cached embeddings are dropped.
    pub fn promote_model(&self, old: &str, new: &str) -> Result<()> {
        self.exec(
            "INSERT INTO model_state (role, model_id, since) VALUES ('active', ?1, ?2)
             ON CONFLICT(role) DO UPDATE SET model_id = ?1, since = ?2",
            &[&new, &now()],
        )?;
        self.exec("DELETE FROM model_state WHERE role = 'target'", &[])?;
        self.exec("DELETE FROM embeddings WHERE model_id = ?1", &[&old])?;
        Ok(())
    }

    pub fn bump_generation(&self) -> Result<()> {
        self.exec(
            "INSERT INTO state (key, value) VALUES ('generation', 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            params![],
        )
        .map(|_| ())
    }

    fn file_ids_of_repo(&self, repo_id: i64) -> Result<Vec<i64>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id FROM files WHERE repo_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![repo_id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Deletes a file's chunks (and their FTS rows) but keeps the file row; returns the ids.
    pub fn delete_chunks_of_file(&self, file_id: i64) -> Result<Vec<i64>> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT id FROM chunks WHERE file_id = ?1")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(params![file_id], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        for id in &ids {
            self.exec("DELETE FROM chunks_fts WHERE rowid = ?1", params![id])?;
        }
        self.exec("DELETE FROM chunks WHERE file_id = ?1", params![file_id])?;
        Ok(ids)
    }

    /// Deletes a file and its chunks; returns the removed chunk ids.
    pub fn delete_file(&self, file_id: i64) -> Result<Vec<i64>> {
        let ids = self.delete_chunks_of_file(file_id)?;
        self.exec("DELETE FROM files WHERE id = ?1", params![file_id])?;
        Ok(ids)
    }

    /// Inserts or updates a file row and returns its id.
    pub fn upsert_file(
        &self,
        repo_id: i64,
        path: &str,
        language: &str,
        size: i64,
        mtime_ns: i64,
        hash: &[u8],
    ) -> Result<i64> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO files (repo_id, path, language, size, mtime_ns, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (repo_id, path) DO UPDATE SET
                   language = excluded.language, size = excluded.size,
                   mtime_ns = excluded.mtime_ns, hash = excluded.hash
                 RETURNING id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_row(
            params![repo_id, path, language, size, mtime_ns, hash],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }

    /// Records a new mtime/size for a file whose content hash did not change.
    pub fn touch_file(&self, file_id: i64, size: i64, mtime_ns: i64) -> Result<()> {
        self.exec(
            "UPDATE files SET size = ?2, mtime_ns = ?3 WHERE id = ?1",
            params![file_id, size, mtime_ns],
        )
        .map(|_| ())
    }

    /// Inserts chunks of a file (and their FTS rows); returns the new ids in order.
    pub fn insert_chunks(
        &self,
        file_id: i64,
        path_tokens: &str,
        chunks: &[NewChunk],
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let mut stmt = self
                .tx
                .prepare_cached(
                    "INSERT INTO chunks (file_id, start_line, end_line, symbol, kind, content_hash, text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                )
                .map_err(|e| self.err(e))?;
            let id: i64 = stmt
                .query_row(
                    params![
                        file_id,
                        chunk.start_line,
                        chunk.end_line,
                        chunk.symbol,
                        chunk.kind,
                        chunk.content_hash,
                        pack(&chunk.text)
                    ],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            self.exec(
                "INSERT INTO chunks_fts (rowid, symbol, path, body) VALUES (?1, ?2, ?3, ?4)",
                params![id, chunk.symbol_tokens, path_tokens, chunk.body_tokens],
            )?;
            ids.push(id);
        }
        Ok(ids)
    }

    pub fn set_skipped(&self, repo_id: i64, path: &str, reason: &str, detail: &str) -> Result<()> {
        self.exec(
            "INSERT INTO skipped (repo_id, path, reason, detail) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (repo_id, path) DO UPDATE SET reason = excluded.reason,
               detail = excluded.detail",
            params![repo_id, path, reason, detail],
        )
        .map(|_| ())
    }

    pub fn clear_skipped(&self, repo_id: i64) -> Result<()> {
        self.exec("DELETE FROM skipped WHERE repo_id = ?1", params![repo_id])
            .map(|_| ())
    }

    pub fn insert_embedding(&self, model_id: &str, hash: &[u8], vector: &[u8]) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO embeddings (model_id, content_hash, vector) VALUES (?1, ?2, ?3)",
            params![model_id, hash, vector],
        )
        .map(|_| ())
    }
}

/// Deflates a chunk text for storage.
pub fn pack(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// Inflates a stored chunk text. A damaged blob yields the replacement character rather
/// than an error: one unreadable snippet must not fail a whole search.
pub fn unpack(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    if flate2::read::DeflateDecoder::new(bytes)
        .read_to_string(&mut text)
        .is_err()
    {
        return "\u{fffd}".to_string();
    }
    text
}

/// What to do about a database file SQLite cannot read. Ferret never overwrites it: the
/// user decides (a backup may exist); everything in it can be rebuilt from the repositories.
const DAMAGED: &str = "the file is not a valid Ferret database (damaged or overwritten); \
    Ferret leaves it untouched. Move it aside (for example `mv meta.sqlite meta.sqlite.bad` \
    in that directory), then add your repositories again (`ferret repo add`) and run \
    `ferret index` to rebuild the index from them";

pub(crate) fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some((f.code, f.extended_code)),
        _ => None,
    };
    // SQLite reports ENOSPC on the database or its WAL as SQLITE_FULL, and a full disk
    // while growing the shared-memory index as SQLITE_IOERR_SHMSIZE.
    if let Some((code, extended)) = code {
        if code == ErrorCode::DiskFull || extended == rusqlite::ffi::SQLITE_IOERR_SHMSIZE {
            return Error::DiskFull {
                what: format!("cannot write {}", path.display()),
                source: Some(Box::new(e)),
            };
        }
    }
    let (kind, message) = match code {
        Some((ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt, _)) => {
            (ErrorKind::Corrupt, format!("{DAMAGED} ({e})"))
        }
        Some((ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _)) => (
            ErrorKind::Busy,
            format!("{e}: another Ferret process is writing to it; try again in a moment"),
        ),
        _ => (ErrorKind::Io, e.to_string()),
    };
    Error::Database {
        path: path.to_path_buf(),
        message,
        kind,
        source: Some(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str, hash: u8) -> NewChunk {
        NewChunk {
            start_line: 1,
            end_line: 1,
            symbol: Some("main".into()),
            kind: "function".into(),
            content_hash: vec![hash; 16],
            text: text.into(),
            body_tokens: text.into(),
            symbol_tokens: "main".into(),
        }
    }

    #[test]
    fn migrations_files_chunks_and_fts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite");
        let mut store = Store::open(&path).unwrap();
        let repo = store.add_repo("demo", dir.path(), "local").unwrap();
        assert!(store
            .add_repo("demo", Path::new("/elsewhere"), "local")
            .is_err());
        let ids = store
            .transaction(|tx| {
                let file = tx.upsert_file(repo.id, "src/main.rs", "rust", 10, 1, b"h")?;
                tx.bump_generation()?;
                tx.insert_chunks(
                    file,
                    "src main rs",
                    &[chunk("hello world", 1), chunk("hello again", 1)],
                )
            })
            .unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(store.generation().unwrap(), 1);
        let hits = store
            .count("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'hello'")
            .unwrap();
        assert_eq!(hits, 2);
        // Duplicate texts wait for one embedding, not two.
        assert_eq!(store.pending_embedding_count("m", None).unwrap(), 1);
        store
            .transaction(|tx| tx.insert_embedding("m", &[1; 16], &[1, 2, 3]))
            .unwrap();
        assert_eq!(store.pending_embedding_count("m", None).unwrap(), 0);
        assert_eq!(store.embedded_chunk_count("m").unwrap(), 2);

        drop(store);
        let mut store = Store::open(&path).unwrap(); // re-open: migrations are idempotent
        let removed = store.remove_repo(repo.id).unwrap();
        assert_eq!(removed.len(), 2);
        let hits = store
            .count("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'hello'")
            .unwrap();
        assert_eq!(hits, 0);
        assert_eq!(store.count("SELECT COUNT(*) FROM chunks").unwrap(), 0);
    }

    #[test]
    fn chunk_texts_are_stored_deflated() {
        let text = "fn main() {\n    println!(\"héllo\");\n}\n".repeat(20);
        let packed = pack(&text);
        assert!(
            packed.len() * 3 < text.len(),
            "{} vs {}",
            packed.len(),
            text.len()
        );
        assert_eq!(unpack(&packed), text);
        assert_eq!(unpack(b"garbage"), "\u{fffd}");
    }

    #[test]
    fn corrupt_database_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite");
        let garbage = vec![0x42u8; 8192];
        std::fs::write(&path, &garbage).unwrap();
        let err = Store::open(&path).err().expect("must fail").to_string();
        assert!(
            err.contains("meta.sqlite")
                && err.contains("Move it aside")
                && err.contains("ferret index"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }
}
