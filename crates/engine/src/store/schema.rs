//! The schema of `meta.sqlite`, as numbered migrations, and the migration runner every
//! Ferret database shares.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::Connection;

use super::db_error;
use crate::error::ErrorKind;
use crate::{Error, Result};

/// Each entry upgrades the schema by one version; never edit a released entry, add one.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // built beside it after a switch. No 'active' row means the default model
    // (`models::DEFAULT_MODEL`; see 8).
    r#"
    CREATE TABLE model_state (
        role TEXT PRIMARY KEY CHECK (role IN ('active', 'target')),
        model_id TEXT NOT NULL,
        since INTEGER NOT NULL
    );
    "#,
    // 6: chunk ids are never reused (AUTOINCREMENT): a vector file a crash left behind
    // SQLite must not pair an old chunk's vector with a new chunk that got its id. The
    // table is rebuilt with the same ids, so the FTS rowids and vector keys stay valid.
    r#"
    CREATE TABLE chunks_v6 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        symbol TEXT,
        kind TEXT NOT NULL,
        content_hash BLOB NOT NULL,
        text BLOB NOT NULL
    );
    INSERT INTO chunks_v6 (id, file_id, start_line, end_line, symbol, kind, content_hash, text)
        SELECT id, file_id, start_line, end_line, symbol, kind, content_hash, text FROM chunks;
    DROP TABLE chunks;
    ALTER TABLE chunks_v6 RENAME TO chunks;
    CREATE INDEX chunks_by_file ON chunks(file_id);
    CREATE INDEX chunks_by_hash ON chunks(content_hash);
    "#,
    // 7: chunk texts leave the database (see `TextLocation`): new chunks store their byte
    // range in the file and an empty `text`; older rows keep theirs until re-indexed.
    r#"
    ALTER TABLE chunks ADD COLUMN start_byte INTEGER;
    ALTER TABLE chunks ADD COLUMN byte_len INTEGER;
    "#,
    // 8: the default model became the int8-arithmetic version of the same weights. A
    // profile with vectors of the original default and no recorded choice keeps searching
    // with them: re-embedding is the user's call (`ferret model use`), not an upgrade's.
    r#"
    INSERT INTO model_state (role, model_id, since)
        SELECT 'active', 'all-minilm-l6-v2-int8', CAST(strftime('%s', 'now') AS INTEGER)
        WHERE NOT EXISTS (SELECT 1 FROM model_state WHERE role = 'active')
          AND EXISTS (SELECT 1 FROM embeddings WHERE model_id = 'all-minilm-l6-v2-int8');
    "#,
    // 9: local repositories of an imported profile wait for the user to confirm their
    // folder (a backup names any path it likes): not watched, indexed or read until then.
    r#"
    ALTER TABLE repos ADD COLUMN needs_confirmation INTEGER NOT NULL DEFAULT 0;
    "#,
];

/// Brings a database's schema up to date: each entry of `migrations` upgrades it by one
/// version (`PRAGMA user_version`), in its own transaction. Shared by every Ferret database.
///
/// A database from a newer Ferret (a higher version than `migrations` knows) is refused
/// with [`ErrorKind::Refused`] and left as it is. A database with data in an older schema is
/// first copied to `<file>.v<old>.bak` (a consistent `VACUUM INTO` copy, fsynced); the copy
/// is deleted once the last migration has committed, and kept, named in the error, when one
/// fails (the migrations before it stay committed: each is one transaction).
pub(crate) fn migrate(conn: &Connection, path: &Path, migrations: &[&str]) -> Result<()> {
    let err = |e| db_error(path, e);
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let latest = migrations.len();
    if version > latest {
        return Err(Error::Database {
            path: path.to_path_buf(),
            kind: ErrorKind::Refused,
            source: None,
            message: format!(
                "schema version {version} was written by a newer Ferret than this one, which \
                 understands up to version {latest}; upgrade Ferret (the file is left as it is)"
            ),
        });
    }
    if version == latest {
        return Ok(());
    }
    let started = Instant::now();
    // Version 0 is a new, empty database: nothing to keep.
    let backup = if version > 0 {
        Some(backup_before_migration(conn, path, version)?)
    } else {
        None
    };
    for (i, sql) in migrations.iter().enumerate().skip(version) {
        let step = || -> Result<()> {
            let tx = conn.unchecked_transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", i + 1).map_err(err)?;
            tx.commit().map_err(err)
        };
        if let Err(e) = step() {
            return Err(match &backup {
                Some(backup) => naming_backup(e, version, i + 1, backup),
                None => e,
            });
        }
    }
    if let Some(backup) = &backup {
        if let Err(e) = std::fs::remove_file(backup) {
            log::warn!("cannot remove {} ({e})", backup.display());
        }
    }
    log::info!(
        "{}: schema migrated from version {version} to {latest} in {} ms",
        path.display(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// The copy of the database kept while it migrates from `version`: `<file>.v<version>.bak`,
/// or `<file>.v<version>.<n>.bak` when a failed earlier attempt left that one (kept: it may
/// be the only copy someone has).
fn backup_path(path: &Path, version: usize) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    let mut candidate = path.with_file_name(format!("{name}.v{version}.bak"));
    let mut n = 1;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.v{version}.{n}.bak"));
        n += 1;
    }
    candidate
}

/// Copies the database (with whatever its WAL holds) to its backup path, owner-only and
/// fsynced, before any migration touches it.
fn backup_before_migration(conn: &Connection, path: &Path, version: usize) -> Result<PathBuf> {
    let backup = backup_path(path, version);
    let copied = conn
        .execute("VACUUM INTO ?1", [backup.to_string_lossy()])
        .map_err(|e| db_error(&backup, e))
        .and_then(|_| {
            let file = std::fs::File::open(&backup)
                .map_err(|e| Error::io(format!("cannot open {}", backup.display()), e))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| Error::io(format!("cannot protect {}", backup.display()), e))?;
            }
            file.sync_all()
                .map_err(|e| Error::io(format!("cannot sync {}", backup.display()), e))?;
            if let Some(dir) = backup.parent() {
                if let Ok(dir) = std::fs::File::open(dir) {
                    let _ = dir.sync_all();
                }
            }
            Ok(())
        });
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&backup);
        return Err(e);
    }
    Ok(backup)
}

/// `e` (a failed migration to version `failed_at`) with where the database as it was
/// before the migration is kept.
fn naming_backup(e: Error, from: usize, failed_at: usize, backup: &Path) -> Error {
    let note = format!(
        "upgrading the schema from version {from} failed at version {failed_at}; the \
         database as it was before is kept as {}",
        backup.display()
    );
    match e {
        Error::Database {
            path,
            message,
            kind,
            source,
        } => Error::Database {
            path,
            message: format!("{message} ({note})"),
            kind,
            source,
        },
        Error::DiskFull { what, source } => Error::DiskFull {
            what: format!("{what}; {note}"),
            source,
        },
        other => other,
    }
}
