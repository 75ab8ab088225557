//! `ferret bench` and `ferret eval`: measurement commands. The measuring lives in the
//! engine (`ferret_engine::bench`, `ferret_engine::eval`); this file parses and prints.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use ferret_engine::bench::{self, BenchReport};
use ferret_engine::{eval, Engine, SearchMode};

use crate::progress::human;

#[derive(Args)]
pub struct BenchArgs {
    /// Repository to index and measure (default: the current directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Instead, measure query latency over N synthetic chunks with random vectors.
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// Threads for indexing and for the raw baseline (default: half the cores).
    #[arg(long)]
    threads: Option<usize>,
    /// File with one query per line (default: a built-in mix).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct EvalArgs {
    /// JSONL file of cases (see tests/eval/README.md).
    file: PathBuf,
    /// Modes to score (default: lexical, semantic, hybrid).
    #[arg(long, value_delimiter = ',')]
    modes: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Do not add and index the cases' repositories first (use the profile as it is).
    #[arg(long)]
    no_index: bool,
}

fn queries(args: &BenchArgs) -> anyhow::Result<Vec<String>> {
    Ok(match &args.queries {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect(),
        None => bench::DEFAULT_QUERIES
            .iter()
            .map(|q| q.to_string())
            .collect(),
    })
}

pub fn bench(args: &BenchArgs, model_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let queries = queries(args)?;
    let scratch = tempfile::tempdir()?;
    let threads = args.threads.unwrap_or_else(|| {
        (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1)
    });
    if let Some(n) = args.synthetic {
        eprintln!("filling {n} synthetic chunks...");
        let (report, build_secs) = bench::bench_synthetic(n, scratch.path(), model_dir, &queries)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!("synthetic: {} chunks with random vectors; vector index built from SQLite in {build_secs:.2}s", report.chunks);
            print_latency(&report);
            println!(
                "peak RSS {:.0} MiB; {} on disk ({:.0} bytes/chunk)",
                report.peak_rss_mib,
                human(report.bytes_on_disk),
                report.bytes_per_chunk
            );
        }
        return Ok(());
    }
    let repo = match &args.repo {
        Some(repo) => repo.clone(),
        None => std::env::current_dir()?,
    };
    eprintln!(
        "indexing {} with {threads} thread(s) into a scratch profile...",
        repo.display()
    );
    let r = bench::bench_repo(&repo, scratch.path(), model_dir, threads, &queries)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "repo        {} ({} files, {} lines, {})",
        repo.display(),
        r.files,
        r.source_lines,
        human(r.source_bytes)
    );
    println!(
        "chunks      {} ({} distinct texts embedded, {} tokens)",
        r.chunks, r.embeddings, r.tokens
    );
    println!(
        "indexing    {:.1}s total ({:.1}s lexical): {:.1} files/s, {:.1} chunks/s, {:.0} tokens/s",
        r.index_secs,
        r.lexical_secs,
        r.index_files_per_sec,
        r.index_chunks_per_sec,
        r.index_tokens_per_sec
    );
    println!(
        "raw model   {} chunks in {:.1}s: {:.1} chunks/s, {:.0} tokens/s (bare ONNX Runtime, same inputs, {} thread(s))",
        r.raw_chunks, r.raw_secs, r.raw_chunks_per_sec, r.raw_tokens_per_sec, r.threads
    );
    println!(
        "ratio       {:.2} of raw model throughput (target >= 0.9)",
        r.throughput_ratio
    );
    println!(
        "re-index    {:.2}s for the unchanged repo",
        r.reindex_unchanged_secs
    );
    print_latency(&r);
    if let Some(rg) = r.ripgrep_ms {
        let lexical = r
            .latency
            .iter()
            .find(|l| l.mode == SearchMode::Lexical)
            .map_or(0.0, |l| l.p50_ms);
        println!(
            "ripgrep     {rg:.1} ms median per query over the tree (lexical p50 is {:.2}x of it)",
            lexical / rg
        );
    }
    println!("memory      peak RSS {:.0} MiB", r.peak_rss_mib);
    println!(
        "size        {} on disk, {:.0} bytes/chunk, {:.2}x the source (target <= 1.5)",
        human(r.bytes_on_disk),
        r.bytes_per_chunk,
        r.size_ratio
    );
    Ok(())
}

fn print_latency(r: &BenchReport) {
    for l in &r.latency {
        println!(
            "latency     {:<8} p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  ({} queries)",
            format!("{:?}", l.mode).to_lowercase(),
            l.p50_ms,
            l.p95_ms,
            l.p99_ms,
            l.queries
        );
    }
}

pub fn eval(args: &EvalArgs, engine: &Engine) -> anyhow::Result<()> {
    let cases = eval::load_cases(&args.file)?;
    let modes: Vec<SearchMode> = if args.modes.is_empty() {
        vec![
            SearchMode::Lexical,
            SearchMode::Semantic,
            SearchMode::Hybrid,
        ]
    } else {
        args.modes
            .iter()
            .map(|m| m.parse())
            .collect::<Result<_, _>>()?
    };
    if !args.no_index {
        let known: Vec<String> = engine.repos()?.into_iter().map(|r| r.name).collect();
        for (name, dir) in eval::locate_repos(&args.file) {
            match dir {
                Some(dir) if !known.contains(&name) => {
                    engine.add_repo(&dir, Some(&name))?;
                }
                Some(_) => {}
                None => eprintln!("ferret: warning: repository {name} of the eval set was not found on this machine; its cases will miss"),
            }
        }
        eprintln!("indexing the eval repositories...");
        engine.index(None, &AtomicBool::new(false), false, &|_| {})?;
    }
    let report = eval::run(engine, &cases, &modes)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{:<9} {:>6} {:>6} {:>6} {:>6} {:>8}",
        "mode", "R@1", "R@5", "R@10", "MRR", "p50 ms"
    );
    for m in &report.modes {
        println!(
            "{:<9} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>8.1}",
            format!("{:?}", m.mode).to_lowercase(),
            m.recall_at_1,
            m.recall_at_5,
            m.recall_at_10,
            m.mrr,
            m.p50_ms
        );
    }
    println!("({} cases)", cases.len());
    Ok(())
}
