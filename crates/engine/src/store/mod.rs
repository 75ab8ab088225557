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

mod audit;
mod codec;
mod embeddings;
mod repos;
mod schema;
mod tx;

#[cfg(test)]
pub use codec::pack;
pub use codec::unpack;
pub(crate) use schema::migrate;
use schema::MIGRATIONS;
pub use tx::Tx;

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
    /// A local repository that came in with an imported profile: its folder is not
    /// watched, indexed or read until the user confirms it (`ferret repo confirm`), since
    /// a backup file can name any folder on this machine.
    pub needs_confirmation: bool,
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
    /// Where the chunk's text is in its file, in bytes (the text itself is not stored: see
    /// [`TextLocation`]).
    pub start_byte: u64,
    pub byte_len: u32,
    /// Code-aware token text of the body, for FTS.
    pub body_tokens: String,
    /// Token text of the symbol, for FTS (weighted above the body).
    pub symbol_tokens: String,
}

/// Where a chunk's text can be read.
///
/// The database does not keep chunk texts (they were 0.7x the source size even deflated):
/// a chunk records its byte range in the file, and its text is read back from the working
/// copy and checked against the chunk's content hash (`pipeline::source`). A file edited
/// since it was indexed therefore yields no text, never the wrong text, until it is
/// indexed again. Chunks written by Ferret before schema version 7 still carry their text,
/// deflated, until their file is next re-indexed.
#[derive(Debug, Clone)]
pub enum TextLocation {
    File {
        file: PathBuf,
        start_byte: u64,
        byte_len: u32,
    },
    Inline(Vec<u8>),
    /// Not read: the repository waits for the user to confirm its folder (see
    /// [`RepoRow::needs_confirmation`]), or the row's path is not a plain relative path
    /// inside it. The text counts as changed since indexing.
    Withheld,
}

impl TextLocation {
    /// From a row's `text`, `start_byte` and `byte_len` columns; `root` is `None` while the
    /// repository's folder waits for confirmation (the queries select it that way).
    fn from_columns(
        root: Option<&str>,
        path: &str,
        text: Vec<u8>,
        start_byte: Option<i64>,
        byte_len: Option<i64>,
    ) -> TextLocation {
        match (start_byte, byte_len) {
            (Some(start), Some(len)) if text.is_empty() => {
                // Rows come from the profile's database, which an import fills from a file
                // anyone could have written: `..` or an absolute path must not reach
                // outside the repository.
                match root {
                    Some(root) if is_plain_relative(path) => TextLocation::File {
                        file: Path::new(root).join(path),
                        start_byte: start.max(0) as u64,
                        byte_len: len.clamp(0, u32::MAX as i64) as u32,
                    },
                    _ => TextLocation::Withheld,
                }
            }
            _ => TextLocation::Inline(text),
        }
    }

    /// The text's length in bytes, as indexed; `u32::MAX` when it is withheld.
    pub fn text_len(&self) -> u32 {
        match self {
            TextLocation::File { byte_len, .. } => *byte_len,
            TextLocation::Inline(text) => text.len().min(u32::MAX as usize) as u32,
            TextLocation::Withheld => u32::MAX,
        }
    }
}

/// Whether `path` (a file's path as stored) is relative and stays inside its repository:
/// not empty, not absolute, no `..`.
pub(crate) fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The `repos.root` of a repository whose files may be read, else NULL: a query's column
/// for [`TextLocation::from_columns`].
pub(crate) const READABLE_ROOT: &str = "CASE WHEN r.needs_confirmation = 0 THEN r.root END";

/// A chunk text waiting for its embedding.
#[derive(Debug, Clone)]
pub struct PendingChunk {
    pub content_hash: Vec<u8>,
    pub location: TextLocation,
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
    pub content_hash: Vec<u8>,
    pub location: TextLocation,
}

/// An open database connection. Cheap to open; each thread that needs one opens its own.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// The unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// A consistent copy of the whole database in a new file at `dest` (`VACUUM INTO`):
    /// readers and a concurrent indexer go on meanwhile.
    pub fn vacuum_into(&self, dest: &Path) -> Result<()> {
        self.conn
            .execute("VACUUM INTO ?1", [dest.to_string_lossy()])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every row of `sql` with `params`, through `map` (see [`query_all`]).
    pub(crate) fn query_all<T, C: FromIterator<T>, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<C> {
        query_all(&self.conn, &self.path, sql, params, map)
    }

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

    /// Opens a database that came from outside (a profile archive being imported): with
    /// SQLite's defensive mode on and schema-embedded SQL untrusted, it must pass a full
    /// `PRAGMA integrity_check` (pages, indexes, constraints) and hold exactly the tables,
    /// indexes and triggers this build's migrations create at its version, nothing more: a
    /// trigger or view smuggled in would run its SQL at every later write. Only then is it
    /// migrated to the current schema. A failure is [`ErrorKind::Corrupt`] or
    /// [`ErrorKind::Refused`] and names what is wrong.
    pub fn open_untrusted(path: &Path) -> Result<Self> {
        use rusqlite::config::DbConfig;
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(path, e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(|e| store.err(e))?;
        store
            .conn
            .pragma_update(None, "trusted_schema", false)
            .map_err(|e| store.err(e))?;
        store.check(CheckDepth::Full)?;
        let version: usize = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| store.err(e))?;
        // A newer version is refused by `migrate` with its own message.
        if version <= MIGRATIONS.len() {
            store.check_schema(version)?;
        }
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Refuses a schema other than the one [`MIGRATIONS`] create up to `version`.
    fn check_schema(&self, version: usize) -> Result<()> {
        let expected = Connection::open_in_memory()
            .and_then(|fresh| {
                for sql in &MIGRATIONS[..version] {
                    fresh.execute_batch(sql)?;
                }
                schema_objects(&fresh)
            })
            .map_err(|e| self.err(e))?;
        let found = schema_objects(&self.conn).map_err(|e| self.err(e))?;
        let foreign: Vec<String> = found
            .iter()
            .filter(|o| !expected.contains(o))
            .map(|(kind, name, _)| format!("{kind} {name:?}"))
            .collect();
        let missing: Vec<String> = expected
            .iter()
            .filter(|o| !found.contains(o))
            .map(|(kind, name, _)| format!("{kind} {name:?}"))
            .collect();
        if foreign.is_empty() && missing.is_empty() {
            return Ok(());
        }
        let mut what = Vec::new();
        if !foreign.is_empty() {
            what.push(format!("unexpected or altered {}", foreign.join(", ")));
        }
        if !missing.is_empty() {
            what.push(format!("missing {}", missing.join(", ")));
        }
        Err(Error::Database {
            path: self.path.clone(),
            kind: ErrorKind::Refused,
            source: None,
            message: format!(
                "its schema is not one Ferret creates at version {version} ({}); Ferret does \
                 not use it",
                what.join("; ")
            ),
        })
    }

    /// Reads every page of the database (`PRAGMA quick_check`): a file damaged anywhere is
    /// reported now, with the recovery step, instead of failing some later search or index
    /// run halfway. Read-only; the file is never changed.
    pub fn check_integrity(&self) -> Result<()> {
        self.check(CheckDepth::Quick)
    }

    fn check(&self, depth: CheckDepth) -> Result<()> {
        let pragma = match depth {
            CheckDepth::Quick => "PRAGMA quick_check(5)",
            CheckDepth::Full => "PRAGMA integrity_check(5)",
        };
        let mut stmt = self.conn.prepare(pragma).map_err(|e| self.err(e))?;
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

    /// Ids of chunks whose symbol column holds one of `tokens` (index tokens: lowercase,
    /// `[a-z0-9_]`, an identifier's joined form such as `httpadapter`; see
    /// [`crate::pipeline::tokens`]), at most `limit`. The ranking stage reads these to find
    /// the definition of a name neither ranking retrieved.
    pub fn chunks_with_symbol_token(&self, tokens: &[String], limit: usize) -> Result<Vec<i64>> {
        let quoted: Vec<String> = tokens
            .iter()
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .map(|t| format!("\"{t}\""))
            .collect();
        if quoted.is_empty() {
            return Ok(Vec::new());
        }
        self.query_all(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 LIMIT ?2",
            params![format!("symbol : ({})", quoted.join(" OR ")), limit as i64],
            |r| r.get(0),
        )
    }

    /// For each chunk id, the first chunk (lowest start line) of the same file with the same
    /// symbol: the beginning of the definition a fragment belongs to (a class's header and
    /// doc comment rather than its closing `end`, a `struct` rather than a one-line
    /// `impl X {`). Pairs `(given id, first id)`; chunks without a symbol are left out.
    pub fn first_chunks_of_symbols(&self, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(ids).expect("ids serialize");
        self.query_all(
            "SELECT c.id, (SELECT f.id FROM chunks f
                           WHERE f.file_id = c.file_id AND f.symbol = c.symbol
                           ORDER BY f.start_line, f.id LIMIT 1)
             FROM json_each(?1) g JOIN chunks c ON c.id = g.value
             WHERE c.symbol IS NOT NULL",
            params![json],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Which of `wanted` (repository name, path) are indexed files.
    pub fn existing_files(&self, wanted: &[(String, String)]) -> Result<Vec<(String, String)>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(wanted).expect("pairs serialize");
        self.query_all(
            "SELECT r.name, f.path FROM json_each(?1) j
             JOIN repos r ON r.name = json_extract(j.value, '$[0]')
             JOIN files f ON f.repo_id = r.id AND f.path = json_extract(j.value, '$[1]')",
            params![json],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Chunks by id, with the repository and file they belong to.
    pub fn chunks_by_ids(&self, ids: &[i64]) -> Result<Vec<ChunkRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(ids).expect("ids serialize");
        self.query_all(
            &format!(
                "SELECT c.id, r.name, f.path, f.language, c.start_line, c.end_line, c.symbol,
                        c.kind, c.content_hash, c.text, {READABLE_ROOT}, c.start_byte, c.byte_len
                 FROM chunks c JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = f.repo_id
                 WHERE c.id IN (SELECT value FROM json_each(?1))"
            ),
            params![json],
            |r| {
                let path: String = r.get(2)?;
                let root: Option<String> = r.get(10)?;
                Ok(ChunkRow {
                    id: r.get(0)?,
                    repo: r.get(1)?,
                    language: r.get(3)?,
                    start_line: r.get(4)?,
                    end_line: r.get(5)?,
                    symbol: r.get(6)?,
                    kind: r.get(7)?,
                    content_hash: r.get(8)?,
                    location: TextLocation::from_columns(
                        root.as_deref(),
                        &path,
                        r.get(9)?,
                        r.get(11)?,
                        r.get(12)?,
                    ),
                    path,
                })
            },
        )
    }

    /// A single integer from a query without parameters (stats).
    pub fn count(&self, sql: &str) -> Result<i64> {
        self.conn
            .query_row(sql, [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Skipped files per reason, over all repositories (or one).
    pub fn skipped_by_reason(&self, repo_id: Option<i64>) -> Result<Vec<(String, i64)>> {
        self.query_all(
            "SELECT reason, COUNT(*) FROM skipped WHERE (?1 IS NULL OR repo_id = ?1)
                 GROUP BY reason ORDER BY reason",
            params![repo_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}

/// How thoroughly [`Store::check`] reads a database.
enum CheckDepth {
    /// Every page (`quick_check`): fast enough for every open after a crash.
    Quick,
    /// Every page, and every index against its table (`integrity_check`): for a file from
    /// outside, once.
    Full,
}

/// Every table, index, trigger and view of `conn` as (type, name, SQL), sorted; SQLite's
/// statistics tables are left out (`ANALYZE` may add them to any database).
fn schema_objects(conn: &Connection) -> rusqlite::Result<Vec<(String, String, Option<String>)>> {
    let mut stmt = conn.prepare(
        r"SELECT type, name, sql FROM sqlite_schema
          WHERE name NOT LIKE 'sqlite\_stat%' ESCAPE '\' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// What to do about a database file SQLite cannot read. Ferret never overwrites it: the
/// user decides (a backup may exist); everything in it can be rebuilt from the repositories.
const DAMAGED: &str = "the file is not a valid Ferret database (damaged or overwritten); \
    Ferret leaves it untouched. Move it aside (for example `mv meta.sqlite meta.sqlite.bad` \
    in that directory), then add your repositories again (`ferret repo add`) and run \
    `ferret index` to rebuild the index from them";

/// Runs `sql` (a cached statement) with `params` and collects every row through `map`;
/// a failure names the database. Shared by the profile's store and the registry.
pub(crate) fn query_all<T, C: FromIterator<T>, P: rusqlite::Params>(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: P,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<C> {
    let err = |e| db_error(path, e);
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let rows = stmt.query_map(params, map).map_err(err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(err)
}

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
mod tests;
