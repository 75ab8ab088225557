//! Local embeddings: all-MiniLM-L6-v2 (int8) through fastembed on ONNX Runtime, loaded
//! dynamically from the model directory the setup script fills (DESIGN.md section 6).
//!
//! Speed is the whole game here (embedding is the indexing bottleneck), and fastembed's
//! defaults leave a lot on the table, so [`Embedder`] wraps it deliberately:
//! - texts are **sorted by length** and batched with their neighbours, so a batch pads to
//!   the length of similar texts instead of to its longest member (attention cost grows
//!   with the padded length; mixed batches of code chunks waste most of it), at most
//!   `MAX_BATCH_TOKENS` padded tokens a call (which bounds ONNX Runtime's arena); results
//!   are put back in the caller's order;
//! - **truncation is explicit** (`max_tokens`, 128 by default: the length the model was
//!   trained on; its 256-token ceiling costs over twice the compute per chunk for text the
//!   model was never taught to summarise, so chunk beginnings — signature, doc comment —
//!   carry the semantic side). The shipped tokenizer.json's fixed 128-token padding is
//!   replaced by batch-longest padding;
//! - **intra-op threads** are set by the caller (background indexing uses half the cores so
//!   searches stay responsive, a first index every core: [`Embedder::set_threads`]), and
//!   ONNX Runtime's pool threads run at the CPU priority of the indexer that asked (low for
//!   the job runner: [`crate::pipeline::priority`]);
//! - the model's **lookup tables stay int8** in memory (`gather_first`), and an idle
//!   second session is let go ([`Embedder::release_query_session`]);
//! - a version that asks for it (the default) **multiplies in int8** (`int8_matmul`):
//!   1.7x the indexing throughput, vectors slightly different, hence a version of its own.
//!   Both rewrites edit the graph's protobuf when it is loaded (`onnx_graph`); the files
//!   on disk and their sha256 stay as shipped.
//!
//! [`RawBaseline`] runs the same graph and tokenizer with a bare ONNX Runtime session and
//! nothing else: the yardstick `ferret bench` compares indexing throughput against.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};

use fastembed::{
    InitOptionsUserDefined, OutputKey, Pooling, QuantizationMode, TextEmbedding, TokenizerFiles,
    UserDefinedEmbeddingModel,
};
use ort::environment::Environment;
use ort::session::{builder::GraphOptimizationLevel, Session};
use ort::value::Tensor;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::memory::release_free_memory;
use crate::models::{self, ModelSpec};
use crate::pipeline::priority;
use crate::{Error, Result};

mod gather_first;
mod int8_matmul;
mod onnx_graph;
pub mod query_adapter;
mod raw_baseline;

use query_adapter::QueryAdapter;
pub use raw_baseline::RawBaseline;

#[derive(Clone, Debug)]
pub struct EmbedOptions {
    /// ONNX Runtime intra-op threads; 0 means all cores.
    pub threads: usize,
    /// Texts per model call.
    pub batch_size: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            threads: 0,
            // Measured on 2 cores: throughput drops sharply past 16 texts per call (the
            // attention buffers stop fitting in cache); 8 was best.
            batch_size: 8,
        }
    }
}

impl EmbedOptions {
    fn intra_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// `$FERRET_MODEL_DIR`, else `$FERRET_DATA_DIR/models` or `<data dir>/models`, else the
/// model an installed package ships beside the executable ([`bundled_model_dir`]), else (in
/// a debug build only) the development checkout's `.models`: the first one that holds the
/// model.
pub fn default_model_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("FERRET_MODEL_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Ok(root) = crate::profiles::data_root() {
        candidates.push(root.join("models"));
    }
    candidates.extend(bundled_model_dir());
    // The checkout this binary was built from: only for development builds, as a release
    // binary must not load native code from wherever its build machine kept it.
    #[cfg(debug_assertions)]
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.models"));
    candidates.into_iter().find(|dir| {
        models::find(models::DEFAULT_MODEL).is_ok_and(|spec| spec.check_files(dir, false).is_ok())
    })
}

/// Where a package puts the model: `<prefix>/lib/Ferret/models` for executables in
/// `<prefix>/bin` (the `.deb` installs both programs in `/usr/bin` and the model as the
/// bundle's resources in `/usr/lib/Ferret`), so neither needs an environment variable.
pub fn bundled_model_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    let dir = exe.parent()?.parent()?.join("lib/Ferret/models");
    dir.is_dir().then_some(dir)
}

/// ONNX Runtime, loaded once per process from the model directory.
fn environment(dir: &Path) -> Result<Environment> {
    static ENV: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let library = dir.join(models::ORT_LIBRARY.path);
        ort::init_from(&library)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", library.display()))?
            .with_name("ferret")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime: {e}"))
    })
    .clone()
    .map_err(Error::Model)
}

/// Ends the process at once with `code`, skipping the C library's exit handlers.
///
/// ONNX Runtime registers exit handlers that free its global state, and a thread still
/// building a session or running the model then touches freed memory: an ordinary
/// `std::process::exit` while another thread embeds ends in SIGSEGV (seen when an MCP client
/// left within a second of starting the server). Shells call this when they must leave
/// without waiting for such a thread (a second Ctrl-C, a quit that outlived its grace
/// period). Nothing is lost that a crash would keep: SQLite's journal keeps the database
/// consistent and an interrupted job stays queued. Standard output is flushed first.
pub fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` takes no pointers and does not return.
    unsafe { libc::_exit(code) }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
}

/// Padded tokens (texts x the longest one's tokens) one model call may hold. ONNX Runtime's
/// arena keeps the activations of the largest call for the life of the session: 110 MiB
/// after 8 texts of 128 tokens, 57 MiB after 4. Smaller calls are hardly slower (2 cores,
/// 2 threads: 3 or 4 x 128 tokens ran as fast as 8 x 128 or faster; 16 x 64 a quarter
/// slower than 8 x 64). `ferret repo add` of regex-syntax (2,638 chunks) peaked at 299 MiB
/// with 8 texts a call; at 512 tokens 202 MiB, at 384 tokens 190 MiB and about 4% slower
/// than at 512 (67 against 70 chunks/s): 384 keeps indexing under 200 MiB.
const MAX_BATCH_TOKENS: usize = 384;

/// Texts in the order to embed them, so each call holds texts of similar length (padding
/// to the longest wastes little), cut into calls of at most `max_texts` texts and
/// `max_tokens` padded tokens; a text over the budget on its own is a call by itself.
fn plan_batches(tokens: &[usize], max_texts: usize, max_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| tokens[i]);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Ascending order: the text joining is the longest of its call.
        let padded = (current.len() + 1) * tokens[i];
        if !current.is_empty() && (current.len() == max_texts.max(1) || padded > max_tokens) {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The embedding model, ready to use from any thread.
///
/// Searches come first. A query uses the model when it is free; when a document batch holds
/// it, the query runs on a second session of the same model instead of waiting for the batch
/// (8 chunks take about 0.3 s on one core: a search would wait that long, 50x its own cost).
/// That session is loaded the first time a query finds the model busy, so processes that
/// only index or only search never pay its memory, and the indexer lets it go when a run
/// ends ([`Embedder::release_query_session`]), so an idle app holds one session, not two.
/// Document batches also give way while a query is running, so the two do not share the
/// cores.
pub struct Embedder {
    model: Mutex<TextEmbedding>,
    /// Loaded on the first query that finds `model` busy, until the indexing run ends.
    query_model: Mutex<Option<Arc<Mutex<TextEmbedding>>>>,
    /// Why the query session could not be loaded (queries then wait for `model`, as they
    /// would without it); set once, so a broken setup is not retried on every query.
    query_model_error: OnceLock<String>,
    model_dir: PathBuf,
    spec: &'static ModelSpec,
    opts: EmbedOptions,
    /// Intra-op threads of `model`'s session (see [`Embedder::set_threads`]).
    threads: AtomicUsize,
    /// `model`'s session was built at background priority, so its pool threads run at it.
    background: AtomicBool,
    /// Queries waiting for (or using) the model; document batches give way while non-zero.
    queries_waiting: AtomicUsize,
    /// When the model last embedded anything, so an idle process can let it go.
    last_used: Mutex<std::time::Instant>,
    tokenizer: Tokenizer,
    batch_size: usize,
    dims: usize,
    /// Applied to query vectors only (see [`query_adapter`]).
    query_adapter: Option<QueryAdapter>,
}

impl Embedder {
    /// Loads model version `spec` from `model_dir` (see [`crate::models`]).
    pub fn load(model_dir: &Path, spec: &'static ModelSpec, opts: &EmbedOptions) -> Result<Self> {
        let mut model = load_session(model_dir, spec, opts)?;
        let tokenizer = model.tokenizer.clone();
        let probe = model
            .embed(vec!["probe"], None)
            .map_err(|e| Error::Model(format!("test embedding failed: {e}")))?;
        let dims = probe.first().map_or(0, Vec::len);
        if dims == 0 {
            return Err(Error::Model("the model returned an empty embedding".into()));
        }
        let query_adapter = query_adapter::load(model_dir, spec, dims)?;
        Ok(Embedder {
            model: Mutex::new(model),
            query_model: Mutex::new(None),
            query_model_error: OnceLock::new(),
            model_dir: model_dir.to_path_buf(),
            spec,
            opts: opts.clone(),
            threads: AtomicUsize::new(opts.intra_threads()),
            background: AtomicBool::new(priority::is_background()),
            queries_waiting: AtomicUsize::new(0),
            last_used: Mutex::new(std::time::Instant::now()),
            tokenizer,
            batch_size: opts.batch_size.max(1),
            dims,
            query_adapter,
        })
    }

    /// The same embedder with `adapter` applied to queries instead of the version's own
    /// (`None`: the model's own query vectors, what the adapter's training reads).
    pub fn with_query_adapter(mut self, adapter: Option<QueryAdapter>) -> Self {
        self.query_adapter = adapter;
        self
    }

    /// The adapter queries go through, if any.
    pub fn query_adapter(&self) -> Option<&QueryAdapter> {
        self.query_adapter.as_ref()
    }

    /// The second session queries use while documents hold the first. It runs on one
    /// thread, the caller's: a query is a few tokens (3.4 ms on one thread, 3.0 on two, in
    /// the bare runtime), and a second thread of its own would spin between queries on the
    /// cores the indexer has (9% of a core, seen while searching every quarter second).
    fn query_session(&self) -> std::result::Result<Arc<Mutex<TextEmbedding>>, String> {
        if let Some(e) = self.query_model_error.get() {
            return Err(e.clone());
        }
        let mut slot = self.query_model.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        log::debug!("loading a second model session for queries");
        let opts = EmbedOptions {
            threads: 1,
            ..self.opts.clone()
        };
        match load_session(&self.model_dir, self.spec, &opts) {
            Ok(session) => Ok(slot.insert(Arc::new(Mutex::new(session))).clone()),
            Err(e) => Err(self.query_model_error.get_or_init(|| e.to_string()).clone()),
        }
    }

    /// Makes document batches run on `threads` cores, rebuilding the session (half a
    /// second) if it has another count. ONNX Runtime fixes a session's threads when it is
    /// built, so the app, which indexes in the background on half the cores, switches to all
    /// of them for the first index of a repository the user just added, and back after.
    ///
    /// Its pool threads also keep the CPU priority of the thread that built the session, so
    /// this rebuilds it when the caller's differs: the job runner's first index
    /// ([`priority::in_background`]) on a session a search loaded at normal priority
    /// rebuilds it once at background priority.
    pub fn set_threads(&self, threads: usize) -> Result<()> {
        let threads = threads.max(1);
        let background = priority::is_background();
        if self.threads.load(Ordering::Acquire) == threads
            && self.background.load(Ordering::Acquire) == background
        {
            return Ok(());
        }
        let opts = EmbedOptions {
            threads,
            ..self.opts.clone()
        };
        let session = load_session(&self.model_dir, self.spec, &opts)?;
        let old = {
            let mut model = self.model.lock().unwrap_or_else(|p| p.into_inner());
            self.threads.store(threads, Ordering::Release);
            self.background.store(background, Ordering::Release);
            std::mem::replace(&mut *model, session)
        };
        drop(old);
        release_free_memory();
        log::debug!(
            "document batches now run on {threads} thread(s){}",
            if background {
                " at background priority"
            } else {
                ""
            }
        );
        Ok(())
    }

    /// Intra-op threads document batches run on.
    pub fn threads(&self) -> usize {
        self.threads.load(Ordering::Acquire)
    }

    /// Lets the second session go (a query still running on it finishes first) and hands
    /// its memory back: about 70 MiB. The indexer calls this when a run ends; the next
    /// query that finds the model busy loads it again (half a second).
    pub fn release_query_session(&self) {
        let released = match self.query_model.try_lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None, // being loaded or looked up right now: keep it
        };
        if let Some(session) = released {
            drop(session);
            release_free_memory();
        }
    }

    /// Whether the second session is loaded.
    pub fn has_query_session(&self) -> bool {
        self.query_model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The catalogue id of the model version this embedder runs.
    pub fn model_id(&self) -> &'static str {
        self.spec.id
    }

    pub fn spec(&self) -> &'static ModelSpec {
        self.spec
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The pieces of a document the model reads, each whole: `header` (path, kind, symbol)
    /// followed by as many of `body`'s lines as fit in `max_tokens`, then the next lines
    /// under the same header, up to `max_windows` windows. A definition longer than the
    /// model's window is thus seen entirely, not cut after its first lines; a search scores
    /// it by its best window. A line too long for a window on its own becomes a window and
    /// is truncated by the model.
    pub fn document_windows(&self, header: &str, body: &str) -> Vec<String> {
        let count = |text: &str| {
            self.tokenizer
                .encode(text, false)
                .map_or(text.len() / 3, |e| e.get_ids().len())
        };
        let prefix = self.spec.document_prefix;
        // [CLS] and [SEP] take two of the model's tokens.
        let budget = self
            .spec
            .max_tokens
            .saturating_sub(2 + count(prefix) + count(header))
            .max(8);
        let mut windows = Vec::new();
        let mut current = String::new();
        let mut used = 0;
        for line in body.split('\n') {
            if windows.len() == self.spec.max_windows.max(1) {
                break;
            }
            // A newline is not a token for this tokenizer; blank lines cost nothing.
            let cost = if line.trim().is_empty() {
                0
            } else {
                count(line)
            };
            if used + cost > budget && used > 0 {
                windows.push(format!("{prefix}{header}\n{current}"));
                current.clear();
                used = 0;
                if windows.len() == self.spec.max_windows.max(1) {
                    break;
                }
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
            used += cost;
        }
        if windows.len() < self.spec.max_windows.max(1) && !current.trim().is_empty() {
            windows.push(format!("{prefix}{header}\n{current}"));
        }
        if windows.is_empty() {
            windows.push(format!("{prefix}{header}"));
        }
        windows
    }

    /// How long since the model last embedded anything (or was loaded).
    pub fn idle_for(&self) -> std::time::Duration {
        self.last_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    fn mark_used(&self) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
    }

    /// Unit vectors for `texts`, in their order.
    pub fn embed_documents(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.mark_used();
        let tokens: Vec<usize> = texts.iter().map(|t| self.tokens_of(t)).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in plan_batches(&tokens, self.batch_size, MAX_BATCH_TOKENS) {
            // Give way to searches; bounded so a stream of queries cannot starve indexing.
            for _ in 0..500 {
                if self.queries_waiting.load(Ordering::Acquire) == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.embed_batch(inputs)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, inputs: Vec<&str>) -> Result<Vec<Vec<f32>>> {
        let n = inputs.len();
        self.model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .embed(inputs, Some(n))
            .map_err(|e| Error::Model(format!("embedding failed: {e}")))
    }

    /// The vector of a search query, through the version's query adapter if it has one
    /// ([`query_adapter`]); never waits behind a document batch (see [`Embedder`]).
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let prefixed;
        let text = if self.spec.query_prefix.is_empty() {
            text
        } else {
            prefixed = format!("{}{text}", self.spec.query_prefix);
            prefixed.as_str()
        };
        self.mark_used();
        self.queries_waiting.fetch_add(1, Ordering::AcqRel);
        let run = |model: &mut TextEmbedding| {
            model
                .embed(vec![text], Some(1))
                .map_err(|e| Error::Model(format!("embedding failed: {e}")))
        };
        let result = match self.model.try_lock() {
            Ok(mut model) => run(&mut model),
            Err(TryLockError::Poisoned(p)) => run(&mut p.into_inner()),
            Err(TryLockError::WouldBlock) => match self.query_session() {
                Ok(session) => run(&mut session.lock().unwrap_or_else(|p| p.into_inner())),
                Err(e) => {
                    log::warn!("no second model session for queries ({e}); waiting");
                    self.embed_batch(vec![text])
                }
            },
        };
        self.queries_waiting.fetch_sub(1, Ordering::AcqRel);
        let vector = result?
            .pop()
            .ok_or_else(|| Error::Model("no embedding returned".into()))?;
        Ok(match &self.query_adapter {
            Some(adapter) => adapter.apply(&vector),
            None => vector,
        })
    }

    /// Tokens the model sees for `text` (after truncation); a byte-based guess if the
    /// tokenizer fails (the model call would then report the error).
    fn tokens_of(&self, text: &str) -> usize {
        self.tokenizer.encode(text, true).map_or_else(
            |_| (text.len() / 3).clamp(1, self.spec.max_tokens),
            |e| e.get_attention_mask().iter().filter(|&&m| m == 1).count(),
        )
    }

    /// Tokens the model sees for `texts` (after truncation), for tokens/s figures.
    pub fn count_tokens(&self, texts: &[String]) -> Result<usize> {
        let mut total = 0;
        for text in texts {
            let encoding = self
                .tokenizer
                .encode(text.as_str(), true)
                .map_err(|e| Error::Model(format!("tokenizer: {e}")))?;
            total += encoding
                .get_attention_mask()
                .iter()
                .filter(|&&m| m == 1)
                .count();
        }
        Ok(total)
    }
}

/// The graph a session of `spec` runs: the model file with its quantized lookup tables kept
/// quantized in memory ([`gather_first`]: the same numbers, 45 MiB less per session for the
/// shipped model) and, for a version that asks for it, its weight matmuls in int8
/// ([`int8_matmul`]: different numbers, which is why that is a version of its own).
fn model_graph(model_dir: &Path, spec: &ModelSpec) -> Result<Vec<u8>> {
    let path = model_dir.join(spec.dir).join("model.onnx");
    let bytes = read(&path)?;
    let lean = match gather_first::rewrite(&bytes) {
        Some((lean, tables)) => {
            log::debug!(
                "{}: {tables} lookup table(s) stay quantized",
                path.display()
            );
            lean
        }
        None => bytes,
    };
    if !spec.int8_matmuls {
        return Ok(lean);
    }
    // The file's sha256 was checked, so this only fails if the catalogue pairs the flag
    // with a model whose matmuls are not quantized the way `int8_matmul` expects.
    let (int8, matmuls) = int8_matmul::rewrite(&lean).ok_or_else(|| {
        Error::Model(format!(
            "model {}: {} has no int8 weight matmul to run in int8; choose another model \
             with `ferret model use` (`ferret model list` names them)",
            spec.id,
            path.display()
        ))
    })?;
    log::debug!("{}: {matmuls} matmuls run in int8", path.display());
    Ok(int8)
}

/// One fastembed session of the model, configured as [`Embedder`] documents.
fn load_session(
    model_dir: &Path,
    spec: &'static ModelSpec,
    opts: &EmbedOptions,
) -> Result<TextEmbedding> {
    // Verified before anything is loaded: ONNX Runtime is native code (see
    // `ModelSpec::check_files`).
    spec.check_files(model_dir, true)?;
    let env = environment(model_dir)?;
    let files = model_dir.join(spec.dir);
    let tokenizer_files = TokenizerFiles {
        tokenizer_file: read(&files.join("tokenizer.json"))?,
        config_file: read(&files.join("config.json"))?,
        special_tokens_map_file: read(&files.join("special_tokens_map.json"))?,
        tokenizer_config_file: read(&files.join("tokenizer_config.json"))?,
    };
    let model = UserDefinedEmbeddingModel::new(model_graph(model_dir, spec)?, tokenizer_files)
        .with_pooling(Pooling::Mean)
        .with_quantization(QuantizationMode::None);
    let model = UserDefinedEmbeddingModel {
        output_key: Some(OutputKey::ByName(spec.output)),
        ..model
    };
    let options = InitOptionsUserDefined::new()
        .with_environment(env)
        .with_max_length(spec.max_tokens)
        .with_intra_threads(opts.intra_threads());
    let session = TextEmbedding::try_new_from_user_defined(model, options)
        .map_err(|e| Error::Model(format!("cannot load {}: {e}", files.display())));
    release_free_memory();
    session
}

#[cfg(test)]
mod tests;
