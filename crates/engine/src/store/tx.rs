//! Writes that must land together, inside one transaction.

use rusqlite::params;

use super::*;

/// The operations that must happen inside a transaction.
pub struct Tx<'a> {
    pub(super) tx: &'a rusqlite::Transaction<'a>,
    pub(super) path: &'a Path,
}

impl Tx<'_> {
    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(self.path, e)
    }

    pub(super) fn exec(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize> {
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

    pub(super) fn file_ids_of_repo(&self, repo_id: i64) -> Result<Vec<i64>> {
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
                    "INSERT INTO chunks (file_id, start_line, end_line, symbol, kind, content_hash,
                                         text, start_byte, byte_len)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, x'', ?7, ?8) RETURNING id",
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
                        chunk.start_byte as i64,
                        chunk.byte_len
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
