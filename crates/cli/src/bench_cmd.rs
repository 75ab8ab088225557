//! `ferret bench` and `ferret eval`: measurement commands. The measuring lives in the
//! engine (`ferret_engine::dev::bench`, `ferret_engine::dev::eval`); this file parses and prints.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use ferret_engine::dev::bench::{self, BenchReport};
use ferret_engine::dev::eval;
use ferret_engine::{Engine, SearchMode};

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
    /// Measure live indexing instead: save-to-searchable latency of one-line edits with the
    /// watcher and job runner running, embeddings per edit, a branch-switch re-index, and
    /// search latency while a large embedding job runs (on a copy of --repo).
    #[arg(long, conflicts_with = "synthetic")]
    live: bool,
    /// Measure a big index instead: these repositories indexed together into a scratch
    /// profile (with every core, like `ferret repo add`), with time to lexical-searchable
    /// and to fully semantic, peak memory, searches during indexing and after, size by
    /// part, disk use over time and the cost of opening the result.
    #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with_all = ["synthetic", "live"])]
    scale: Vec<PathBuf>,
    /// Measure query latency on the profile's own index as it is (nothing is indexed):
    /// lexical, and semantic and hybrid when it has embeddings. For indexes too big to
    /// rebuild for every measurement.
    #[arg(long, conflicts_with_all = ["synthetic", "live", "scale", "repo"])]
    pub on_index: bool,
    /// Edits to time with --live.
    #[arg(long, default_value_t = 24, requires = "live")]
    edits: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Embedding model version to measure (`ferret model list`; default: the default model).
    #[arg(long)]
    model: Option<String>,
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
    /// Score only one half: `dev` (tune on it) or `check` (report it). Default: both.
    #[arg(long)]
    split: Option<String>,
    /// Write the full report as JSON to this file (a baseline for --compare).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Compare with a report saved earlier by --save: score deltas and every case that moved.
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Instead of scoring, write each case's lexical and semantic top hits with their raw
    /// scores (JSON) to this file, for studying fusion offline.
    #[arg(long, value_name = "FILE")]
    candidates: Option<PathBuf>,
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
    if !args.scale.is_empty() {
        let threads = args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        return scale(
            &args.scale,
            scratch.path(),
            model_dir,
            threads,
            &queries,
            args.json,
        );
    }
    let repo = match &args.repo {
        Some(repo) => repo.clone(),
        None => std::env::current_dir()?,
    };
    if args.live {
        return live(args, &repo, scratch.path(), model_dir, threads, &queries);
    }
    eprintln!(
        "indexing {} with {threads} thread(s) into a scratch profile...",
        repo.display()
    );
    let r = bench::bench_repo(
        &repo,
        scratch.path(),
        model_dir,
        threads,
        &queries,
        args.model.as_deref(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "repo        {} ({} files, {} lines, {}), model {}",
        repo.display(),
        r.files,
        r.source_lines,
        human(r.source_bytes),
        r.model
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

fn live(
    args: &BenchArgs,
    repo: &std::path::Path,
    scratch: &std::path::Path,
    model_dir: Option<PathBuf>,
    threads: usize,
    queries: &[String],
) -> anyhow::Result<()> {
    eprintln!(
        "copying {} and measuring live indexing with {threads} thread(s) ({} edits)...",
        repo.display(),
        args.edits
    );
    let r = bench::live::bench_live(repo, scratch, model_dir, threads, args.edits, queries)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let per_edit = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        let median = v.get(v.len() / 2).copied().unwrap_or(0);
        (median, v.last().copied().unwrap_or(0))
    };
    let (median, max) = per_edit(&r.embeddings_per_edit);
    println!(
        "repo              {} ({} files, {} chunks), {} thread(s)",
        r.repo.display(),
        r.files,
        r.chunks,
        r.threads
    );
    println!("clean index       {:.2} s", r.clean_index_secs);
    println!(
        "edit → lexical    p50 {:.0} ms  p95 {:.0} ms  max {:.0} ms  ({} edits, {} ms debounce, {} timed out)",
        r.edit_to_lexical.p50_ms,
        r.edit_to_lexical.p95_ms,
        r.edit_to_lexical.max_ms,
        r.edit_to_lexical.samples,
        r.debounce_ms,
        r.edits_timed_out
    );
    println!(
        "edit → embedded   p50 {:.0} ms  p95 {:.0} ms  max {:.0} ms  (target < 1000 ms)",
        r.edit_to_embedded.p50_ms, r.edit_to_embedded.p95_ms, r.edit_to_embedded.max_ms
    );
    println!("embeddings/edit   median {median}, max {max} (target: the changed chunk only, 1)");
    println!(
        "branch switch     {} files rewritten → settled in {:.2} s, {} embeddings ({:.2}x the clean index)",
        r.switch_files, r.switch_secs, r.switch_embeddings, r.switch_ratio
    );
    println!(
        "hybrid idle       p50 {:.1} ms  p95 {:.1} ms  ({} queries)",
        r.search_idle.p50_ms, r.search_idle.p95_ms, r.search_idle.queries
    );
    println!(
        "hybrid loaded     p50 {:.1} ms  p95 {:.1} ms  ({} embeddings stored meanwhile{})",
        r.search_loaded.p50_ms,
        r.search_loaded.p95_ms,
        r.load_embeddings_during,
        if r.load_still_embedding_at_end {
            ", still embedding at the end"
        } else {
            ", embedding FINISHED before the end"
        }
    );
    println!(
        "load ratio        p50 {:.2}x  p95 {:.2}x  (target <= 2x)",
        r.load_ratio_p50, r.load_ratio_p95
    );
    Ok(())
}

/// `ferret bench --on-index`: latency of the profile's index as it stands.
pub fn on_index(args: &BenchArgs, engine: &Engine) -> anyhow::Result<()> {
    let queries = queries(args)?;
    let stats = engine.stats()?;
    let mut modes = vec![SearchMode::Lexical];
    if stats.embedded_chunks > 0 {
        modes.extend([SearchMode::Semantic, SearchMode::Hybrid]);
    }
    eprintln!(
        "measuring {} queries x 10 on {} chunks ({} embedded)...",
        queries.len(),
        stats.chunks,
        stats.embedded_chunks
    );
    let latency = bench::measure_latency(engine, &queries, &modes, 10)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&latency)?);
        return Ok(());
    }
    print_latencies(&latency);
    Ok(())
}

fn print_latency(r: &BenchReport) {
    print_latencies(&r.latency);
}

fn print_latencies(latency: &[bench::Latency]) {
    for l in latency {
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
    let mut cases = eval::load_cases(&args.file)?;
    if let Some(split) = &args.split {
        let split: eval::Split = split.parse()?;
        cases.retain(|c| c.split == split);
    }
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
                None => eprintln!("ferret: warning: repository {name} of the eval set was not found on this machine (tests/eval/fetch-repos.sh brings it); its cases will miss"),
            }
        }
        eprintln!("indexing the eval repositories...");
        engine.index(None, &AtomicBool::new(false), false, &|_| {})?;
    }
    if let Some(out) = &args.candidates {
        let dump = eval::candidates(engine, &cases, 100)?;
        std::fs::write(out, serde_json::to_string(&dump)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
        eprintln!(
            "wrote the candidates of {} cases to {}",
            cases.len(),
            out.display()
        );
        return Ok(());
    }
    let baseline: Option<eval::EvalReport> = match &args.compare {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a report saved by `ferret eval --save`: {e}",
                    path.display()
                )
            })?)
        }
        None => None,
    };
    let report = eval::run(engine, &cases, &modes)?;
    if let Some(path) = &args.save {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let unanswerable = cases.iter().filter(|c| c.unanswerable).count();
    print_eval(
        &report,
        baseline.as_ref(),
        cases.len() - unanswerable,
        unanswerable,
    );
    Ok(())
}

/// The report as tables: per mode, then per kind and per repository (R@10 / MRR), with the
/// change from `baseline` in brackets when there is one; then the "no strong match" flag's
/// rates.
fn print_eval(
    report: &eval::EvalReport,
    baseline: Option<&eval::EvalReport>,
    cases: usize,
    unanswerable: usize,
) {
    let before = |mode: SearchMode, group: Option<(&str, &str)>| {
        let base = baseline?;
        match group {
            None => base.modes.iter().find(|m| m.mode == mode).cloned(),
            Some((by, name)) => base
                .groups
                .iter()
                .find(|g| g.score.mode == mode && g.by == by && g.name == name)
                .map(|g| g.score.clone()),
        }
    };
    let delta = |now: f64, was: Option<f64>| match was {
        Some(was) if (now - was).abs() >= 0.0005 => format!(" ({:+.3})", now - was),
        Some(_) => " (=)".to_string(),
        None => String::new(),
    };
    println!(
        "{:<9} {:>6} {:>6} {:>14} {:>14} {:>8}",
        "mode", "R@1", "R@5", "R@10", "MRR@10", "p50 ms"
    );
    for m in &report.modes {
        let was = before(m.mode, None);
        println!(
            "{:<9} {:>6.3} {:>6.3} {:>14} {:>14} {:>8.1}",
            mode_name(m.mode),
            m.recall_at_1,
            m.recall_at_5,
            format!(
                "{:.3}{}",
                m.recall_at_10,
                delta(m.recall_at_10, was.as_ref().map(|w| w.recall_at_10))
            ),
            format!("{:.3}{}", m.mrr, delta(m.mrr, was.as_ref().map(|w| w.mrr))),
            m.p50_ms
        );
    }
    println!("({cases} answerable cases)");
    for by in ["kind", "repo"] {
        println!("\nby {by}: R@10 / MRR@10 (cases)");
        let names: std::collections::BTreeSet<&str> = report
            .groups
            .iter()
            .filter(|g| g.by == by)
            .map(|g| g.name.as_str())
            .collect();
        print!("{:<12}", "");
        for m in &report.modes {
            print!(" {:>26}", mode_name(m.mode));
        }
        println!();
        for name in names {
            print!("{name:<12}");
            let mut count = 0;
            for m in &report.modes {
                let Some(g) = report
                    .groups
                    .iter()
                    .find(|g| g.by == by && g.name == name && g.score.mode == m.mode)
                else {
                    continue;
                };
                count = g.score.cases;
                let was = before(m.mode, Some((by, name)));
                let cell = format!(
                    "{:.2}{} / {:.2}",
                    g.score.recall_at_10,
                    delta(g.score.recall_at_10, was.as_ref().map(|w| w.recall_at_10)),
                    g.score.mrr
                );
                print!(" {cell:>26}");
            }
            println!("  ({count})");
        }
    }
    if unanswerable > 0 {
        print_flags(report);
    }
    if let Some(base) = baseline {
        let changes = eval::compare(base, report);
        if !changes.is_empty() {
            println!("\ncases that moved (rank before -> after; - is a miss), losses first:");
            let show = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
            for c in changes {
                println!(
                    "  {:<16} {:<9} {:>2} -> {:<2}",
                    c.id,
                    mode_name(c.mode),
                    show(c.before),
                    show(c.after)
                );
            }
        }
    }
}

/// "No strong match" per mode, split and kind of query: the share of unanswerable cases
/// flagged (should be high) and of answerable ones (should be low).
fn print_flags(report: &eval::EvalReport) {
    println!("\nno strong match: unanswerable flagged / answerable flagged (cases)");
    println!(
        "{:<9} {:<6} {:<8} {:>20} {:>20}",
        "mode", "split", "query", "unanswerable", "answerable"
    );
    for f in &report.flags {
        let cell = |flagged: usize, total: usize, rate: f64| {
            if total == 0 {
                "-".to_string()
            } else {
                format!("{:.0}% ({flagged}/{total})", 100.0 * rate)
            }
        };
        println!(
            "{:<9} {:<6} {:<8} {:>20} {:>20}",
            mode_name(f.mode),
            f.split,
            f.query_kind,
            cell(
                f.unanswerable_flagged,
                f.unanswerable,
                f.unanswerable_rate()
            ),
            cell(f.answerable_flagged, f.answerable, f.answerable_rate()),
        );
    }
}

fn mode_name(mode: SearchMode) -> String {
    format!("{mode:?}").to_lowercase()
}

fn scale(
    repos: &[PathBuf],
    scratch: &std::path::Path,
    model_dir: Option<PathBuf>,
    threads: usize,
    queries: &[String],
    json: bool,
) -> anyhow::Result<()> {
    eprintln!(
        "indexing {} repositories with {threads} thread(s)...",
        repos.len()
    );
    let r = bench::scale::bench_scale(repos, scratch, model_dir, threads, queries)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "source      {} files, {} lines, {}; {} chunks",
        r.files,
        r.source_lines,
        human(r.source_bytes),
        r.chunks
    );
    println!(
        "lexical     searchable after {:.1} s ({:.0} files/s)",
        r.lexical_secs, r.files_per_sec
    );
    println!(
        "semantic    complete after {:.1} s ({} embeddings, {:.1} chunks/s on {} thread(s))",
        r.index_secs, r.embeddings, r.chunks_per_sec, r.threads
    );
    println!(
        "peak RSS    {:.0} MiB (opened {:.0}, lexical phase up to {:.0}, embedding up to {:.0}, after {:.0})",
        r.peak_rss_mib,
        r.rss.opened_mib,
        r.rss.lexical_max_mib,
        r.rss.embedding_max_mib,
        r.rss.after_mib
    );
    for (when, latency) in [("during", &r.during), ("after", &r.after)] {
        for l in latency {
            println!(
                "search {when:<6} {:?}: p50 {:.1} ms, p99 {:.1} ms ({} queries)",
                l.mode, l.p50_ms, l.p99_ms, l.queries
            );
        }
    }
    println!(
        "open        {:.0} ms after a clean close, {:.0} ms after a crash (integrity check)",
        r.open_clean_ms, r.open_unclean_ms
    );
    println!(
        "vectors     {} chunks, {} vectors read from the database in {:.0} ms; {} in memory",
        r.vectors.chunks,
        r.vectors.vectors,
        r.vectors_load_ms,
        human(r.vectors.memory_bytes)
    );
    println!(
        "disk        {:.2}x the source (snapshots aside)",
        r.size_ratio
    );
    crate::progress::print_disk(&r.disk);
    let over_time: Vec<String> = r
        .disk_over_time
        .iter()
        .step_by((r.disk_over_time.len() / 12).max(1))
        .map(|(t, b)| format!("{t:.0}s {}", human(*b)))
        .collect();
    println!("disk use    {}", over_time.join(", "));
    Ok(())
}
