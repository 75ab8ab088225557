//! One indexing run: walk → read and hash → chunk → SQLite/FTS (phase 1, lexical), then
//! embed what has no vector yet → vector index (phase 2, semantic).
//!
//! Phase 1 commits every batch of files, so lexical search works within seconds and an
//! interrupted run keeps what it did; the next run skips files whose size and mtime are
//! unchanged (and, when those moved, files whose content hash is unchanged). Phase 2 embeds
//! each distinct chunk text once per profile — the embedding cache is keyed by model id and
//! content hash — so unchanged or duplicated code is never embedded twice.
//!
//! The in-memory vector index mirrors SQLite after every committed batch (removed chunks
//! dropped, new chunks whose text already has an embedding added), so it can be saved at any
//! point between batches with the store's current generation and be exactly right.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::pipeline::chunk::{self, ChunkLimits};
use crate::pipeline::embed::Embedder;
use crate::pipeline::walk::{self, SkipReason, Skipped, WalkOptions, WalkedFile};
use crate::pipeline::{source, tokens};
use crate::store::{FileRow, NewChunk, PendingChunk, RepoRow, Store};
use crate::vectors::{self, VectorIndex};
use crate::{Error, Result};

/// Files per phase-1 transaction: large enough to amortise commits, small enough that an
/// interruption loses little and lexical results appear early.
const FILE_BATCH: usize = 128;
/// Distinct chunk texts per phase-2 transaction (the embedder batches further inside).
const EMBED_BATCH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    #[default]
    Walking,
    Chunking,
    Embedding,
    /// Embedding every chunk for the model a switch is moving to (see `model`).
    Reembedding,
    Saving,
    Done,
}

/// A snapshot of an indexing run, sent to the progress callback.
#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Progress {
    pub phase: Phase,
    pub repo: String,
    /// `repo` is the run's `repo_index`-th repository (0-based) of `repos_total`, so a
    /// caller can show progress over all of them without counting repositories itself.
    pub repo_index: u64,
    pub repos_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub chunks_written: u64,
    pub embeddings_done: u64,
    pub embeddings_total: u64,
    pub elapsed_secs: f64,
    /// The model being embedded for, while re-embedding after a model switch.
    pub model: Option<String>,
}

/// What a run did, for the CLI summary and the bench.
#[derive(Debug, Clone, Serialize, Default)]
pub struct IndexReport {
    pub repos: u64,
    pub files_seen: u64,
    pub files_changed: u64,
    pub files_unchanged: u64,
    pub files_removed: u64,
    pub files_skipped: u64,
    pub chunks_written: u64,
    pub chunks_removed: u64,
    pub embeddings_computed: u64,
    pub interrupted: bool,
    pub lexical_secs: f64,
    pub embed_secs: f64,
    pub total_secs: f64,
}

/// Knobs of a run.
pub struct RunOptions<'a> {
    pub walk: WalkOptions,
    pub limits: ChunkLimits,
    /// Threads for reading and chunking (embedding threads are the embedder's own).
    pub threads: usize,
    /// Set from another thread (Ctrl-C) to stop after the current batch.
    pub cancel: &'a AtomicBool,
    /// Skip phase 2 (lexical-only run).
    pub skip_embeddings: bool,
    /// The profile's chunk limit and its name: the run stops with [`Error::Limit`] (keeping
    /// what it committed) when the profile would hold more chunks than this.
    pub max_chunks: Option<(u64, &'a str)>,
    pub progress: &'a (dyn Fn(&Progress) + Sync),
}

/// The text the model embeds for a chunk. The path and symbol give the model context the
/// body alone lacks (a method named `run` in `walk/parallel.rs`); the content hash is taken
/// over exactly this string, so the embedding cache can never serve a stale vector.
pub fn embedding_input(path: &str, kind: &str, symbol: Option<&str>, text: &str) -> String {
    format!("{}\n{text}", embedding_header(path, kind, symbol))
}

/// The first line of every window the model reads of a chunk: where it is and what it is.
pub fn embedding_header(path: &str, kind: &str, symbol: Option<&str>) -> String {
    match symbol {
        Some(symbol) => format!("{path} {kind} {symbol}"),
        None => path.to_string(),
    }
}

/// 16 bytes of blake3: collisions are out of reach at any realistic number of chunks.
pub fn content_hash(input: &str) -> Vec<u8> {
    blake3::hash(input.as_bytes()).as_bytes()[..16].to_vec()
}

/// The outcome of reading one changed file, computed off the writer thread.
enum Prepared {
    /// Same content as last time; only mtime/size moved.
    Touched {
        file_id: i64,
    },
    Changed {
        language: &'static str,
        hash: Vec<u8>,
        path_tokens: String,
        chunks: Vec<NewChunk>,
    },
    Skipped(SkipReason, String),
}

/// Indexes `repos` into `store`, keeping `vector_index` in step. Embedding uses `embedder`
/// unless the run is lexical-only.
pub fn run(
    store: &mut Store,
    repos: &[RepoRow],
    embedder: Option<&Embedder>,
    vector_index: &VectorIndex,
    model_id: &str,
    opts: &RunOptions<'_>,
) -> Result<IndexReport> {
    let started = Instant::now();
    let mut report = IndexReport {
        repos: repos.len() as u64,
        ..Default::default()
    };
    let mut progress = Progress {
        repos_total: repos.len() as u64,
        ..Progress::default()
    };
    for (index, repo) in repos.iter().enumerate() {
        progress.repo = repo.name.clone();
        progress.repo_index = index as u64;
        progress.phase = Phase::Walking;
        (opts.progress)(&progress);
        index_repo_lexical(
            store,
            repo,
            vector_index,
            model_id,
            opts,
            &mut report,
            &mut progress,
        )?;
        if opts.cancel.load(Ordering::Relaxed) {
            report.interrupted = true;
            break;
        }
        store.set_last_indexed(repo.id)?;
    }
    report.lexical_secs = started.elapsed().as_secs_f64();

    if !report.interrupted && !opts.skip_embeddings {
        let Some(embedder) = embedder else {
            return Err(Error::Model(
                "no embedder loaded for the semantic phase".into(),
            ));
        };
        let repo_filter = (repos.len() == 1).then(|| repos[0].id);
        let embed_started = Instant::now();
        embed_pending(
            store,
            embedder,
            vector_index,
            model_id,
            repo_filter,
            opts,
            &mut report,
            &mut progress,
        )?;
        report.embed_secs = embed_started.elapsed().as_secs_f64();
    }

    progress.phase = Phase::Saving;
    (opts.progress)(&progress);
    vector_index.mark_synced(store.generation()?);
    // Readers may hold the WAL open; a checkpoint that cannot finish is retried next run.
    if let Err(e) = store.checkpoint() {
        log::debug!("checkpoint skipped: {e}");
    }
    progress.phase = Phase::Done;
    progress.elapsed_secs = started.elapsed().as_secs_f64();
    (opts.progress)(&progress);
    report.total_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn index_repo_lexical(
    store: &mut Store,
    repo: &RepoRow,
    vector_index: &VectorIndex,
    model_id: &str,
    opts: &RunOptions<'_>,
    report: &mut IndexReport,
    progress: &mut Progress,
) -> Result<()> {
    let started = Instant::now();
    let walked = walk::walk_repo(&repo.root, &opts.walk)?;
    let existing = store.files_of_repo(repo.id)?;
    report.files_seen += walked.files.len() as u64;

    let mut skipped: Vec<Skipped> = walked.skipped;
    let mut seen: HashSet<&str> = HashSet::with_capacity(walked.files.len());
    let mut todo: Vec<(&WalkedFile, Option<&FileRow>)> = Vec::new();
    for file in &walked.files {
        seen.insert(file.rel_path.as_str());
        let previous = existing.get(&file.rel_path);
        match previous {
            Some(row) if row.size == file.size as i64 && row.mtime_ns == file.mtime_ns => {
                report.files_unchanged += 1;
            }
            _ => todo.push((file, previous)),
        }
    }

    progress.phase = Phase::Chunking;
    progress.files_total = todo.len() as u64;
    progress.files_done = 0;
    (opts.progress)(progress);

    for batch in todo.chunks(FILE_BATCH) {
        if opts.cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        let prepared =
            prepare_parallel(batch, &opts.limits, opts.walk.max_file_bytes, opts.threads);
        let mut batch_skips = Vec::new();
        let (removed, added) = store.transaction(|tx| {
            let mut removed = Vec::new();
            let mut added = Vec::new();
            for ((file, previous), prepared) in batch.iter().zip(prepared) {
                match prepared {
                    Prepared::Touched { file_id } => {
                        tx.touch_file(file_id, file.size as i64, file.mtime_ns)?;
                        report.files_unchanged += 1;
                    }
                    Prepared::Changed {
                        language,
                        hash,
                        path_tokens,
                        chunks,
                    } => {
                        let file_id = tx.upsert_file(
                            repo.id,
                            &file.rel_path,
                            language,
                            file.size as i64,
                            file.mtime_ns,
                            &hash,
                        )?;
                        if previous.is_some() {
                            removed.extend(tx.delete_chunks_of_file(file_id)?);
                        }
                        added.extend(tx.insert_chunks(file_id, &path_tokens, &chunks)?);
                        report.files_changed += 1;
                        report.chunks_written += chunks.len() as u64;
                    }
                    Prepared::Skipped(reason, detail) => {
                        if let Some(row) = previous {
                            removed.extend(tx.delete_file(row.id)?);
                        }
                        batch_skips.push(Skipped {
                            rel_path: file.rel_path.clone(),
                            reason,
                            detail,
                        });
                    }
                }
            }
            tx.bump_generation()?;
            Ok((removed, added))
        })?;
        skipped.extend(batch_skips);
        report.chunks_removed += removed.len() as u64;
        sync_vectors(store, vector_index, model_id, &removed, &added)?;
        if let Some((limit, profile)) = opts.max_chunks {
            let held = store.count("SELECT COUNT(*) FROM chunks")? as u64;
            if held > limit {
                vector_index.mark_synced(store.generation()?);
                return Err(Error::Limit(format!(
                    "profile {profile:?} reached its limit of {limit} chunks while indexing \
                     {} ({held} now; what was indexed so far is kept). Remove repositories \
                     or raise the limit (`ferret profile set {profile} --max-chunks N`)",
                    repo.name
                )));
            }
        }
        progress.files_done += batch.len() as u64;
        progress.chunks_written = report.chunks_written;
        progress.elapsed_secs = started.elapsed().as_secs_f64();
        (opts.progress)(progress);
    }

    // Files that vanished, or that are now skipped, leave the index; the skip log is
    // replaced by this run's.
    let vanished: Vec<i64> = existing
        .iter()
        .filter(|(path, _)| !seen.contains(path.as_str()))
        .map(|(_, row)| row.id)
        .collect();
    report.files_removed += vanished.len() as u64;
    report.files_skipped += skipped.len() as u64;
    let removed = store.transaction(|tx| {
        let mut removed = Vec::new();
        for file_id in &vanished {
            removed.extend(tx.delete_file(*file_id)?);
        }
        tx.clear_skipped(repo.id)?;
        for skip in &skipped {
            tx.set_skipped(repo.id, &skip.rel_path, skip.reason.name(), &skip.detail)?;
        }
        tx.bump_generation()?;
        Ok(removed)
    })?;
    report.chunks_removed += removed.len() as u64;
    sync_vectors(store, vector_index, model_id, &removed, &[])
}

/// Embeds, for `embedder`'s model, every chunk of the profile that has no vector for it
/// yet, into `vector_index` (that model's index), and saves it. This is the re-embed after
/// a model switch: it resumes where an interrupted one stopped (SQLite holds each committed
/// batch) and never touches the active model's vectors.
pub fn reembed(
    store: &mut Store,
    embedder: &Embedder,
    vector_index: &VectorIndex,
    opts: &RunOptions<'_>,
    report: &mut IndexReport,
) -> Result<()> {
    let started = Instant::now();
    let mut progress = Progress {
        model: Some(embedder.model_id().to_string()),
        ..Progress::default()
    };
    let computed_before = report.embeddings_computed;
    embed_pending(
        store,
        embedder,
        vector_index,
        embedder.model_id(),
        None,
        opts,
        report,
        &mut progress,
    )?;
    vector_index.mark_synced(store.generation()?);
    log::info!(
        "re-embedded {} chunks for {} in {:.1} s",
        report.embeddings_computed - computed_before,
        embedder.model_id(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Applies a committed batch to the vector index: drop removed chunks, add new chunks whose
/// text already has an embedding (moved or duplicated code costs no model time).
fn sync_vectors(
    store: &Store,
    vector_index: &VectorIndex,
    model_id: &str,
    removed: &[i64],
    added: &[i64],
) -> Result<()> {
    for id in removed {
        vector_index.remove(*id as u64);
    }
    let dims = vector_index.dims();
    for (id, vector) in store.vectors_for_chunks(model_id, added)? {
        // As in `rebuild_vectors`: a damaged row is left out, not allowed to fail the run.
        match stored_vector(&vector, dims, id) {
            Ok(vector) => vector_index.add(id as u64, &vector)?,
            Err(e) => log::warn!("{e}; left out of semantic search"),
        }
    }
    Ok(())
}

/// Reads, classifies, hashes and chunks a batch of files on `threads` threads, keeping order.
fn prepare_parallel(
    batch: &[(&WalkedFile, Option<&FileRow>)],
    limits: &ChunkLimits,
    max_bytes: u64,
    threads: usize,
) -> Vec<Prepared> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Prepared>> = (0..batch.len()).map(|_| None).collect();
    let slots: Vec<std::sync::Mutex<&mut Option<Prepared>>> =
        results.iter_mut().map(std::sync::Mutex::new).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, batch.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((file, previous)) = batch.get(i) else {
                    break;
                };
                let prepared = prepare_file(file, *previous, limits, max_bytes);
                if let Ok(mut slot) = slots[i].lock() {
                    **slot = Some(prepared);
                }
            });
        }
    });
    drop(slots);
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or(Prepared::Skipped(
                SkipReason::Unreadable,
                "not processed".into(),
            ))
        })
        .collect()
}

fn prepare_file(
    file: &WalkedFile,
    previous: Option<&FileRow>,
    limits: &ChunkLimits,
    max_bytes: u64,
) -> Prepared {
    let bytes = match walk::read_bounded(&file.abs_path, max_bytes) {
        Ok(bytes) => bytes,
        Err((reason, detail)) => return Prepared::Skipped(reason, detail),
    };
    let hash = blake3::hash(&bytes).as_bytes()[..16].to_vec();
    if let Some(row) = previous {
        if row.hash == hash {
            return Prepared::Touched { file_id: row.id };
        }
    }
    // Chunk offsets count from the text, which starts after a byte-order mark.
    let bom = if bytes.starts_with("\u{feff}".as_bytes()) {
        3
    } else {
        0
    };
    let text = match walk::classify_content(bytes) {
        Ok(text) => text,
        Err((reason, detail)) => return Prepared::Skipped(reason, detail),
    };
    let language = chunk::detect_language(&file.abs_path);
    let chunks = chunk::chunk_text(language, &text, limits)
        .into_iter()
        .map(|c| {
            let input = embedding_input(&file.rel_path, c.kind, c.symbol.as_deref(), &c.text);
            NewChunk {
                start_line: c.start_line,
                end_line: c.end_line,
                symbol_tokens: c
                    .symbol
                    .as_deref()
                    .map(tokens::index_tokens)
                    .unwrap_or_default(),
                body_tokens: tokens::index_tokens(&c.text),
                content_hash: content_hash(&input),
                symbol: c.symbol,
                kind: c.kind.to_string(),
                start_byte: (bom + c.start_byte) as u64,
                byte_len: c.text.len() as u32,
            }
        })
        .collect();
    Prepared::Changed {
        language: language.name(),
        hash,
        path_tokens: tokens::index_tokens(&file.rel_path),
        chunks,
    }
}

/// Phase 2: embeds every distinct chunk text that has no vector for this model yet.
#[allow(clippy::too_many_arguments)]
fn embed_pending(
    store: &mut Store,
    embedder: &Embedder,
    vector_index: &VectorIndex,
    model_id: &str,
    repo_filter: Option<i64>,
    opts: &RunOptions<'_>,
    report: &mut IndexReport,
    progress: &mut Progress,
) -> Result<()> {
    let started = Instant::now();
    let pending_ids = store.pending_embedding_ids(model_id, repo_filter)?;
    progress.phase = if progress.model.is_some() {
        Phase::Reembedding
    } else {
        Phase::Embedding
    };
    progress.embeddings_total = pending_ids.len() as u64;
    progress.embeddings_done = 0;
    (opts.progress)(progress);
    for ids in pending_ids.chunks(EMBED_BATCH) {
        if opts.cancel.load(Ordering::Relaxed) {
            report.interrupted = true;
            return Ok(());
        }
        // A chunk whose file changed since it was written has no text to embed: the next
        // index run (the watcher's, in the app) replaces it with the file's new chunks.
        let batch: Vec<(PendingChunk, String)> = store
            .pending_chunks(ids)?
            .into_iter()
            .filter_map(|p| source::pending_text(&p).map(|text| (p, text)))
            .collect();
        // Each chunk is read as one or more windows; its stored vector is their
        // concatenation, one row of the vector index per window.
        let mut windows: Vec<String> = Vec::new();
        let mut spans = Vec::with_capacity(batch.len());
        for (p, text) in &batch {
            let header = embedding_header(&p.path, &p.kind, p.symbol.as_deref());
            let start = windows.len();
            windows.extend(embedder.document_windows(&header, text));
            spans.push(start..windows.len());
        }
        let vectors = embedder.embed_documents(&windows)?;
        let quantized: Vec<Vec<u8>> = spans
            .into_iter()
            .map(|span| vectors::encode(&vectors[span]))
            .collect();
        store.transaction(|tx| {
            for ((pending, _), vector) in batch.iter().zip(&quantized) {
                tx.insert_embedding(model_id, &pending.content_hash, vector)?;
            }
            tx.bump_generation()
        })?;
        // Every chunk with that text gets the vectors, duplicates in other files included.
        for ((pending, _), vector) in batch.iter().zip(&quantized) {
            let vector = stored_vector(vector, vector_index.dims(), 0)?;
            for id in store.chunk_ids_with_hash(&pending.content_hash)? {
                vector_index.add(id as u64, &vector)?;
            }
        }
        report.embeddings_computed += batch.len() as u64;
        progress.embeddings_done += ids.len() as u64;
        progress.elapsed_secs = started.elapsed().as_secs_f64();
        (opts.progress)(progress);
    }
    Ok(())
}

/// Fills the vector index from SQLite alone (no model involved): what an engine does the
/// first time it needs a model's vectors, and again after another process wrote.
pub fn rebuild_vectors(store: &Store, vector_index: &VectorIndex, model_id: &str) -> Result<u64> {
    let dims = vector_index.dims();
    // Reserved up front from the distinct vectors stored (chunks with the same text share
    // one, and a windowed model has several rows per chunk, so this is an estimate; the
    // index grows by an eighth past it, and the slack is given back at the end).
    vector_index.reserve(store.embedding_count(model_id)? as usize);
    let mut added = 0u64;
    let mut damaged = 0u64;
    store.for_each_chunk_vector(model_id, |id, bytes| {
        // One damaged row must not take semantic search down with it: it is left out.
        let Ok(vector) = stored_vector(bytes, dims, id) else {
            damaged += 1;
            return Ok(());
        };
        added += (vector.len() / dims) as u64;
        vector_index.add(id as u64, &vector)
    })?;
    if damaged > 0 {
        log::warn!("{damaged} stored vectors of model {model_id} are damaged and left out of semantic search");
    }
    vector_index.shrink_to_fit();
    Ok(added)
}

/// A stored vector blob as the index's components, or an error naming the chunk whose
/// row is damaged.
fn stored_vector(bytes: &[u8], dims: usize, chunk_id: i64) -> Result<Vec<i8>> {
    vectors::decode(bytes, dims).ok_or_else(|| {
        Error::VectorIndex(format!(
            "the stored vector of chunk {chunk_id} ({} bytes) is not a {dims}-dimension \
             vector (a damaged row)",
            bytes.len()
        ))
    })
}
