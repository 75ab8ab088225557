//! Answers a query: BM25 over FTS5 and cosine over the vector index, fused with reciprocal
//! rank fusion (k = 60), with `repo:`, `lang:`, `path:` and `-path:` filters applied *before*
//! either top-k (so a filter never empties a result list that had matches) and quoted
//! phrases required verbatim.
//!
//! RRF is used instead of mixing raw scores because BM25 and cosine live on unrelated
//! scales; ranks are comparable, scores are not. A chunk found by both rankings rises above
//! chunks found by one, which is exactly the behaviour hybrid search wants.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::chunk::Language;
use crate::embed::Embedder;
use crate::query::{self, ParsedQuery, PathFilter};
use crate::store::{ChunkRow, Store};
use crate::vectors::{self, VectorIndex};
use crate::{tokens, Error, Result};

/// The RRF constant from the original paper (Cormack et al.), also DESIGN.md section 5.
const RRF_K: f64 = 60.0;
/// Candidates taken from each ranking before fusion.
const CANDIDATES: usize = 100;
/// Lines of context a snippet shows.
const SNIPPET_LINES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    #[default]
    Hybrid,
    Lexical,
    Semantic,
}

impl FromStr for SearchMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "hybrid" => Ok(SearchMode::Hybrid),
            "lexical" | "bm25" | "text" => Ok(SearchMode::Lexical),
            "semantic" | "vector" => Ok(SearchMode::Semantic),
            other => Err(Error::InvalidInput(format!(
                "unknown search mode {other:?}: use hybrid, lexical or semantic"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchOptions {
    pub limit: usize,
    pub mode: SearchMode,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            mode: SearchMode::Hybrid,
        }
    }
}

/// A highlighted range in a snippet: line index within the snippet, byte columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Highlight {
    pub line: u32,
    pub start: u32,
    pub end: u32,
}

/// One result, as the CLI prints it and the UI shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchHit {
    pub repo: String,
    /// Relative to the repository root, `/` separated.
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub language: String,
    pub symbol: Option<String>,
    pub kind: String,
    /// The most relevant lines of the chunk.
    pub snippet: String,
    /// The file line number of the snippet's first line.
    pub snippet_start_line: u32,
    pub highlights: Vec<Highlight>,
    /// The fused score (RRF in hybrid mode; BM25 or cosine in single modes).
    pub score: f64,
    /// 1-based rank in the lexical ranking, when it found this chunk.
    pub lexical_rank: Option<u32>,
    /// 1-based rank in the semantic ranking, when it found this chunk.
    pub semantic_rank: Option<u32>,
    pub chunk_id: i64,
}

/// Chunks of the same file and symbol (the windows of one definition) rank as one.
type GroupKey<'a> = (&'a str, &'a str, Option<&'a str>, i64);

fn group_key(row: &ChunkRow) -> GroupKey<'_> {
    match row.symbol.as_deref() {
        Some(symbol) => (row.repo.as_str(), row.path.as_str(), Some(symbol), 0),
        None => (row.repo.as_str(), row.path.as_str(), None, row.id),
    }
}

/// A definition's fused score, its rank in each ranking, and its best chunk.
struct Group {
    score: f64,
    lexical_rank: Option<u32>,
    semantic_rank: Option<u32>,
    best: (f64, i64),
}

/// What a search needs besides the query.
pub struct SearchContext<'a> {
    pub store: &'a Store,
    pub vectors: Option<&'a VectorIndex>,
    pub embedder: Option<&'a Embedder>,
}

/// Runs `query` and returns at most `opts.limit` hits, best first.
pub fn search(
    ctx: &SearchContext<'_>,
    query: &str,
    opts: &SearchOptions,
) -> Result<Vec<SearchHit>> {
    let parsed = query::parse_query(query)?;
    let filter = Filter::new(ctx.store, &parsed)?;
    if filter.as_ref().is_some_and(|f| f.chunk_ids.is_empty()) {
        return Ok(Vec::new());
    }
    let wanted = if parsed.phrases.is_empty() {
        CANDIDATES.max(opts.limit)
    } else {
        // Phrases are verified on the text after retrieval: fetch more to keep enough.
        (CANDIDATES * 4).max(opts.limit * 4)
    };

    let lexical = match opts.mode {
        SearchMode::Semantic => Vec::new(),
        _ => lexical_ranking(ctx.store, &parsed, filter.as_ref(), wanted)?,
    };
    let semantic = match opts.mode {
        SearchMode::Lexical => Vec::new(),
        _ => semantic_ranking(ctx, &parsed, filter.as_ref(), wanted)?,
    };

    // Fetch the candidates once: grouping and phrase checks need their rows.
    let mut ids: Vec<i64> = lexical.iter().chain(&semantic).map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: HashMap<i64, ChunkRow> = ctx
        .store
        .chunks_by_ids(&ids)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let phrases: Vec<String> = parsed.phrases.iter().map(|p| p.to_lowercase()).collect();
    let admissible = |row: &ChunkRow| {
        phrases.is_empty() || {
            let text = row.text.to_lowercase();
            phrases.iter().all(|p| text.contains(p.as_str()))
        }
    };

    // Fuse by rank, per definition: the windows of one long function are one candidate (a
    // lexical hit on one window and a semantic hit on another both count for it), and a
    // result list never shows the same definition twice.
    let mut groups: HashMap<GroupKey<'_>, Group> = HashMap::new();
    for (list, lexical_list) in [(&lexical, true), (&semantic, false)] {
        let mut seen = HashSet::new();
        let mut rank = 0u32;
        for (id, raw_score) in list {
            // A vector key can outlive its chunk in a stale index another process saved.
            let Some(row) = rows.get(id) else { continue };
            if !admissible(row) {
                continue;
            }
            let key = group_key(row);
            if !seen.insert(key) {
                continue;
            }
            rank += 1;
            let contribution = match opts.mode {
                SearchMode::Hybrid => 1.0 / (RRF_K + rank as f64),
                _ => *raw_score,
            };
            let group = groups.entry(key).or_insert(Group {
                score: 0.0,
                lexical_rank: None,
                semantic_rank: None,
                best: (f64::MIN, *id),
            });
            group.score += contribution;
            if lexical_list {
                group.lexical_rank = Some(rank);
            } else {
                group.semantic_rank = Some(rank);
            }
            if contribution > group.best.0 {
                group.best = (contribution, *id);
            }
        }
    }
    let mut ranked: Vec<Group> = groups.into_values().collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.best.1.cmp(&b.best.1)));

    let needles = highlight_needles(&parsed);
    let mut hits = Vec::with_capacity(opts.limit);
    for group in ranked.into_iter().take(opts.limit) {
        let id = group.best.1;
        let Some(row) = rows.get(&id) else { continue };
        let (score, lexical_rank, semantic_rank) =
            (group.score, group.lexical_rank, group.semantic_rank);
        let (snippet, snippet_offset, highlights) = make_snippet(&row.text, &needles);
        hits.push(SearchHit {
            repo: row.repo.clone(),
            path: row.path.clone(),
            start_line: row.start_line,
            end_line: row.end_line,
            language: row.language.clone(),
            symbol: row.symbol.clone(),
            kind: row.kind.clone(),
            snippet,
            snippet_start_line: row.start_line + snippet_offset,
            highlights,
            score,
            lexical_rank,
            semantic_rank,
            chunk_id: id,
        });
    }
    Ok(hits)
}

/// The chunks the query's qualifiers allow, computed up front so both rankings can apply
/// them before their top-k.
struct Filter {
    chunk_ids: HashSet<i64>,
}

impl Filter {
    fn new(store: &Store, q: &ParsedQuery) -> Result<Option<Self>> {
        if q.repos.is_empty()
            && q.langs.is_empty()
            && q.paths.is_empty()
            && q.exclude_paths.is_empty()
        {
            return Ok(None);
        }
        let repos = store.repos()?;
        let mut repo_ids = HashSet::new();
        for wanted in &q.repos {
            let found: Vec<i64> = repos
                .iter()
                .filter(|r| {
                    r.name.eq_ignore_ascii_case(wanted)
                        || r.name
                            .rsplit('/')
                            .next()
                            .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                })
                .map(|r| r.id)
                .collect();
            if found.is_empty() {
                let names: Vec<&str> = repos.iter().map(|r| r.name.as_str()).collect();
                return Err(Error::InvalidInput(format!(
                    "no repository named {wanted:?}; known: {}",
                    if names.is_empty() {
                        "none (add one with `ferret repo add PATH`)".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            }
            repo_ids.extend(found);
        }
        let mut langs = HashSet::new();
        for wanted in &q.langs {
            let lang = Language::from_name(wanted).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown language {wanted:?} in lang:; try e.g. lang:rust, lang:python, lang:ts"
                ))
            })?;
            langs.insert(lang.name().to_string());
        }
        let paths = PathFilter::new(&q.paths, &q.exclude_paths)?;

        let conn = store.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT c.id, f.repo_id, f.language, f.path FROM chunks c JOIN files f ON f.id = c.file_id",
            )
            .map_err(|e| store.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| store.err(e))?;
        let mut chunk_ids = HashSet::new();
        let mut path_ok: HashMap<String, bool> = HashMap::new();
        while let Some(row) = rows.next().map_err(|e| store.err(e))? {
            let repo_id: i64 = row.get(1).map_err(|e| store.err(e))?;
            if !repo_ids.is_empty() && !repo_ids.contains(&repo_id) {
                continue;
            }
            let language: String = row.get(2).map_err(|e| store.err(e))?;
            if !langs.is_empty() && !langs.contains(&language) {
                continue;
            }
            if !paths.is_empty() {
                let path: String = row.get(3).map_err(|e| store.err(e))?;
                let ok = *path_ok.entry(path).or_insert_with_key(|p| paths.matches(p));
                if !ok {
                    continue;
                }
            }
            chunk_ids.insert(row.get(0).map_err(|e| store.err(e))?);
        }
        Ok(Some(Filter { chunk_ids }))
    }
}

/// BM25 over the FTS5 table: symbol hits weigh most, then path, then body.
fn lexical_ranking(
    store: &Store,
    q: &ParsedQuery,
    filter: Option<&Filter>,
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    let Some(expr) = query::fts_match_expression(q) else {
        return Ok(Vec::new());
    };
    let conn = store.conn();
    let mut out = Vec::new();
    match filter {
        None => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT rowid, bm25(chunks_fts, 4.0, 2.0, 1.0) AS s FROM chunks_fts
                     WHERE chunks_fts MATCH ?1 ORDER BY s LIMIT ?2",
                )
                .map_err(|e| store.err(e))?;
            let rows = stmt
                .query_map(rusqlite::params![expr, limit as i64], |r| {
                    Ok((r.get(0)?, -r.get::<_, f64>(1)?))
                })
                .map_err(|e| store.err(e))?;
            for row in rows {
                out.push(row.map_err(|e| store.err(e))?);
            }
        }
        Some(filter) => {
            // Rank everything that matches, keep what the filter allows: the filter is
            // applied before the top-k cut.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT rowid, bm25(chunks_fts, 4.0, 2.0, 1.0) AS s FROM chunks_fts
                     WHERE chunks_fts MATCH ?1 ORDER BY s",
                )
                .map_err(|e| store.err(e))?;
            let mut rows = stmt
                .query(rusqlite::params![expr])
                .map_err(|e| store.err(e))?;
            while let Some(row) = rows.next().map_err(|e| store.err(e))? {
                let id: i64 = row.get(0).map_err(|e| store.err(e))?;
                if filter.chunk_ids.contains(&id) {
                    out.push((id, -row.get::<_, f64>(1).map_err(|e| store.err(e))?));
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Cosine over the vector index for the query's free text (qualifiers removed).
fn semantic_ranking(
    ctx: &SearchContext<'_>,
    q: &ParsedQuery,
    filter: Option<&Filter>,
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    let (Some(vectors), Some(embedder)) = (ctx.vectors, ctx.embedder) else {
        return Ok(Vec::new());
    };
    if q.text.trim().is_empty() || vectors.is_empty() {
        return Ok(Vec::new());
    }
    let query_vector = vectors::quantize(&embedder.embed_query(&q.text)?);
    let hits = match filter {
        None => vectors.search(&query_vector, limit, None)?,
        Some(filter) => {
            let allow = |key: u64| filter.chunk_ids.contains(&(key as i64));
            vectors.search(&query_vector, limit, Some(&allow))?
        }
    };
    Ok(hits
        .into_iter()
        .map(|(id, sim)| (id as i64, sim as f64))
        .collect())
}

/// Lowercase pieces of the query worth highlighting: phrases, whole terms and their parts.
fn highlight_needles(q: &ParsedQuery) -> Vec<String> {
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
fn make_snippet(text: &str, needles: &[String]) -> (String, u32, Vec<Highlight>) {
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
    fn modes_parse() {
        assert_eq!(
            "Lexical".parse::<SearchMode>().unwrap(),
            SearchMode::Lexical
        );
        assert!("fuzzy".parse::<SearchMode>().is_err());
    }

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
