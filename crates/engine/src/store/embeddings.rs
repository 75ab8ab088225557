//! Chunks waiting for vectors, stored embeddings per model version, and model state.
use rusqlite::{params, OptionalExtension};

use super::*;

impl Store {
    /// One chunk id per distinct text that has no embedding for `model_id` yet (duplicates
    /// share the embedding), shortest text first: embedding in this order puts texts of
    /// similar length in the same batch, so little compute goes to padding. (A chunk from
    /// before schema 7 has only its deflated length, about a third of the text's.)
    pub fn pending_embedding_ids(&self, model_id: &str, repo_id: Option<i64>) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT MIN(c.id), MAX(COALESCE(c.byte_len, 3 * length(c.text)))
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

    /// Where to read the texts to embed for the given chunk ids, in the same order (missing
    /// ids, deleted since, are left out).
    pub fn pending_chunks(&self, ids: &[i64]) -> Result<Vec<PendingChunk>> {
        let json = serde_json::to_string(ids).expect("ids serialize");
        self.query_all(
            &format!(
                "SELECT c.content_hash, c.text, f.path, c.symbol, c.kind, {READABLE_ROOT},
                        c.start_byte, c.byte_len
                 FROM json_each(?1) j JOIN chunks c ON c.id = j.value
                 JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = f.repo_id
                 ORDER BY j.key"
            ),
            params![json],
            |r| {
                let path: String = r.get(2)?;
                let root: Option<String> = r.get(5)?;
                Ok(PendingChunk {
                    content_hash: r.get(0)?,
                    location: TextLocation::from_columns(
                        root.as_deref(),
                        &path,
                        r.get(1)?,
                        r.get(6)?,
                        r.get(7)?,
                    ),
                    path,
                    symbol: r.get(3)?,
                    kind: r.get(4)?,
                })
            },
        )
    }

    /// The stored vectors of the given chunks (those that have one).
    pub fn vectors_for_chunks(&self, model_id: &str, ids: &[i64]) -> Result<Vec<(i64, Vec<u8>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(ids).expect("ids serialize");
        self.query_all(
            "SELECT c.id, e.vector FROM chunks c
                 JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash
                 WHERE c.id IN (SELECT value FROM json_each(?2))",
            params![model_id, json],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
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

    /// Whether any text has an embedding for `model_id` (a semantic search needs the model).
    pub fn has_embeddings(&self, model_id: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM embeddings WHERE model_id = ?1)",
                params![model_id],
                |r| r.get(0),
            )
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
        self.query_all(
            "SELECT id FROM chunks WHERE content_hash = ?1",
            params![hash],
            |r| r.get(0),
        )
    }

    /// Distinct texts embedded for `model_id`: read from the primary key alone, a cheap
    /// lower bound on the rows the vector index will hold (room to reserve before loading).
    pub fn embedding_count(&self, model_id: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM embeddings WHERE model_id = ?1",
                params![model_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
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
}
