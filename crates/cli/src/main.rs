//! `ferret`: index local repositories and search them from the terminal.
//!
//! A thin shell over `ferret-engine`: parse arguments, call the engine, print. Errors are
//! one line on stderr (what went wrong and what to do) and a non-zero exit status.

mod account_cmd;
mod bench_cmd;
mod daemon_cmd;
mod dev_cmd;
mod mcp;
mod model_cmd;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ferret_engine::{Engine, Profiles, ProfilesOptions, SearchMode, SearchOptions};

#[derive(Parser)]
#[command(
    name = "ferret",
    version,
    about = "Fast, private, local code search: lexical and semantic at once"
)]
struct Cli {
    /// Profile to use (default: the current one, see `ferret profile list`).
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
    /// Sign in with a GitHub personal access token (read from stdin or a hidden prompt).
    Login(account_cmd::LoginArgs),
    /// Remove the current (or --profile) profile's token from the keychain.
    Logout,
    /// List, switch, show, create, delete profiles; stats, limits, status, audit log.
    Profile {
        #[command(subcommand)]
        command: account_cmd::ProfileCommand,
    },
    /// The signed-in GitHub account's repositories.
    Github {
        #[command(subcommand)]
        command: account_cmd::GitHubCommand,
    },
    /// Run background work in the foreground: watch working copies, fetch clones on an
    /// interval, and run queued jobs (with a live status line).
    Daemon(daemon_cmd::DaemonArgs),
    /// List background jobs, or cancel one.
    Jobs(daemon_cmd::JobsArgs),
    /// Pause the profile's background work (its data stays searchable).
    Pause,
    /// Resume the profile's background work.
    Resume,
    /// Add, list, sync or remove repositories.
    Repo {
        #[command(subcommand)]
        command: RepoCommand,
    },
    /// Index added repositories (only what changed since the last run).
    Index {
        /// Index only this repository.
        #[arg(long)]
        repo: Option<String>,
        /// Threads for chunking and embedding (default: every core; the profile's
        /// `index_threads` when set).
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
        #[arg(long, short = 'n', default_value_t = 10, help = format!(
            "Maximum number of results (at most {})",
            ferret_engine::search::MAX_LIMIT
        ))]
        limit: usize,
        /// hybrid (default), lexical or semantic.
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// Print one JSON object: `{"results": [hits], "no_strong_match": bool}`.
        #[arg(long)]
        json: bool,
        /// Under each hit, list what the ranking stage saw that moved it (definitions,
        /// path words, tests and docs, same-file results). JSON output always has them.
        #[arg(long)]
        explain: bool,
        /// Search in this process even when the app or `ferret daemon` serves the profile
        /// (by default they answer over the profile's socket, without loading anything).
        #[arg(long)]
        in_process: bool,
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
    /// List embedding models, or switch the profile to another one.
    Model {
        #[command(subcommand)]
        command: model_cmd::ModelCommand,
    },
    /// Serve this profile's index to coding agents over MCP (stdio), read-only.
    Mcp(mcp::McpArgs),
    /// Tools for the training scripts under tools/ (chunks and vectors as the engine makes
    /// them).
    #[command(hide = true)]
    Dev {
        #[command(subcommand)]
        command: dev_cmd::DevCommand,
    },
}

#[derive(Subcommand)]
enum RepoCommand {
    /// Add a local repository (a directory; it need not be a git checkout), or clone and
    /// index a GitHub one: `ferret repo add github:OWNER/NAME`.
    Add {
        /// A directory, or github:OWNER/NAME.
        path: String,
        /// Name to use in results and `repo:` filters (default: the directory name; OWNER/NAME
        /// for GitHub).
        #[arg(long)]
        name: Option<String>,
        /// Branch to clone (GitHub; default: the repository's default branch).
        #[arg(long)]
        branch: Option<String>,
        /// Clone (or register) only; index later with `ferret index`.
        #[arg(long)]
        no_index: bool,
    },
    /// Fetch and fast-forward cloned GitHub repositories, then index what changed.
    Sync {
        /// Only this repository (default: all cloned ones).
        name: Option<String>,
    },
    /// List added repositories with their counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a repository from the index (its files are not touched).
    Remove { name: String },
    /// Stop watching, fetching and indexing one repository; what it holds stays searchable.
    Pause { name: String },
    /// Watch, fetch and index a paused repository again (run `ferret index NAME` to catch up).
    Resume { name: String },
    /// Trust the folder of a local repository that came with an imported profile: until
    /// then Ferret does not read, watch or index it.
    Confirm { name: String },
}

fn main() -> ExitCode {
    ferret_engine::redact::init_logging("warn");
    let cli = parse_args();
    if !matches!(cli.command, Command::Mcp(_)) {
        stop_quietly_on_closed_pipe();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ferret: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments; `--version` prints the model, ONNX Runtime and the directories too
/// (`-V` only the version), the facts a bug report needs.
fn parse_args() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let about = ferret_engine::about::about(None).long_text();
    let long_version: &'static str = Box::leak(about.into_boxed_str());
    let matches = Cli::command().long_version(long_version).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `ferret jobs --json | head`: when the reader goes away, end the way ripgrep and every C
/// tool do (SIGPIPE, no message) instead of panicking on the next `println!`. Rust ignores
/// SIGPIPE by default; the MCP server keeps it ignored, since a client that goes away is
/// its normal end and rmcp handles the closed pipe.
fn stop_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn profiles(cli: &Cli, threads: Option<usize>) -> anyhow::Result<Profiles> {
    Ok(Profiles::open(ProfilesOptions {
        data_root: cli.data_dir.clone(),
        model_dir: cli.model_dir.clone(),
        threads,
        ..ProfilesOptions::default()
    })?)
}

/// The engine for work the user waits for in the terminal (`index`, `repo add`, `repo
/// sync`): every core, unless `--threads` or the profile's `index_threads` say otherwise.
/// Background work (`ferret daemon`, the app) keeps to half, so searches stay quick.
fn open_foreground(cli: &Cli, threads: Option<usize>) -> anyhow::Result<Arc<Engine>> {
    let threads = match threads {
        Some(n) => n,
        None => {
            let profiles = profiles(cli, Some(1))?;
            let id = profiles.resolve(cli.profile.as_deref())?;
            profiles.config(&id)?.foreground_threads()
        }
    };
    open(cli, Some(threads))
}

/// A search answered by the warm process serving the profile (the app or `ferret daemon`)
/// when there is one, else run here: the same hits either way.
fn search(
    cli: &Cli,
    query: &str,
    opts: &SearchOptions,
    in_process: bool,
) -> anyhow::Result<ferret_engine::SearchResults> {
    let profiles = profiles(cli, Some(1))?;
    let id = profiles.resolve(cli.profile.as_deref())?;
    #[cfg(unix)]
    if !in_process {
        let socket = profiles.paths_of(&id)?.socket_file();
        if let Some(answer) = ferret_engine::ipc::client::search(&socket, query, opts) {
            log::info!("answered by the process serving {}", socket.display());
            return Ok(answer?);
        }
    }
    let _ = in_process;
    Ok(profiles.engine(&id)?.search(query, opts)?)
}

/// The engine of the chosen profile (`--profile`, else the current one).
fn open(cli: &Cli, threads: Option<usize>) -> anyhow::Result<Arc<Engine>> {
    let profiles = profiles(cli, threads)?;
    let id = profiles.resolve(cli.profile.as_deref())?;
    Ok(profiles.engine(&id)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Login(args) => account_cmd::login(&profiles(&cli, Some(1))?, args),
        Command::Logout => {
            let profiles = profiles(&cli, Some(1))?;
            let id = profiles.resolve(cli.profile.as_deref())?;
            account_cmd::logout(&profiles, &id)
        }
        Command::Profile { command } => {
            account_cmd::profile(&profiles(&cli, Some(1))?, cli.profile.as_deref(), command)
        }
        Command::Github { command } => {
            let profiles = profiles(&cli, Some(1))?;
            let id = profiles.resolve(cli.profile.as_deref())?;
            account_cmd::github(&profiles, &id, command)
        }
        Command::Daemon(args) => {
            let profiles = profiles(&cli, None)?;
            daemon_cmd::daemon(&profiles, cli.profile.as_deref(), args)
        }
        Command::Jobs(args) => daemon_cmd::jobs_command(&*open(&cli, Some(1))?, args),
        Command::Pause | Command::Resume => {
            let profiles = profiles(&cli, Some(1))?;
            let id = profiles.resolve(cli.profile.as_deref())?;
            daemon_cmd::set_paused(&profiles, &id, matches!(cli.command, Command::Pause))
        }
        Command::Repo { command } => repo_command(&cli, command),
        Command::Index {
            repo,
            threads,
            lexical_only,
            json,
        } => {
            let engine = open_foreground(&cli, *threads)?;
            let cancel = Arc::new(AtomicBool::new(false));
            install_ctrlc(cancel.clone());
            index(&engine, repo.as_deref(), &cancel, *lexical_only, *json)
        }
        Command::Search {
            query,
            limit,
            mode,
            json,
            explain,
            in_process,
        } => {
            let opts = SearchOptions {
                limit: *limit,
                mode: mode.parse::<SearchMode>()?,
            };
            let found = search(&cli, query, &opts, *in_process)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                progress::print_hits(&found, *explain);
            }
            Ok(())
        }
        Command::Stats { json } => {
            let engine = open(&cli, Some(1))?;
            let stats = engine.stats()?;
            let disk = engine.disk_breakdown()?;
            if *json {
                let mut value = serde_json::to_value(&stats)?;
                value["disk"] = serde_json::to_value(&disk)?;
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                progress::print_stats(&stats);
                progress::print_disk(&disk);
            }
            Ok(())
        }
        Command::Bench(args) if args.on_index => bench_cmd::on_index(args, &*open(&cli, None)?),
        Command::Bench(args) => bench_cmd::bench(args, cli.model_dir.clone()),
        Command::Eval(args) => bench_cmd::eval(args, &*open(&cli, None)?),
        Command::Model { command } => model_cmd::model(&*open(&cli, None)?, command),
        Command::Dev { command } => dev_cmd::dev(command, cli.model_dir.clone()),
        Command::Mcp(args) => {
            let profiles = profiles(&cli, Some(1))?;
            let id = profiles.resolve(cli.profile.as_deref())?;
            match args.print_config {
                Some(client) => {
                    let exe = std::env::current_exe()?;
                    let exe = exe.canonicalize().unwrap_or(exe);
                    print!(
                        "{}",
                        ferret_engine::links::agents::config_text(
                            client,
                            &exe,
                            &id,
                            cli.data_dir.as_deref()
                        )
                    );
                    Ok(())
                }
                None => mcp::serve(profiles.engine(&id)?),
            }
        }
    }
}

/// One index run with a progress bar (hidden for `--json`) and its summary.
pub(crate) fn index(
    engine: &Engine,
    repo: Option<&str>,
    cancel: &AtomicBool,
    lexical_only: bool,
    json: bool,
) -> anyhow::Result<()> {
    let display = progress::IndexDisplay::new(!json);
    let report = engine.index(repo, cancel, lexical_only, &|p| display.update(p));
    display.finish();
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        progress::print_report(&report);
    }
    if report.interrupted {
        anyhow::bail!(
            "interrupted; everything indexed so far is saved: run `ferret index` again to continue"
        );
    }
    Ok(())
}

fn repo_command(cli: &Cli, command: &RepoCommand) -> anyhow::Result<()> {
    let engine = match command {
        RepoCommand::Add { .. } | RepoCommand::Sync { .. } => open_foreground(cli, None)?,
        _ => open(cli, Some(1))?,
    };
    match command {
        RepoCommand::Add {
            path,
            name,
            branch,
            no_index,
        } => {
            let cancel = Arc::new(AtomicBool::new(false));
            install_ctrlc(cancel.clone());
            let repo = if let Some(full_name) = path.strip_prefix("github:") {
                if name.is_some() {
                    anyhow::bail!("--name applies to local repositories; a GitHub repository is named OWNER/NAME");
                }
                let display = progress::GitDisplay::new(full_name);
                let repo = engine.add_github_repo(full_name, branch.as_deref(), &cancel, &|p| {
                    display.update(p)
                });
                display.finish();
                let repo = repo?;
                println!(
                    "cloned {} ({} at {}) into {}",
                    repo.name,
                    repo.branch.as_deref().unwrap_or("?"),
                    repo.head.as_deref().map_or("?", |h| &h[..h.len().min(12)]),
                    repo.root.display()
                );
                repo
            } else {
                if branch.is_some() {
                    anyhow::bail!("--branch applies to github:OWNER/NAME repositories");
                }
                let repo = engine.add_repo(&PathBuf::from(path), name.as_deref())?;
                println!("added {} ({})", repo.name, repo.root.display());
                repo
            };
            if *no_index {
                println!("run `ferret index --repo {}` to index it", repo.name);
            } else {
                index(&engine, Some(&repo.name), &cancel, false, false)?;
            }
        }
        RepoCommand::Sync { name } => {
            let cancel = Arc::new(AtomicBool::new(false));
            install_ctrlc(cancel.clone());
            let display = progress::GitDisplay::new("fetch");
            let index_display = progress::IndexDisplay::new(true);
            let run = engine.sync_and_index(
                name.as_deref(),
                &cancel,
                &|repo, p| {
                    display.set_repo(repo);
                    display.update(p)
                },
                &|p| {
                    display.finish();
                    index_display.update(p)
                },
            );
            display.finish();
            index_display.finish();
            let run = run?;
            for r in &run.synced {
                if let Some(error) = &r.error {
                    println!("{}: not synced: {error}", r.repo);
                } else if r.recloned {
                    println!("{}: its clone was missing; cloned again", r.repo);
                } else if r.old_head == r.new_head {
                    println!("{}: up to date", r.repo);
                } else {
                    println!(
                        "{}: {} -> {}, {} paths changed",
                        r.repo,
                        &r.old_head[..r.old_head.len().min(12)],
                        &r.new_head[..r.new_head.len().min(12)],
                        r.changed_paths
                    );
                }
            }
            for report in &run.indexed {
                progress::print_report(report);
            }
            if run.interrupted {
                anyhow::bail!(
                    "interrupted; everything indexed so far is saved: run `ferret repo sync` again to continue"
                );
            }
            if let Some(failures) = run.failures() {
                anyhow::bail!("{failures}");
            }
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
                        "{:<24} {:>6} files {:>8} chunks {:>5.1}% semantic  {}{}",
                        r.name,
                        r.files,
                        r.chunks,
                        if r.chunks == 0 {
                            0.0
                        } else {
                            100.0 * r.embedded_chunks as f64 / r.chunks as f64
                        },
                        r.root.display(),
                        if r.needs_confirmation {
                            "  (imported: `ferret repo confirm` to use this folder)"
                        } else if r.paused {
                            "  (paused)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        RepoCommand::Remove { name } => {
            let chunks = engine.remove_repo(name)?;
            println!("removed {name} ({chunks} chunks); its files on disk are untouched");
        }
        RepoCommand::Pause { name } => {
            engine.set_repo_paused(name, true)?;
            println!(
                "paused {name}: not watched, fetched or indexed until `ferret repo resume {name}`; \
                 what it holds stays searchable"
            );
        }
        RepoCommand::Resume { name } => {
            engine.set_repo_paused(name, false)?;
            println!(
                "resumed {name}; `ferret index {name}` catches up with changes made meanwhile"
            );
        }
        RepoCommand::Confirm { name } => {
            let repo = engine.confirm_repo(name)?;
            println!(
                "confirmed {name} at {}; `ferret index {name}` brings it up to date",
                repo.root.display()
            );
        }
    }
    Ok(())
}

/// First Ctrl-C: finish the current batch, save, and stop. Second: exit at once (SQLite's
/// journal still keeps the database consistent).
pub(crate) fn install_ctrlc(cancel: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            eprintln!("\nferret: stopping now");
            ferret_engine::pipeline::embed::exit_now(130);
        }
        eprintln!(
            "\nferret: finishing the current batch and saving (Ctrl-C again to stop at once)"
        );
    });
}
