//! `ferret stats`: what a profile holds and what it costs on disk.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::Result;

use super::model_versions::active_model;
use super::Engine;

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
    pub bytes_on_disk: u64,
}

impl Engine {
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
            bytes_on_disk: database_bytes,
        })
    }
}

/// Where a profile's bytes go (`ferret stats`), so a user can see what an index costs and
/// which part to blame: the database by role, and the snapshots.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DiskBreakdown {
    /// Chunk rows (line and byte ranges, symbols, hashes) and their indexes. The texts are
    /// read from the files, not stored; rows written before schema 7 still hold theirs.
    pub chunks: u64,
    /// The full-text (FTS5) index.
    pub fts: u64,
    /// Embeddings stored in SQLite: the only stored copy of each vector (the vector index
    /// is built from it in memory).
    pub embeddings: u64,
    /// Repositories, files, jobs, skip log, audit log and SQLite's own bookkeeping.
    pub metadata: u64,
    /// Pages SQLite holds free for reuse, and the write-ahead log.
    pub free_and_wal: u64,
    /// Daily snapshots of the database (`snapshots_kept` in the config).
    pub snapshots: u64,
    /// All of the above.
    pub total: u64,
    /// The indexed files' size, to compare with.
    pub source: u64,
}

/// Which part of [`DiskBreakdown`] a table or index of `meta.sqlite` belongs to.
fn part_of(name: &str) -> &'static str {
    match name {
        n if n.starts_with("chunks_fts") => "fts",
        "chunks" | "chunks_by_file" | "chunks_by_hash" => "chunks",
        n if n.starts_with("sqlite_autoindex_chunks") => "chunks",
        "embeddings" => "embeddings",
        n if n.starts_with("sqlite_autoindex_embeddings") => "embeddings",
        _ => "metadata",
    }
}

impl Engine {
    /// Where the profile's bytes go. Reads every page of the database (SQLite's `dbstat`),
    /// so it is a separate call from [`Engine::stats`]: about a second per GiB.
    pub fn disk_breakdown(&self) -> Result<DiskBreakdown> {
        let store = self.store();
        let pages: Vec<(String, i64, i64)> = store.query_all(
            "SELECT name, SUM(pgsize), SUM(unused) FROM dbstat GROUP BY name",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut parts = DiskBreakdown::default();
        for (name, bytes, _unused) in &pages {
            let bytes = *bytes as u64;
            match part_of(name) {
                "fts" => parts.fts += bytes,
                "chunks" => parts.chunks += bytes,
                "embeddings" => parts.embeddings += bytes,
                _ => parts.metadata += bytes,
            }
        }
        let file_len = |suffix: &str| {
            let mut p = self.paths.meta_db().into_os_string();
            p.push(suffix);
            std::fs::metadata(p).map_or(0, |m| m.len())
        };
        let counted = parts.chunks + parts.fts + parts.embeddings + parts.metadata;
        parts.free_and_wal =
            file_len("").saturating_sub(counted) + file_len("-wal") + file_len("-shm");
        parts.snapshots = crate::profiles::limits::dir_bytes(&self.paths.snapshots_dir());
        parts.total = counted + parts.free_and_wal + parts.snapshots;
        parts.source = store.count("SELECT COALESCE(SUM(size), 0) FROM files")? as u64;
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::part_of;

    #[test]
    fn every_table_of_the_schema_lands_in_a_part() {
        assert_eq!(part_of("chunks_fts_data"), "fts");
        assert_eq!(part_of("chunks_fts_idx"), "fts");
        assert_eq!(part_of("chunks"), "chunks");
        assert_eq!(part_of("chunks_by_hash"), "chunks");
        assert_eq!(part_of("embeddings"), "embeddings");
        assert_eq!(part_of("files"), "metadata");
        assert_eq!(part_of("sqlite_schema"), "metadata");
    }
}
