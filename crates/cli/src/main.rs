//! `ferret`: index local repositories and search them from the terminal.
//!
//! A thin shell over `ferret-engine`: parse arguments, call the engine, print. Errors are
//! one line on stderr (what went wrong and what to do) and a non-zero exit status.

mod bench_cmd;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ferret_engine::{Engine, EngineOptions, SearchMode, SearchOptions};

#[derive(Parser)]
#[command(
    name = "ferret",
    version,
    about = "Fast, private, local code search: lexical and semantic at once"
)]
struct Cli {
    /// Profile to use (default: "default").
    #[arg(long, global = true, env = "FERRET_PROFILE")]
    profile: Option<String>,
    /// Data directory (default: $FERRET_DATA_DIR or ~/.local/share/ferret).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Directory holding the embedding model and ONNX Runtime (default: $FERRET_MODEL_DIR).
    #[arg(long, global = true)]
    model_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list or remove repositories.
    Repo {
        #[command(subcommand)]
        command: RepoCommand,
    },
    /// Index added repositories (only what changed since the last run).
    Index {
        /// Index only this repository.
        #[arg(long)]
        repo: Option<String>,
        /// Threads for chunking and embedding (default: half the cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Build only the lexical index; embeddings can be added by a later run.
        #[arg(long)]
        lexical_only: bool,
        /// Print the run's report as JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Search indexed code. Syntax: words, "exact phrase", repo:NAME, lang:LANG, path:GLOB, -path:GLOB.
    Search {
        query: String,
        /// Maximum number of results.
        #[arg(long, short = 'n', default_value_t = 10)]
        limit: usize,
        /// hybrid (default), lexical or semantic.
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show what the profile holds: repos, files, chunks, embeddings, skips, disk use.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Measure indexing throughput against the raw model, re-index time, query latency,
    /// memory and index size.
    Bench(bench_cmd::BenchArgs),
    /// Measure relevance (recall@10, MRR) on a file of queries with known answers.
    Eval(bench_cmd::EvalArgs),
}

#[derive(Subcommand)]
enum RepoCommand {
    /// Add a local repository (a directory; it need not be a git checkout).
    Add {
        path: PathBuf,
        /// Name to use in results and `repo:` filters (default: the directory name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List added repositories with their counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a repository from the index (its files are not touched).
    Remove { name: String },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp(None)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ferret: error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn open(cli: &Cli, threads: Option<usize>) -> anyhow::Result<Engine> {
    Ok(Engine::open(EngineOptions {
        data_root: cli.data_dir.clone(),
        profile: cli.profile.clone(),
        model_dir: cli.model_dir.clone(),
        threads,
    })?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Repo { command } => repo_command(&cli, command),
        Command::Index {
            repo,
            threads,
            lexical_only,
            json,
        } => {
            let engine = open(&cli, *threads)?;
            let cancel = Arc::new(AtomicBool::new(false));
            install_ctrlc(cancel.clone());
            let display = progress::IndexDisplay::new(!*json);
            let report = engine.index(repo.as_deref(), &cancel, *lexical_only, &|p| {
                display.update(p)
            })?;
            display.finish();
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                progress::print_report(&report);
            }
            if report.interrupted {
                anyhow::bail!("interrupted; everything indexed so far is saved: run `ferret index` again to continue");
            }
            Ok(())
        }
        Command::Search {
            query,
            limit,
            mode,
            json,
        } => {
            let engine = open(&cli, Some(1))?;
            let opts = SearchOptions {
                limit: *limit,
                mode: mode.parse::<SearchMode>()?,
            };
            let hits = engine.search(query, &opts)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&hits)?);
            } else {
                progress::print_hits(&hits);
            }
            Ok(())
        }
        Command::Stats { json } => {
            let stats = open(&cli, Some(1))?.stats()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                progress::print_stats(&stats);
            }
            Ok(())
        }
        Command::Bench(args) => bench_cmd::bench(args, cli.model_dir.clone()),
        Command::Eval(args) => bench_cmd::eval(args, open(&cli, None)?),
    }
}

fn repo_command(cli: &Cli, command: &RepoCommand) -> anyhow::Result<()> {
    let engine = open(cli, Some(1))?;
    match command {
        RepoCommand::Add { path, name } => {
            let repo = engine.add_repo(path, name.as_deref())?;
            println!(
                "added {} ({}); run `ferret index` to index it",
                repo.name,
                repo.root.display()
            );
        }
        RepoCommand::List { json } => {
            let repos = engine.repos()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&repos)?);
            } else if repos.is_empty() {
                println!("no repositories yet: add one with `ferret repo add PATH`");
            } else {
                for r in repos {
                    println!(
                        "{:<24} {:>6} files {:>8} chunks {:>5.1}% semantic  {}",
                        r.name,
                        r.files,
                        r.chunks,
                        if r.chunks == 0 {
                            0.0
                        } else {
                            100.0 * r.embedded_chunks as f64 / r.chunks as f64
                        },
                        r.root.display()
                    );
                }
            }
        }
        RepoCommand::Remove { name } => {
            let chunks = engine.remove_repo(name)?;
            println!("removed {name} ({chunks} chunks); its files on disk are untouched");
        }
    }
    Ok(())
}

/// First Ctrl-C: finish the current batch, save, and stop. Second: exit at once (SQLite's
/// journal still keeps the database consistent).
fn install_ctrlc(cancel: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            eprintln!("\nferret: stopping now");
            std::process::exit(130);
        }
        eprintln!(
            "\nferret: finishing the current batch and saving (Ctrl-C again to stop at once)"
        );
    });
}
