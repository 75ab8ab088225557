//! `ferret bench --scale DIR...`: a big index measured while it is built, the way a user
//! meets it: time to lexical-searchable and to fully semantic, files/s and chunks/s, peak
//! memory, searches answered during indexing and after, the index's size by part and the
//! disk use over time, and the cost of opening (and of checking) the finished index.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{count_lines, measure_latency, peak_rss_mib, quantile, rss_mib, Latency};
use crate::pipeline::priority;
use crate::pipeline::run::Phase;
use crate::profiles::limits::dir_bytes;
use crate::search::{SearchMode, SearchOptions};
use crate::store::Store;
use crate::{DiskBreakdown, Engine, EngineOptions, Result};

#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub repos: Vec<PathBuf>,
    pub threads: usize,
    pub files: u64,
    pub source_lines: u64,
    pub source_bytes: u64,
    pub chunks: u64,
    pub embeddings: u64,
    /// From the start until every file is lexically searchable.
    pub lexical_secs: f64,
    /// From the start until every chunk is embedded.
    pub index_secs: f64,
    pub files_per_sec: f64,
    /// Embeddings per second in the semantic phase.
    pub chunks_per_sec: f64,
    pub peak_rss_mib: f64,
    /// Resident memory by phase, sampled every 100 ms: where the peak comes from.
    pub rss: RssByPhase,
    /// Searches run on the same engine while the index was built (one every 250 ms).
    pub during: Vec<Latency>,
    pub after: Vec<Latency>,
    pub disk: DiskBreakdown,
    /// Index bytes (snapshots aside) per source byte.
    pub size_ratio: f64,
    /// (seconds since start, bytes in the profile directory), every 5 s.
    pub disk_over_time: Vec<(f64, u64)>,
    /// `Engine::open` of the finished index after a clean close, and after an unclean one
    /// (which runs the integrity check).
    pub open_clean_ms: f64,
    pub open_unclean_ms: f64,
    /// Building the vector index from the database in a fresh process (what the first
    /// semantic search after opening waits for), and what it holds.
    pub vectors_load_ms: f64,
    pub vectors: crate::engine::VectorIndexInfo,
}

/// Resident memory (MiB) in each phase of a big index run: the highest sample while files
/// are walked, read and written (lexical), while chunks are embedded, and once the run is
/// over (the engine open, its vector index and model loaded, searches answered).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RssByPhase {
    pub opened_mib: f64,
    pub lexical_max_mib: f64,
    pub embedding_max_mib: f64,
    pub after_mib: f64,
}

/// Which part of [`RssByPhase`] a progress phase counts toward.
const LEXICAL: u8 = 0;
const EMBEDDING: u8 = 1;
const FINISHED: u8 = 2;

fn latencies(samples: &Mutex<Vec<(SearchMode, f64)>>) -> Vec<Latency> {
    let samples = samples.lock().unwrap_or_else(|p| p.into_inner());
    [SearchMode::Lexical, SearchMode::Hybrid]
        .into_iter()
        .map(|mode| {
            let mut times: Vec<f64> = samples
                .iter()
                .filter(|(m, _)| *m == mode)
                .map(|(_, t)| *t)
                .collect();
            times.sort_by(f64::total_cmp);
            Latency {
                mode,
                queries: times.len(),
                p50_ms: quantile(&times, 0.5),
                p95_ms: quantile(&times, 0.95),
                p99_ms: quantile(&times, 0.99),
            }
        })
        .collect()
}

/// Indexes `repos` into a fresh profile under `data_root` and measures it as it grows.
pub fn bench_scale(
    repos: &[PathBuf],
    data_root: &Path,
    model_dir: Option<PathBuf>,
    threads: usize,
    queries: &[String],
) -> Result<ScaleReport> {
    let options = EngineOptions {
        data_root: Some(data_root.to_path_buf()),
        profile: None,
        model_dir,
        threads: Some(threads),
    };
    let engine = Engine::open(options.clone())?;
    for repo in repos {
        engine.add_repo(repo, None)?;
    }
    let profile_dir = engine.paths().root.clone();
    let mut rss = RssByPhase {
        opened_mib: rss_mib(),
        ..RssByPhase::default()
    };
    let phase = AtomicU8::new(LEXICAL);
    let phase_max = Mutex::new([0f64; 2]);
    let done = AtomicBool::new(false);
    let samples = Mutex::new(Vec::new());
    let disk_over_time = Mutex::new(Vec::new());
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let report = std::thread::scope(|scope| {
        // Searches while indexing, alternating lexical and hybrid, as a user would type.
        scope.spawn(|| {
            let mut turn = 0usize;
            while !done.load(Ordering::SeqCst) {
                let mode = if turn.is_multiple_of(2) {
                    SearchMode::Lexical
                } else {
                    SearchMode::Hybrid
                };
                let query = &queries[(turn / 2) % queries.len()];
                let t = Instant::now();
                if engine
                    .search(query, &SearchOptions { limit: 10, mode })
                    .is_ok()
                {
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    samples
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((mode, ms));
                }
                turn += 1;
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let point = (started.elapsed().as_secs_f64(), dir_bytes(&profile_dir));
                disk_over_time
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(point);
                for _ in 0..50 {
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    let now = phase.load(Ordering::Relaxed);
                    if now < FINISHED {
                        let mut max = phase_max.lock().unwrap_or_else(|p| p.into_inner());
                        max[now as usize] = max[now as usize].max(rss_mib());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        // As the app's job runner indexes: at background priority.
        let report = priority::in_background(|| {
            engine.index(None, &cancel, false, &|progress| {
                let now = match progress.phase {
                    Phase::Walking | Phase::Chunking => LEXICAL,
                    Phase::Embedding | Phase::Reembedding => EMBEDDING,
                    Phase::Saving | Phase::Done => FINISHED,
                };
                phase.store(now, Ordering::Relaxed);
            })
        });
        done.store(true, Ordering::SeqCst);
        report
    })?;
    let index_secs = started.elapsed().as_secs_f64();
    let peak_rss = peak_rss_mib();
    let after = measure_latency(
        &engine,
        queries,
        &[SearchMode::Lexical, SearchMode::Hybrid],
        3,
    )?;
    [rss.lexical_max_mib, rss.embedding_max_mib] =
        *phase_max.lock().unwrap_or_else(|p| p.into_inner());
    rss.after_mib = rss_mib();
    let stats = engine.stats()?;
    let disk = engine.disk_breakdown()?;
    let source_lines = count_lines(&Store::open(&engine.paths().meta_db())?)?;
    drop(engine);

    let t = Instant::now();
    let reopened = Engine::open(options.clone())?;
    let open_clean_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let vectors = reopened.vector_index_info()?;
    let vectors_load_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop(reopened);
    // A marker left by a process that died makes the next open check the database.
    let paths = crate::profiles::ProfilePaths::new(data_root, "default")?;
    std::fs::write(paths.root.join("open-999999999-0.marker"), b"")
        .map_err(|e| crate::Error::io("cannot write a stale open marker", e))?;
    let t = Instant::now();
    drop(Engine::open(options)?);
    let open_unclean_ms = t.elapsed().as_secs_f64() * 1000.0;

    let during = latencies(&samples);
    let mut disk_over_time = disk_over_time.into_inner().unwrap_or_default();
    disk_over_time.push((index_secs, dir_bytes(&paths.root)));
    let embed_secs = (index_secs - report.lexical_secs).max(f64::EPSILON);
    Ok(ScaleReport {
        repos: repos.to_vec(),
        threads,
        files: stats.files,
        source_lines,
        source_bytes: stats.source_bytes,
        chunks: stats.chunks,
        embeddings: report.embeddings_computed,
        lexical_secs: report.lexical_secs,
        index_secs,
        files_per_sec: stats.files as f64 / report.lexical_secs.max(f64::EPSILON),
        chunks_per_sec: report.embeddings_computed as f64 / embed_secs,
        peak_rss_mib: peak_rss,
        rss,
        during,
        after,
        size_ratio: (disk.total - disk.snapshots) as f64 / stats.source_bytes.max(1) as f64,
        disk,
        disk_over_time,
        open_clean_ms,
        open_unclean_ms,
        vectors_load_ms,
        vectors,
    })
}
