//! `ferret stats`: what a profile holds and what it costs on disk.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::vectors::VectorIndex;
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
    pub vector_index_bytes: u64,
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
}
