//! The audit log and the usage counters.
use rusqlite::{params, OptionalExtension};

use super::*;

impl Store {
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
        self.query_all("SELECT at, event, detail FROM audit ORDER BY id", [], |r| {
            Ok(AuditRow {
                at: r.get(0)?,
                event: r.get(1)?,
                detail: r.get(2)?,
            })
        })
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
}
