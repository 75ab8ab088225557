//! `ferret bench --live`: how fast saved edits become searchable while a
//! [`ProfileBackground`] (watcher + job runner) runs in this process, what one edit costs in
//! embeddings, how a branch switch re-indexes, and how much searches slow down while a big
//! embedding job runs beside them.
//!
//! Everything runs on a copy of the repository (only the files the indexer would read), in
//! a scratch profile: the user's tree is never written. Nothing here asserts.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{measure_latency, quantile, Latency};
use crate::background::queue;
use crate::background::{BackgroundOptions, ProfileBackground};
use crate::background::{JobEvent, JobKind};
use crate::pipeline::walk::{self, WalkOptions};
use crate::search::{SearchMode, SearchOptions};
use crate::store::Store;
use crate::{Engine, EngineOptions, Error, Result};

/// How often the bench looks for the edit's effect.
const POLL: Duration = Duration::from_millis(5);
/// Give up on one edit (or one settle) after this long; reported, never silently dropped.
const GIVE_UP: Duration = Duration::from_secs(120);
/// The generated file: 100 functions of 10 lines.
const GENERATED: &str = "ferret_live_bench.rs";
const FUNCTIONS: usize = 100;

/// p50 and p95 of a set of samples, in milliseconds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Percentiles {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        Percentiles {
            samples: ms.len(),
            p50_ms: quantile(&ms, 0.5),
            p95_ms: quantile(&ms, 0.95),
            max_ms: ms.last().copied().unwrap_or(0.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    pub repo: PathBuf,
    pub threads: usize,
    pub files: u64,
    pub chunks: u64,
    /// Clean index of the copy (the baseline of the ratios), lexical and semantic.
    pub clean_index_secs: f64,
    pub debounce_ms: u64,
    /// One-line edits in a 1,000-line file: write → a lexical search finds the new identifier.
    pub edit_to_lexical: Percentiles,
    /// Write → the edited chunk's embedding is stored (no embeddings pending).
    pub edit_to_embedded: Percentiles,
    /// New embeddings stored per edit (rows added to the embeddings table).
    pub embeddings_per_edit: Vec<u64>,
    /// Edits whose effect did not show within the give-up time.
    pub edits_timed_out: usize,
    /// Files rewritten at once, as a branch checkout does.
    pub switch_files: u64,
    /// Write of the last file → the job queue is empty and nothing awaits embedding.
    pub switch_secs: f64,
    pub switch_embeddings: u64,
    /// `switch_secs / clean_index_secs`.
    pub switch_ratio: f64,
    /// Hybrid queries with nothing else running.
    pub search_idle: Latency,
    /// The same queries while a full embedding job of a second copy runs in this process.
    pub search_loaded: Latency,
    /// `search_loaded.p50 / search_idle.p50` (target ≤ 2).
    pub load_ratio_p50: f64,
    pub load_ratio_p95: f64,
    /// Embeddings the background job stored during the loaded measurement (proof the load
    /// was real), and whether it was still embedding when the measurement ended.
    pub load_embeddings_during: u64,
    pub load_still_embedding_at_end: bool,
}

/// Copies the files the indexer would read (so not `target/`, `.git/`, ignored files) from
/// `from` to `to`, keeping relative paths. Returns how many.
pub fn copy_indexable(from: &Path, to: &Path) -> Result<u64> {
    let walked = walk::walk_repo(from, &WalkOptions::default())?;
    let mut n = 0;
    for file in &walked.files {
        let dest = to.join(&file.rel_path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::copy(&file.abs_path, &dest)
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        n += 1;
    }
    Ok(n)
}

/// A word of lowercase letters from a number: one token for the lexical index, unlike
/// digits or underscores, which the code-aware tokenizer may split or join.
fn letters(mut n: u64) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

/// 100 small functions, 10 lines each; `edits[k]` replaces the body line of function k.
fn generated_source(marker: &[(usize, String)]) -> String {
    let mut out = String::with_capacity(40_000);
    for k in 0..FUNCTIONS {
        out.push_str(&format!("/// Computes step {k} of the live benchmark.\n"));
        out.push_str(&format!("pub fn live_step_{k}(input: u64) -> u64 {{\n"));
        out.push_str(&format!("    let base = input.wrapping_mul({});\n", k + 3));
        // The edited line keeps `mixed`, so an edit changes exactly this one line.
        match marker.iter().rev().find(|(f, _)| *f == k) {
            Some((_, ident)) => out.push_str(&format!(
                "    let mixed = base ^ {k}; let _{ident} = mixed;\n"
            )),
            None => out.push_str(&format!("    let mixed = base ^ {k};\n")),
        }
        out.push_str(&format!(
            "    let shifted = mixed.rotate_left({});\n",
            k % 13
        ));
        out.push_str("    let folded = shifted ^ (shifted >> 7);\n");
        out.push_str("    let clamped = folded.min(u64::MAX / 2);\n");
        out.push_str("    clamped.wrapping_add(1)\n");
        out.push_str("}\n");
        out.push('\n');
    }
    out
}

struct Probe {
    store: Store,
    model_id: String,
}

impl Probe {
    fn embeddings(&self) -> Result<u64> {
        self.store
            .count("SELECT COUNT(*) FROM embeddings")
            .map(|n| n as u64)
    }

    fn pending(&self) -> Result<u64> {
        self.store.pending_embedding_count(&self.model_id, None)
    }

    /// No job queued or running, and nothing waiting for an embedding.
    fn settled(&self) -> Result<bool> {
        let busy = queue::list(&self.store, 0)?
            .iter()
            .any(|j| !j.state.is_finished());
        Ok(!busy && self.pending()? == 0)
    }

    fn newest_job_id(&self) -> Result<i64> {
        self.store.count("SELECT COALESCE(MAX(id), 0) FROM jobs")
    }
}

/// Polls `done` every [`POLL`]; returns when it held, or `None` after [`GIVE_UP`].
fn wait_until(what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<Option<Instant>> {
    let started = Instant::now();
    while started.elapsed() < GIVE_UP {
        if done()? {
            return Ok(Some(Instant::now()));
        }
        std::thread::sleep(POLL);
    }
    log::warn!("bench: gave up waiting for {what}");
    Ok(None)
}

fn found_lexically(engine: &Engine, ident: &str) -> Result<bool> {
    let hits = engine.search(
        ident,
        &SearchOptions {
            limit: 5,
            mode: SearchMode::Lexical,
        },
    )?;
    Ok(hits.hits.iter().any(|h| h.path == GENERATED))
}

/// Runs the live bench on a copy of `repo` under `data_root`.
pub fn bench_live(
    repo: &Path,
    data_root: &Path,
    model_dir: Option<PathBuf>,
    threads: usize,
    edits: usize,
    queries: &[String],
) -> Result<LiveReport> {
    let copy = data_root.join("live-copy");
    let files = copy_indexable(repo, &copy)?;
    let engine = Arc::new(Engine::open(EngineOptions {
        data_root: Some(data_root.to_path_buf()),
        profile: None, // the default profile of the scratch data root
        model_dir,
        threads: Some(threads),
    })?);
    engine.add_repo(&copy, Some("live"))?;
    engine.embedder()?; // loaded outside every timed region
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    engine.index(None, &cancel, false, &|_| {})?;
    let clean_index_secs = started.elapsed().as_secs_f64();

    // The 1,000-line file, indexed before the watcher starts.
    let generated = copy.join(GENERATED);
    let mut markers: Vec<(usize, String)> = Vec::new();
    write(&generated, &generated_source(&markers))?;
    engine.index(None, &cancel, false, &|_| {})?;

    let probe = Probe {
        store: Store::open(&engine.paths().meta_db())?,
        model_id: engine.model_id()?.to_string(),
    };
    let mut opts = BackgroundOptions::for_engine(&engine);
    opts.fetch_interval = None;
    opts.index_at_start = false;
    let debounce_ms = opts.debounce.as_millis() as u64;
    let background = ProfileBackground::start(engine.clone(), opts, Arc::new(|_: &JobEvent| {}))?;
    // Let the watcher settle in before the first edit.
    std::thread::sleep(Duration::from_millis(500));

    let mut lexical_ms = Vec::new();
    let mut embedded_ms = Vec::new();
    let mut embeddings_per_edit = Vec::new();
    let mut timed_out = 0;
    for i in 0..edits {
        let ident = format!("ferretlive{}", letters(1_000 + i as u64 * 7_919));
        let function = (i * 37) % FUNCTIONS;
        markers.push((function, ident.clone()));
        let before = probe.embeddings()?;
        let source = generated_source(&markers);
        let written = Instant::now();
        write(&generated, &source)?;
        let lexical = wait_until("an edit to be searchable", || {
            found_lexically(&engine, &ident)
        })?;
        // Lexical hit ⇒ the new chunk is committed; no pending embedding ⇒ it is embedded.
        let embedded = wait_until("an edit's embedding", || Ok(probe.pending()? == 0))?;
        match (lexical, embedded) {
            (Some(lexical), Some(embedded)) => {
                lexical_ms.push((lexical - written).as_secs_f64() * 1000.0);
                embedded_ms.push((embedded - written).as_secs_f64() * 1000.0);
            }
            _ => timed_out += 1,
        }
        wait_until("the queue to settle", || probe.settled())?;
        embeddings_per_edit.push(probe.embeddings()?.saturating_sub(before));
    }

    // A branch switch: about a fifth of the files change at once.
    let walked = walk::walk_repo(&copy, &WalkOptions::default())?;
    let targets: Vec<&walk::WalkedFile> = walked
        .files
        .iter()
        .filter(|f| f.rel_path != GENERATED)
        .step_by(5)
        .collect();
    let mut rewritten = Vec::with_capacity(targets.len());
    for file in &targets {
        let text = std::fs::read_to_string(&file.abs_path).unwrap_or_default();
        rewritten.push((file.abs_path.clone(), switch_edit(&file.rel_path, &text)));
    }
    let before = probe.embeddings()?;
    let last_job = probe.newest_job_id()?;
    let written = Instant::now();
    for (path, text) in &rewritten {
        write(path, text)?;
    }
    let switched = wait_until("the branch switch to be indexed", || {
        Ok(probe.newest_job_id()? > last_job && probe.settled()?)
    })?;
    let switch_secs = switched.map_or(f64::NAN, |at| (at - written).as_secs_f64());
    let switch_embeddings = probe.embeddings()?.saturating_sub(before);

    // Searches idle, then under a full embedding job of a second copy.
    let queries: Vec<String> = queries.iter().cycle().take(30).cloned().collect();
    let idle = hybrid_latency(&engine, &queries)?;
    // Under another directory, so every embedding input (path included) is new: a copy at
    // the same relative paths would be served entirely from the embedding cache.
    let second = data_root.join("live-load");
    copy_indexable(repo, &second.join("copy"))?;
    engine.add_repo(&second, Some("live-load"))?;
    let embeddings_at_load = probe.embeddings()?;
    background
        .jobs()
        .enqueue(JobKind::Index, Some("live-load"))?;
    // Wait for the embedding phase proper: the copy's chunks are in, vectors being added.
    if wait_until("the load job to start embedding", || {
        Ok(probe.embeddings()? > embeddings_at_load + 8)
    })?
    .is_none()
    {
        return Err(Error::InvalidInput(
            "the load job never started embedding; nothing to measure under load".into(),
        ));
    }
    let during_from = probe.embeddings()?;
    let loaded = hybrid_latency(&engine, &queries)?;
    let during_to = probe.embeddings()?;
    let still_embedding = probe.pending()? > 0;
    drop(background);

    let stats = engine.stats()?;
    Ok(LiveReport {
        repo: repo.to_path_buf(),
        threads,
        files,
        chunks: stats.chunks,
        clean_index_secs,
        debounce_ms,
        edit_to_lexical: Percentiles::of(lexical_ms),
        edit_to_embedded: Percentiles::of(embedded_ms),
        embeddings_per_edit,
        edits_timed_out: timed_out,
        switch_files: rewritten.len() as u64,
        switch_secs,
        switch_embeddings,
        switch_ratio: switch_secs / clean_index_secs,
        load_ratio_p50: loaded.p50_ms / idle.p50_ms,
        load_ratio_p95: loaded.p95_ms / idle.p95_ms,
        search_idle: idle,
        search_loaded: loaded,
        load_embeddings_during: during_to.saturating_sub(during_from),
        load_still_embedding_at_end: still_embedding,
    })
}

fn hybrid_latency(engine: &Engine, queries: &[String]) -> Result<Latency> {
    let mut latency = measure_latency(engine, queries, &[SearchMode::Hybrid], 2)?;
    latency
        .pop()
        .ok_or_else(|| Error::InvalidInput("no queries to measure".into()))
}

/// Changes one line in the middle of a file, the way checking out another branch changes a
/// function: a trailing comment in the file's comment syntax (or a word, for text).
fn switch_edit(rel_path: &str, text: &str) -> String {
    let ext = Path::new(rel_path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let comment = match ext {
        "py" | "rb" | "sh" | "bash" | "toml" | "yml" | "yaml" | "pl" | "r" => " # switched",
        "md" | "txt" | "rst" | "" => " switched",
        "html" | "xml" => " <!-- switched -->",
        _ => " // switched",
    };
    let mut lines: Vec<&str> = text.lines().collect();
    let mut owned = String::new();
    if lines.is_empty() {
        return format!("{}\n", comment.trim());
    }
    let middle = lines.len() / 2;
    owned.push_str(lines[middle]);
    owned.push_str(comment);
    lines[middle] = &owned;
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}
