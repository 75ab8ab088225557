//! `ferret bench`: the figures the targets are judged by, measured in one run against
//! baselines from the same run (the raw model with nothing around it; ripgrep).
//!
//! Nothing here asserts: it measures and reports. Tests never time anything.

pub mod live;
pub mod scale;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use crate::pipeline::embed::{EmbedOptions, RawBaseline};
use crate::pipeline::run::{content_hash, embedding_header, embedding_input};
use crate::pipeline::tokens;
use crate::search::{SearchMode, SearchOptions};
use crate::store::{NewChunk, Store};
use crate::{vectors, Engine, EngineOptions, Result};

/// Queries used when none are given: a mix of identifiers and natural language.
pub const DEFAULT_QUERIES: &[&str] = &[
    "parse command line arguments",
    "read file into string",
    "error handling when the file does not exist",
    "iterate over directory entries recursively",
    "match glob pattern against path",
    "thread pool worker",
    "hash map insert or update",
    "convert bytes to utf8 string",
    "search",
    "new",
    "how is the configuration loaded",
    "serialize to json",
    "unit test for parser",
    "skip hidden files",
    "build the walker with options",
    "lang:rust binary detection",
    "path:src/ regex compile",
    "\"fn main\"",
    "cache invalidation",
    "print usage help message",
];

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub mode: SearchMode,
    pub queries: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct BenchReport {
    pub repo: Option<PathBuf>,
    /// The model version measured.
    pub model: String,
    pub threads: usize,
    pub files: u64,
    pub source_lines: u64,
    pub source_bytes: u64,
    pub chunks: u64,
    pub embeddings: u64,
    pub tokens: u64,
    pub index_secs: f64,
    pub lexical_secs: f64,
    pub index_files_per_sec: f64,
    pub index_chunks_per_sec: f64,
    pub index_tokens_per_sec: f64,
    /// Model inputs the raw baseline embedded: every window of every distinct chunk.
    pub raw_chunks: u64,
    pub raw_secs: f64,
    pub raw_chunks_per_sec: f64,
    pub raw_tokens_per_sec: f64,
    /// Indexing throughput over raw model throughput, in chunks/s (target ≥ 0.9).
    pub throughput_ratio: f64,
    pub reindex_unchanged_secs: f64,
    pub latency: Vec<Latency>,
    pub ripgrep_ms: Option<f64>,
    pub peak_rss_mib: f64,
    pub bytes_on_disk: u64,
    pub bytes_per_chunk: f64,
    /// Index bytes over source bytes (target ≤ 1.5).
    pub size_ratio: f64,
}

pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx]
}

/// The process's peak resident set size, from /proc (Linux); 0 elsewhere.
pub fn peak_rss_mib() -> f64 {
    proc_status_mib("VmHWM:")
}

/// The process's resident set size now, from /proc (Linux); 0 elsewhere.
pub fn rss_mib() -> f64 {
    proc_status_mib("VmRSS:")
}

fn proc_status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Query latency per mode: every query `reps` times after one warm-up pass.
pub fn measure_latency(
    engine: &Engine,
    queries: &[String],
    modes: &[SearchMode],
    reps: usize,
) -> Result<Vec<Latency>> {
    let mut out = Vec::new();
    for &mode in modes {
        let opts = SearchOptions { limit: 10, mode };
        for q in queries {
            engine.search(q, &opts)?;
        }
        let mut times = Vec::with_capacity(queries.len() * reps);
        for _ in 0..reps {
            for q in queries {
                let started = Instant::now();
                engine.search(q, &opts)?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        out.push(Latency {
            mode,
            queries: times.len(),
            p50_ms: quantile(&times, 0.5),
            p95_ms: quantile(&times, 0.95),
            p99_ms: quantile(&times, 0.99),
        });
    }
    Ok(out)
}

/// Indexes `repo` into a fresh profile under `data_root` and measures everything.
pub fn bench_repo(
    repo: &Path,
    data_root: &Path,
    model_dir: Option<PathBuf>,
    threads: usize,
    queries: &[String],
    model: Option<&str>,
) -> Result<BenchReport> {
    let engine = Engine::open(EngineOptions {
        data_root: Some(data_root.to_path_buf()),
        profile: None,
        model_dir: model_dir.clone(),
        threads: Some(threads),
    })?;
    if let Some(model) = model {
        engine.use_model(model)?;
    }
    engine.add_repo(repo, Some("bench"))?;
    let embedder = engine.embedder()?; // load outside the timed region, like the baseline
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let report = engine.index(None, &cancel, false, &|_| {})?;
    let index_secs = started.elapsed().as_secs_f64();

    // The raw baseline embeds the very same inputs with a bare ONNX Runtime session, sorted
    // by length like the indexer does: the strongest baseline, so the ratio is our overhead.
    let mut inputs = distinct_inputs(&Store::open(&engine.paths().meta_db())?, &embedder)?;
    inputs.sort_by_key(String::len);
    let model_dir = model_dir
        .or_else(crate::pipeline::embed::default_model_dir)
        .ok_or_else(|| crate::Error::Model("no model directory; run scripts/setup.sh".into()))?;
    let raw = RawBaseline::load(
        &model_dir,
        embedder.spec(),
        &EmbedOptions {
            threads,
            ..EmbedOptions::default()
        },
    )?;
    let batch = EmbedOptions::default().batch_size.max(1);
    let raw_started = Instant::now();
    for chunk in inputs.chunks(batch) {
        raw.embed(chunk)?;
    }
    let raw_secs = raw_started.elapsed().as_secs_f64();
    let raw_tokens = embedder.count_tokens(&inputs)? as f64;

    let started = Instant::now();
    engine.index(None, &cancel, false, &|_| {})?;
    let reindex_unchanged_secs = started.elapsed().as_secs_f64();

    let latency = measure_latency(
        &engine,
        queries,
        &[
            SearchMode::Lexical,
            SearchMode::Semantic,
            SearchMode::Hybrid,
        ],
        5,
    )?;
    let ripgrep_ms = ripgrep_ms(repo, queries);
    // The size of the index as it stays, not of the write-ahead log the run left (folded
    // back when the last connection closes; up to 1.5 MiB more for ripgrep's source).
    let store = Store::open(&engine.paths().meta_db())?;
    store.checkpoint()?;
    let stats = engine.stats()?;
    let source_lines = count_lines(&store)?;

    let index_chunks_per_sec = report.embeddings_computed as f64 / index_secs;
    // The raw baseline embedded every window of every chunk, as the indexer did: the same
    // work, so the ratio of the times is the ratio of the throughputs.
    let raw_chunks_per_sec = report.embeddings_computed as f64 / raw_secs;
    Ok(BenchReport {
        repo: Some(repo.to_path_buf()),
        model: embedder.model_id().to_string(),
        threads,
        files: stats.files,
        source_lines,
        source_bytes: stats.source_bytes,
        chunks: stats.chunks,
        embeddings: report.embeddings_computed,
        tokens: raw_tokens as u64,
        index_secs,
        lexical_secs: report.lexical_secs,
        index_files_per_sec: stats.files as f64 / index_secs,
        index_chunks_per_sec,
        index_tokens_per_sec: raw_tokens / index_secs,
        raw_chunks: inputs.len() as u64,
        raw_secs,
        raw_chunks_per_sec,
        raw_tokens_per_sec: raw_tokens / raw_secs,
        throughput_ratio: index_chunks_per_sec / raw_chunks_per_sec,
        reindex_unchanged_secs,
        latency,
        ripgrep_ms,
        peak_rss_mib: peak_rss_mib(),
        bytes_on_disk: stats.bytes_on_disk,
        bytes_per_chunk: stats.bytes_on_disk as f64 / stats.chunks.max(1) as f64,
        size_ratio: stats.bytes_on_disk as f64 / stats.source_bytes.max(1) as f64,
    })
}

/// The model inputs of every distinct chunk text, as the indexer embedded them: each
/// chunk's windows (one for a model that reads only chunk beginnings).
fn distinct_inputs(
    store: &Store,
    embedder: &crate::pipeline::embed::Embedder,
) -> Result<Vec<String>> {
    let ids = store.distinct_text_ids()?;
    let mut inputs = Vec::with_capacity(ids.len());
    for batch in ids.chunks(500) {
        for p in store.pending_chunks(batch)? {
            // A file edited since the run has nothing to re-embed (the indexer skips it too).
            let Some(text) = crate::pipeline::source::pending_text(&p) else {
                continue;
            };
            let header = embedding_header(&p.path, &p.kind, p.symbol.as_deref());
            inputs.extend(embedder.document_windows(&header, &text));
        }
    }
    Ok(inputs)
}

fn count_lines(store: &Store) -> Result<u64> {
    // Chunks overlap a little; the max end line per file is the file's length in lines
    // (blank tails aside), which is what "a 100k-line repo" means.
    store
        .count("SELECT COALESCE(SUM(m), 0) FROM (SELECT MAX(c.end_line) AS m FROM chunks c GROUP BY c.file_id)")
        .map(|n| n as u64)
}

/// Median wall time of `rg -i -c` over the repo for the queries' first words: the cost of a
/// plain text search with no index, for scale.
fn ripgrep_ms(repo: &Path, queries: &[String]) -> Option<f64> {
    let mut times = Vec::new();
    for q in queries.iter().take(10) {
        let word = q
            .split_whitespace()
            .find(|w| !w.contains(':') && w.len() > 2)?
            .trim_matches('"');
        let started = Instant::now();
        let status = std::process::Command::new("rg")
            .args(["-i", "-c", "--", word])
            .arg(repo)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.code()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (!times.is_empty()).then(|| quantile(&times, 0.5))
}

/// Fills a fresh profile with `n` synthetic chunks (code-like text for FTS, random unit
/// vectors for the index) so latency at scale can be measured without hours of embedding.
pub fn bench_synthetic(
    n: usize,
    data_root: &Path,
    model_dir: Option<PathBuf>,
    queries: &[String],
) -> Result<(BenchReport, f64)> {
    let engine = Engine::open(EngineOptions {
        data_root: Some(data_root.to_path_buf()),
        profile: None,
        model_dir,
        threads: Some(1),
    })?;
    let dims = engine.embedder()?.dims();
    let model_id = engine.model_id()?;
    let fake_root = data_root.join("synthetic-src");
    std::fs::create_dir_all(&fake_root).map_err(|e| crate::Error::io("create synthetic dir", e))?;
    let repo = engine.add_repo(&fake_root, Some("synthetic"))?;
    let started = Instant::now();
    let mut store = Store::open(&engine.paths().meta_db())?;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    const WORDS: &[&str] = &[
        "parse",
        "args",
        "config",
        "load",
        "file",
        "path",
        "walk",
        "dir",
        "entry",
        "error",
        "result",
        "buffer",
        "read",
        "write",
        "search",
        "index",
        "query",
        "token",
        "match",
        "glob",
        "pattern",
        "thread",
        "pool",
        "worker",
        "cache",
        "hash",
        "map",
        "vector",
        "string",
        "bytes",
        "utf8",
        "decode",
        "encode",
        "json",
        "serialize",
        "options",
        "builder",
        "new",
        "default",
        "test",
        "assert",
        "iter",
        "next",
        "filter",
        "skip",
        "hidden",
        "binary",
        "line",
        "column",
        "range",
        "span",
        "node",
        "tree",
        "parser",
        "lexer",
    ];
    let per_file = 10;
    let word = |next: &mut dyn FnMut() -> u64| WORDS[(next() % WORDS.len() as u64) as usize];
    for file_no in 0..n.div_ceil(per_file) {
        let path = format!("src/mod_{}/file_{file_no}.rs", file_no % 97);
        let mut chunks = Vec::with_capacity(per_file);
        let mut vectors_batch = Vec::with_capacity(per_file);
        // The file is written for real: results read their snippets from it.
        let mut file_text = String::new();
        for c in 0..per_file.min(n - file_no * per_file) {
            let name = format!("{}_{}_{c}", word(&mut next), word(&mut next));
            let mut text = format!("pub fn {name}(input: &str) -> Result<()> {{\n");
            for _ in 0..12 {
                text.push_str(&format!(
                    "    let {} = {}({});\n",
                    word(&mut next),
                    word(&mut next),
                    word(&mut next)
                ));
            }
            text.push('}');
            let input = embedding_input(&path, "function", Some(&name), &text);
            let hash = content_hash(&input);
            let v: Vec<f32> = (0..dims)
                .map(|_| (next() % 2001) as f32 / 1000.0 - 1.0)
                .collect();
            vectors_batch.push((hash.clone(), vectors::encode(&[v])));
            chunks.push(NewChunk {
                start_line: (c * 14 + 1) as u32,
                end_line: (c * 14 + 14) as u32,
                symbol_tokens: tokens::index_tokens(&name),
                body_tokens: tokens::index_tokens(&text),
                symbol: Some(name),
                kind: "function".into(),
                content_hash: hash,
                start_byte: file_text.len() as u64,
                byte_len: text.len() as u32,
            });
            file_text.push_str(&text);
            file_text.push('\n');
        }
        let file = fake_root.join(&path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| crate::Error::io("create synthetic dir", e))?;
        }
        std::fs::write(&file, &file_text)
            .map_err(|e| crate::Error::io("write synthetic file", e))?;
        store.transaction(|tx| {
            let file_id = tx.upsert_file(repo.id, &path, "rust", 1000, 0, &[0; 16])?;
            tx.insert_chunks(file_id, &tokens::index_tokens(&path), &chunks)?;
            for (hash, v) in &vectors_batch {
                tx.insert_embedding(model_id, hash, v)?;
            }
            tx.bump_generation()
        })?;
    }
    drop(store);
    let fill_secs = started.elapsed().as_secs_f64();
    // The first semantic search reads the vector index from SQLite; time that alone, then
    // load the model with a first search.
    let started = Instant::now();
    engine.vector_index_info()?;
    let build_secs = started.elapsed().as_secs_f64();
    engine.search("warm up", &SearchOptions::default())?;
    log::info!("synthetic fill {fill_secs:.1}s, vector build {build_secs:.1}s");
    let latency = measure_latency(
        &engine,
        queries,
        &[
            SearchMode::Lexical,
            SearchMode::Semantic,
            SearchMode::Hybrid,
        ],
        5,
    )?;
    let stats = engine.stats()?;
    Ok((
        BenchReport {
            chunks: stats.chunks,
            embeddings: stats.embedded_chunks,
            latency,
            peak_rss_mib: peak_rss_mib(),
            bytes_on_disk: stats.bytes_on_disk,
            bytes_per_chunk: stats.bytes_on_disk as f64 / stats.chunks.max(1) as f64,
            ..Default::default()
        },
        build_secs,
    ))
}
