//! Compact text for a model to read: every token costs the agent, so results are grouped
//! by file, numbers come once, and snippets are trimmed to the lines that matter.

use std::fmt::Write as _;

use ferret_engine::background::{Job, JobState};
use ferret_engine::{FileContext, RepoInfo, SearchHit, SearchMode, SearchResults, Stats};

/// The line above results that do not answer the query.
pub const NO_STRONG_MATCH: &str = "no strong match: nothing indexed clearly answers this; the \
     hits below are only the closest code (the answer may not be in these repositories)";

/// Snippet lines shown per hit (the search already picked the most relevant ones).
const SNIPPET_LINES: usize = 8;
/// Longest line shown; longer ones (minified code, data) are cut.
const MAX_LINE_CHARS: usize = 160;

/// Search hits, grouped by file in rank order, under a "no strong match" line when nothing
/// found answers the query (so an agent does not take the closest code for the answer):
///
/// ```text
/// 3 hits for "parse args" (hybrid)
/// ## ripgrep: crates/core/flags/parse.rs (rust)
/// L40-72 fn parse_low [0.91, lexical+semantic]
///   40| pub(crate) fn parse_low() -> ParseResult<LowArgs> {
/// ```
pub fn hits(query: &str, mode: SearchMode, found: &SearchResults, notes: &[String]) -> String {
    let hits = &found.hits;
    let mut out = String::new();
    let mode = match mode {
        SearchMode::Hybrid => "hybrid",
        SearchMode::Lexical => "lexical",
        SearchMode::Semantic => "semantic",
    };
    let _ = writeln!(
        out,
        "{} hit{} for {query:?} ({mode})",
        hits.len(),
        if hits.len() == 1 { "" } else { "s" }
    );
    for note in notes {
        let _ = writeln!(out, "note: {note}");
    }
    if hits.is_empty() {
        out.push_str("no match: try other words, mode \"semantic\" for concepts, or index_status to check the index\n");
        return out;
    }
    if found.no_strong_match {
        out.push_str(NO_STRONG_MATCH);
        out.push('\n');
    }
    let mut files: Vec<(&str, &str, Vec<&SearchHit>)> = Vec::new();
    for hit in hits {
        match files
            .iter_mut()
            .find(|(repo, path, _)| *repo == hit.repo && *path == hit.path)
        {
            Some((_, _, group)) => group.push(hit),
            None => files.push((&hit.repo, &hit.path, vec![hit])),
        }
    }
    for (repo, path, group) in files {
        let _ = writeln!(out, "## {repo}: {path} ({})", group[0].language);
        for hit in group {
            let found_by = match (hit.lexical_rank, hit.semantic_rank) {
                (Some(_), Some(_)) => "lexical+semantic",
                (Some(_), None) => "lexical",
                (None, Some(_)) => "semantic",
                (None, None) => "-",
            };
            let what = match &hit.symbol {
                Some(symbol) => format!("{} {symbol}", hit.kind),
                None => hit.kind.clone(),
            };
            // The ranking stage's reasons, in a few words each (what moved the hit).
            let why = if hit.signals.is_empty() {
                String::new()
            } else {
                let reasons: Vec<&str> = hit.signals.iter().map(|s| s.detail.as_str()).collect();
                format!("; why: {}", reasons.join(", "))
            };
            let _ = writeln!(
                out,
                "L{}-{} {what} [{:.2}, {found_by}{why}]",
                hit.start_line, hit.end_line, hit.score
            );
            if hit.stale {
                let _ = writeln!(
                    out,
                    "  (the file changed since it was indexed; read it for its current text)"
                );
            }
            let lines: Vec<&str> = hit.snippet.lines().collect();
            for (i, line) in lines.iter().take(SNIPPET_LINES).enumerate() {
                let _ = writeln!(
                    out,
                    "  {}| {}",
                    hit.snippet_start_line as usize + i,
                    trim_line(line)
                );
            }
            if lines.len() > SNIPPET_LINES {
                let _ = writeln!(out, "  … ({} more lines)", lines.len() - SNIPPET_LINES);
            }
        }
    }
    out
}

/// File lines with their numbers.
pub fn lines(repo: &str, path: &str, context: &FileContext, start: u32, end: u32) -> String {
    let mut out = String::new();
    if context.lines.is_empty() {
        let _ = writeln!(out, "{repo}: {path} is empty");
        return out;
    }
    let last = context.start_line + context.lines.len() as u32 - 1;
    let _ = writeln!(out, "{repo}: {path} L{}-{last}", context.start_line);
    if context.start_line > start {
        let _ = writeln!(
            out,
            "note: the file has only {last} lines; showing its last ones"
        );
    }
    for (i, line) in context.lines.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}| {}",
            context.start_line as usize + i,
            trim_line(line)
        );
    }
    if last < end && context.start_line <= start {
        let _ = writeln!(out, "(end of file at line {last})");
    }
    out
}

/// The profile's repositories, one line each.
pub fn repos(repos: &[RepoInfo]) -> String {
    if repos.is_empty() {
        return "no repositories in this profile yet (add one with `ferret repo add PATH` or in the Ferret app)\n".into();
    }
    let mut out = format!("{} repositories\n", repos.len());
    for r in repos {
        let source = match &r.remote {
            Some(remote) => format!("github {remote}"),
            None => format!("local {}", r.root.display()),
        };
        let at = match (&r.branch, &r.head) {
            (Some(b), Some(h)) => format!(" {b}@{}", &h[..h.len().min(10)]),
            (Some(b), None) => format!(" {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}: {source}{at}, {} files, {} chunks, {}% semantic{}{}",
            r.name,
            r.files,
            r.chunks,
            percent(r.embedded_chunks, r.chunks),
            if r.paused { ", paused" } else { "" },
            if r.last_indexed_at.is_none() {
                ", not indexed yet"
            } else {
                ""
            },
        );
    }
    out
}

/// Whether results are complete: coverage, and the jobs that would change it.
pub fn status(stats: &Stats, jobs: &[Job], paused: bool, model_ready: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} repositories, {} files, {} chunks; {}% semantic (model {}{}){}",
        stats.repos,
        stats.files,
        stats.chunks,
        percent(stats.embedded_chunks, stats.chunks),
        stats.model_id,
        if model_ready { "" } else { ", loading" },
        if paused { "; indexing paused" } else { "" }
    );
    let open: Vec<&Job> = jobs.iter().filter(|j| !j.state.is_finished()).collect();
    if open.is_empty() {
        out.push_str("no indexing running or queued: results are complete for what is indexed\n");
    }
    for job in open {
        let target = job.repo.as_deref().unwrap_or("all repositories");
        let kind = serde_json::to_value(job.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            out,
            "job {} {kind} {target}: {}",
            job.id,
            job.state.as_str()
        );
        if job.state == JobState::Running {
            if job.embeddings_total > 0 {
                let _ = write!(
                    out,
                    ", embedding {}/{}",
                    job.embeddings_done, job.embeddings_total
                );
            } else if job.files_total > 0 {
                let _ = write!(out, ", files {}/{}", job.files_done, job.files_total);
            }
            if let Some(eta) = job.eta_secs {
                let _ = write!(out, ", about {eta:.0} s left");
            }
        }
        out.push('\n');
    }
    if let Some(failed) = jobs.iter().find(|j| j.state == JobState::Failed) {
        let _ = writeln!(
            out,
            "last failure (job {}): {}",
            failed.id,
            failed.error.as_deref().unwrap_or("unknown")
        );
    }
    out
}

fn percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        0
    } else if done >= total {
        100
    } else {
        done * 100 / total
    }
}

fn trim_line(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() <= MAX_LINE_CHARS {
        return line.to_string();
    }
    let cut: String = line.chars().take(MAX_LINE_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str, start: u32, symbol: &str, lexical: bool) -> SearchHit {
        SearchHit {
            repo: "r".into(),
            path: path.into(),
            start_line: start,
            end_line: start + 2,
            language: "rust".into(),
            symbol: Some(symbol.into()),
            kind: "fn".into(),
            snippet: "fn a() {\n    b()\n}".into(),
            snippet_start_line: start,
            highlights: Vec::new(),
            score: 0.5,
            lexical_rank: lexical.then_some(1),
            semantic_rank: Some(2),
            chunk_id: 1,
            stale: false,
            signals: Vec::new(),
        }
    }

    #[test]
    fn hits_are_grouped_by_file_in_rank_order_with_numbered_snippets() {
        let found = SearchResults {
            hits: vec![
                hit("a.rs", 10, "a", true),
                hit("b.rs", 1, "b", false),
                hit("a.rs", 30, "c", false),
            ],
            ..SearchResults::default()
        };
        let text = hits("q", SearchMode::Hybrid, &found, &[]);
        assert!(!text.contains("no strong match"), "{text}");
        let a = text.find("## r: a.rs").unwrap();
        let b = text.find("## r: b.rs").unwrap();
        assert!(a < b, "{text}");
        assert_eq!(
            text.matches("## r: a.rs").count(),
            1,
            "one heading per file"
        );
        assert!(
            text.contains("L10-12 fn a [0.50, lexical+semantic]"),
            "{text}"
        );
        assert!(text.contains("L30-32 fn c [0.50, semantic]"), "{text}");
        assert!(text.contains("  11|     b()"), "{text}");
    }

    #[test]
    fn no_strong_match_is_said_above_the_closest_hits() {
        let found = SearchResults {
            hits: vec![hit("a.rs", 10, "a", true)],
            no_strong_match: true,
            evidence: None,
        };
        let text = hits("q", SearchMode::Hybrid, &found, &[]);
        let flag = text.find("no strong match:").expect("the flag is said");
        assert!(flag < text.find("## r: a.rs").unwrap(), "{text}");
        // Nothing at all is a plain "no match", not a weak one.
        let empty = SearchResults {
            no_strong_match: true,
            ..SearchResults::default()
        };
        let text = hits("q", SearchMode::Hybrid, &empty, &[]);
        assert!(text.contains("no match:") && !text.contains("no strong match"));
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(500);
        assert_eq!(trim_line(&long).chars().count(), MAX_LINE_CHARS + 1);
    }
}
