//! Terminal rendering: the indexing progress bar and the printed results.

use std::io::IsTerminal;
use std::sync::Mutex;

use ferret_engine::remote::git::GitProgress;
use ferret_engine::{DiskBreakdown, IndexReport, Phase, Progress, SearchResults, Stats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An indicatif bar that follows the engine's progress events through the phases.
pub struct IndexDisplay {
    bar: ProgressBar,
    phase: Mutex<Option<Phase>>,
}

impl IndexDisplay {
    pub fn new(enabled: bool) -> Self {
        let bar = ProgressBar::new(0);
        if !enabled {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        IndexDisplay {
            bar,
            phase: Mutex::new(None),
        }
    }

    pub fn update(&self, p: &Progress) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if *phase != Some(p.phase) {
            *phase = Some(p.phase);
            let (template, len, pos) = match p.phase {
                Phase::Walking => ("{spinner} {prefix}: finding files", 0, 0),
                Phase::Chunking => (
                    "{spinner} {prefix}: lexical  [{bar:30}] {pos}/{len} files  {per_sec}  eta {eta}  {msg}",
                    p.files_total,
                    p.files_done,
                ),
                Phase::Embedding => (
                    "{spinner} {prefix}: semantic [{bar:30}] {pos}/{len} chunks  {per_sec}  eta {eta}",
                    p.embeddings_total,
                    p.embeddings_done,
                ),
                Phase::Reembedding => (
                    "{spinner} {prefix}: re-embedding [{bar:30}] {pos}/{len} chunks  {per_sec}  eta {eta}",
                    p.embeddings_total,
                    p.embeddings_done,
                ),
                Phase::Saving | Phase::Done => ("{spinner} saving the vector index", 0, 0),
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                self.bar.set_style(style.progress_chars("=> "));
            }
            self.bar.reset();
            self.bar.set_length(len);
            self.bar.set_position(pos);
        }
        self.bar.set_prefix(match (&p.model, p.phase) {
            (Some(model), Phase::Reembedding) => format!("model {model}"),
            _ => p.repo.clone(),
        });
        match p.phase {
            Phase::Chunking => {
                self.bar.set_position(p.files_done);
                self.bar.set_message(format!("{} chunks", p.chunks_written));
            }
            Phase::Embedding | Phase::Reembedding => self.bar.set_position(p.embeddings_done),
            _ => self.bar.tick(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar for a clone or fetch: objects received of total, then deltas resolved.
pub struct GitDisplay {
    bar: ProgressBar,
}

impl GitDisplay {
    pub fn new(prefix: &str) -> Self {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {prefix}: {msg} [{bar:30}] {pos}/{len}  {binary_bytes}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(prefix.to_string());
        GitDisplay { bar }
    }

    pub fn set_repo(&self, repo: &str) {
        self.bar.set_prefix(repo.to_string());
    }

    pub fn update(&self, p: &GitProgress) {
        if p.total_deltas > 0 && p.received_objects >= p.total_objects {
            self.bar.set_message("resolving deltas");
            self.bar.set_length(p.total_deltas);
            self.bar.set_position(p.indexed_deltas);
        } else {
            self.bar.set_message("receiving objects");
            self.bar.set_length(p.total_objects);
            self.bar.set_position(p.received_objects);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub fn print_report(r: &IndexReport) {
    println!(
        "indexed {} repo(s): {} files seen, {} changed, {} unchanged, {} removed, {} skipped",
        r.repos, r.files_seen, r.files_changed, r.files_unchanged, r.files_removed, r.files_skipped
    );
    println!(
        "chunks: {} written, {} removed; embeddings: {} computed",
        r.chunks_written, r.chunks_removed, r.embeddings_computed
    );
    let rate = if r.embed_secs > 0.0 {
        r.embeddings_computed as f64 / r.embed_secs
    } else {
        0.0
    };
    println!(
        "time: {:.1}s lexical, {:.1}s semantic ({rate:.1} chunks/s), {:.1}s total",
        r.lexical_secs, r.embed_secs, r.total_secs
    );
}

/// The hits as text, under a "no strong match" line when nothing answers the query.
pub fn print_hits(found: &SearchResults, explain: bool) {
    let hits = &found.hits;
    if hits.is_empty() {
        println!("no results (try other words, `--mode semantic`, or check `ferret stats`)");
        return;
    }
    let color = std::io::stdout().is_terminal();
    let (bold, dim, hl, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    if found.no_strong_match {
        println!("{bold}no strong match:{reset} nothing indexed clearly answers this; the closest results follow.");
        if let Some(evidence) = found.evidence.as_ref().filter(|_| explain) {
            println!(
                "{dim}        why: {}{reset}",
                ferret_engine::search::confidence::explain(evidence)
            );
        }
        println!();
    }
    for hit in hits {
        let found = match (hit.lexical_rank, hit.semantic_rank) {
            (Some(l), Some(s)) => format!("lexical #{l}, semantic #{s}"),
            (Some(l), None) => format!("lexical #{l}"),
            (None, Some(s)) => format!("semantic #{s}"),
            (None, None) => String::new(),
        };
        println!(
            "{bold}{}/{}:{}-{}{reset} {}{dim}[{} {:.4} {found}]{reset}",
            hit.repo,
            hit.path,
            hit.start_line,
            hit.end_line,
            hit.symbol
                .as_deref()
                .map(|s| format!("{s} "))
                .unwrap_or_default(),
            hit.language,
            hit.score,
        );
        if explain {
            if hit.signals.is_empty() {
                println!("{dim}        why: retrieval order only{reset}");
            }
            for signal in &hit.signals {
                println!(
                    "{dim}        why: {:<10} {:+.4}  {}{reset}",
                    signal.signal, signal.change, signal.detail
                );
            }
        }
        if hit.stale {
            println!("{dim}        changed since it was indexed (`ferret index` shows the new text){reset}\n");
            continue;
        }
        for (i, line) in hit.snippet.split('\n').enumerate() {
            let mut rendered = String::new();
            let mut at = 0;
            for h in hit.highlights.iter().filter(|h| h.line as usize == i) {
                let (start, end) = (h.start as usize, h.end as usize);
                if start < at
                    || end > line.len()
                    || !line.is_char_boundary(start)
                    || !line.is_char_boundary(end)
                {
                    continue;
                }
                rendered.push_str(&line[at..start]);
                rendered.push_str(hl);
                rendered.push_str(&line[start..end]);
                rendered.push_str(reset);
                at = end;
            }
            rendered.push_str(&line[at..]);
            println!(
                "{dim}{:>6}{reset}  {rendered}",
                hit.snippet_start_line as usize + i
            );
        }
        println!();
    }
}

pub fn print_stats(s: &Stats) {
    println!("profile      {} ({})", s.profile, s.data_dir.display());
    println!("model        {}", s.model_id);
    println!("repos        {}", s.repos);
    println!("files        {}", s.files);
    println!("chunks       {}", s.chunks);
    println!(
        "embedded     {} ({:.1}% semantic, {} distinct texts pending)",
        s.embedded_chunks,
        s.semantic_coverage * 100.0,
        s.pending_embeddings
    );
    if s.skipped.is_empty() {
        println!("skipped      none");
    } else {
        let parts: Vec<String> = s.skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
        println!("skipped      {}", parts.join(", "));
    }
    println!(
        "disk         {} (database with its write-ahead log); source {}",
        human(s.bytes_on_disk),
        human(s.source_bytes)
    );
}

/// Where the bytes go, each part with its share of the source size.
pub fn print_disk(d: &DiskBreakdown) {
    let ratio = |bytes: u64| {
        if d.source == 0 {
            String::new()
        } else {
            format!(" ({:.2}x source)", bytes as f64 / d.source as f64)
        }
    };
    for (name, bytes) in [
        ("chunks", d.chunks),
        ("full-text", d.fts),
        ("embeddings", d.embeddings),
        ("metadata", d.metadata),
        ("free + WAL", d.free_and_wal),
        ("snapshots", d.snapshots),
    ] {
        println!("  {name:<12} {:>10}{}", human(bytes), ratio(bytes));
    }
    println!("  {:<12} {:>10}{}", "total", human(d.total), ratio(d.total));
}

pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
