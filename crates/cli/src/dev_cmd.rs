//! `ferret dev`: hidden tools for the training scripts under `tools/`, which need what the
//! engine computes, not a re-implementation of it: the chunks the indexer cuts and the
//! vectors the model gives queries and chunks.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use ferret_engine::models;
use ferret_engine::pipeline::chunk::{self, ChunkLimits};
use ferret_engine::pipeline::embed::{self, EmbedOptions, Embedder};
use ferret_engine::pipeline::run::embedding_header;
use ferret_engine::pipeline::walk;
use serde::{Deserialize, Serialize};

#[derive(Subcommand)]
pub enum DevCommand {
    /// Cuts files into chunks as the indexer does. Reads paths relative to --root, one a
    /// line, on stdin; prints one JSON object a chunk (path, language, kind, symbol,
    /// start_line, end_line, text).
    Chunks {
        #[arg(long)]
        root: PathBuf,
    },
    /// Embeds JSON lines from stdin and writes their vectors to --out as little-endian f32,
    /// one row of the model's dimensions per input line, in input order.
    Embed(EmbedArgs),
}

#[derive(Args)]
pub struct EmbedArgs {
    /// Inputs are queries (`{"text": ...}`), embedded as a search embeds them.
    #[arg(
        long,
        conflicts_with = "document",
        required_unless_present = "document"
    )]
    query: bool,
    /// Inputs are chunks (`{"path", "kind", "symbol", "text"}`), embedded as the indexer
    /// embeds them: under their header, the first window only.
    #[arg(long)]
    document: bool,
    /// Queries skip the version's query adapter (the model's own vectors: what the
    /// adapter is trained on).
    #[arg(long, requires = "query")]
    no_adapter: bool,
    /// Model version (default: the default model).
    #[arg(long)]
    model: Option<String>,
    /// ONNX Runtime threads (default: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Serialize)]
struct ChunkLine<'a> {
    path: &'a str,
    language: &'static str,
    kind: &'static str,
    symbol: Option<&'a str>,
    start_line: u32,
    end_line: u32,
    text: &'a str,
}

#[derive(Deserialize)]
struct EmbedLine {
    text: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    symbol: Option<String>,
}

pub fn dev(command: &DevCommand, model_dir: Option<PathBuf>) -> anyhow::Result<()> {
    match command {
        DevCommand::Chunks { root } => chunks(root),
        DevCommand::Embed(args) => embed_lines(args, model_dir),
    }
}

fn chunks(root: &Path) -> anyhow::Result<()> {
    let limits = ChunkLimits::default();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let rel = line?;
        let rel = rel.trim();
        if rel.is_empty() {
            continue;
        }
        let path = root.join(rel);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("skipped {}: {e}", path.display());
                continue;
            }
        };
        let Ok(text) = walk::classify_content(bytes) else {
            continue; // binary or not UTF-8: the indexer skips it too
        };
        let language = chunk::detect_language(&path);
        for c in chunk::chunk_text(language, &text, &limits) {
            let line = ChunkLine {
                path: rel,
                language: language.name(),
                kind: c.kind,
                symbol: c.symbol.as_deref(),
                start_line: c.start_line,
                end_line: c.end_line,
                text: &c.text,
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Inputs per call of `embed_documents`: the indexer hands it a few hundred chunks at a
/// time too, which it sorts by length and cuts into model calls.
const DOCUMENTS_PER_CALL: usize = 256;

fn embed_lines(args: &EmbedArgs, model_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let spec = models::find(args.model.as_deref().unwrap_or(models::DEFAULT_MODEL))?;
    let dir = model_dir
        .or_else(embed::default_model_dir)
        .ok_or_else(|| anyhow::anyhow!("no model directory: run scripts/setup.sh"))?;
    let opts = EmbedOptions {
        threads: args.threads,
        ..Default::default()
    };
    let mut embedder = Embedder::load(&dir, spec, &opts)?;
    if args.no_adapter {
        embedder = embedder.with_query_adapter(None);
    }
    let mut inputs = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        let parsed: EmbedLine = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("stdin line {}: {e}", n + 1))?;
        inputs.push(parsed);
    }
    let mut out = BufWriter::new(std::fs::File::create(&args.out)?);
    let started = std::time::Instant::now();
    let mut write = |vectors: &[Vec<f32>]| -> anyhow::Result<()> {
        for v in vectors {
            for x in v {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        Ok(())
    };
    let mut done = 0;
    for batch in inputs.chunks(DOCUMENTS_PER_CALL) {
        let vectors: Vec<Vec<f32>> = if args.query {
            batch
                .iter()
                .map(|q| embedder.embed_query(&q.text))
                .collect::<ferret_engine::Result<_>>()?
        } else {
            let windows: Vec<String> = batch
                .iter()
                .map(|d| {
                    let header = embedding_header(&d.path, &d.kind, d.symbol.as_deref());
                    embedder.document_windows(&header, &d.text).swap_remove(0)
                })
                .collect();
            embedder.embed_documents(&windows)?
        };
        write(&vectors)?;
        done += batch.len();
        eprint!(
            "\r{done}/{} embedded ({:.0}/s)",
            inputs.len(),
            done as f64 / started.elapsed().as_secs_f64().max(1e-3)
        );
    }
    eprintln!();
    out.flush()?;
    Ok(())
}
