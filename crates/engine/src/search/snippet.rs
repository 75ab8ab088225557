//! What a hit shows: the window of a chunk's lines with the most query matches, and where
//! those matches are, so the CLI and the UI can highlight them.

use super::{Highlight, SNIPPET_LINES};
use crate::pipeline::tokens;
use crate::search::query::{self, ParsedQuery};

/// Lowercase pieces of the query worth highlighting: phrases, whole terms and their parts.
pub(super) fn highlight_needles(q: &ParsedQuery) -> Vec<String> {
    let mut needles: Vec<String> = q.phrases.iter().map(|p| p.to_lowercase()).collect();
    for term in q.terms.iter().filter(|t| !query::is_stop_word(t)) {
        let lower = term.to_lowercase();
        if lower.len() >= 3 {
            needles.push(lower);
        }
        needles.extend(
            tokens::split_identifier(term)
                .into_iter()
                .filter(|p| p.len() >= 3),
        );
    }
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    needles
}

/// Picks the `SNIPPET_LINES` window of `text` with the most needle hits and marks them.
/// Returns the snippet, its first line's offset in the chunk, and the highlights.
pub(super) fn make_snippet(text: &str, needles: &[String]) -> (String, u32, Vec<Highlight>) {
    let lines: Vec<&str> = text.split('\n').collect();
    let marks: Vec<Vec<(usize, usize)>> = lines
        .iter()
        .map(|line| find_needles(line, needles))
        .collect();
    let window = SNIPPET_LINES.min(lines.len());
    // Slide a window over the per-line hit counts and keep the first best one.
    let mut best = 0;
    let mut running: usize = marks[..window].iter().map(Vec::len).sum();
    let mut best_count = running;
    for start in 1..=lines.len() - window {
        running = running + marks[start + window - 1].len() - marks[start - 1].len();
        if running > best_count {
            best_count = running;
            best = start;
        }
    }
    // Show a line of context above the first hit when the window moved.
    if best > 0 && !marks[best].is_empty() {
        best -= 1;
    }
    let end = (best + window).min(lines.len());
    let snippet = lines[best..end].join("\n");
    let highlights = marks[best..end]
        .iter()
        .enumerate()
        .flat_map(|(i, spans)| {
            spans.iter().map(move |&(start, end)| Highlight {
                line: i as u32,
                start: start as u32,
                end: end as u32,
            })
        })
        .collect();
    (snippet, best as u32, highlights)
}

/// Non-overlapping byte ranges of `line` where a needle occurs (case-insensitive ASCII).
fn find_needles(line: &str, needles: &[String]) -> Vec<(usize, usize)> {
    if needles.is_empty() {
        return Vec::new();
    }
    let lower = line.to_ascii_lowercase();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for needle in needles {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(needle.as_str()) {
            let start = from + pos;
            let end = start + needle.len();
            let at_boundary = starts_word(line.as_bytes(), start);
            if at_boundary && !spans.iter().any(|&(s, e)| start < e && s < end) {
                spans.push((start, end));
            }
            from = end;
        }
    }
    spans.sort_unstable();
    spans
}

/// Whether a match at byte `i` starts a word or an identifier part (`parse` in
/// `parseArgs`, `args` in `parse_args` and `parseArgs`), so `on` does not light up in `long`.
fn starts_word(line: &[u8], i: usize) -> bool {
    let Some(&cur) = line.get(i) else {
        return false;
    };
    match i.checked_sub(1).and_then(|p| line.get(p)) {
        None => true,
        Some(&prev) => {
            !prev.is_ascii_alphanumeric() || (prev.is_ascii_lowercase() && cur.is_ascii_uppercase())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_picks_the_window_with_hits() {
        let text: String = (0..40)
            .map(|i| {
                if i == 25 {
                    "let parsed = parse_args(argv);".to_string()
                } else {
                    format!("line {i}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let needles = vec!["parse_args".to_string(), "parse".to_string()];
        let (snippet, offset, highlights) = make_snippet(&text, &needles);
        assert!(snippet.contains("parse_args(argv)"));
        assert!(offset <= 25 && offset + SNIPPET_LINES as u32 > 25);
        let marked: Vec<&str> = highlights
            .iter()
            .map(|h| {
                let line = snippet.split('\n').nth(h.line as usize).unwrap();
                &line[h.start as usize..h.end as usize]
            })
            .collect();
        assert_eq!(marked, ["parse", "parse_args"]);
    }
}
