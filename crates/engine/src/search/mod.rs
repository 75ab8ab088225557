//! Answers a query: BM25 over FTS5 and cosine over the vector index, fused per query by how
//! much lexical evidence there is ([`fusion`]), with `repo:`, `lang:`, `path:` and `-path:`
//! filters applied *before* either top-k ([`filter`]: a filter never empties a result list
//! that had matches) and quoted phrases required verbatim. Each hit carries a snippet with
//! highlights ([`snippet`]).
//!
//! The flow of one search: parse the query ([`crate::search::query`]) → filter → lexical
//! ranking (FTS5, with a bounded amount of work per query: [`lexical`]) and semantic ranking
//! (the exact vector scan), each a top-k of chunks → group chunks into definitions (the
//! windows of one long function are one candidate) → fuse → snippets.

pub mod confidence;
mod filter;
pub mod fusion;
mod lexical;
pub(crate) mod query;
pub mod rank;
mod snippet;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::pipeline::embed::Embedder;
use crate::store::{ChunkRow, Store};
use crate::vectors::{self, VectorIndex};
use crate::{Error, Result};
use filter::Filter;
use lexical::lexical_ranking;
use query::ParsedQuery;
use rank::{Candidate, RankQuery, Signal, Weights};
use snippet::{highlight_needles, make_snippet};

/// Candidates taken from each ranking before fusion.
const CANDIDATES: usize = 100;
/// Most hits one search returns, whatever the caller asks for: a larger `limit` is clamped
/// to it. Limits come from outside (`ferret search -n`, a request on the profile's socket,
/// an agent), and each hit costs memory up front and a file read for its snippet, so an
/// unbounded one (`-n 1000000000000`) would make the process that serves everyone's searches
/// reserve terabytes and abort. No screen or agent reads more than a thousand hits.
pub const MAX_LIMIT: usize = 1000;
/// Lines of context a snippet shows.
const SNIPPET_LINES: usize = 10;
/// Chunks whose symbol column holds a queried name, read to find its definitions.
const DEFINITION_LOOKUP_ROWS: usize = 200;
/// Definitions of a queried name whose first chunk is looked up to show them from their
/// beginning.
const HEADER_LOOKUPS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// How many hits at most; above [`MAX_LIMIT`] it is [`MAX_LIMIT`].
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Highlight {
    pub line: u32,
    pub start: u32,
    pub end: u32,
}

/// One result, as the CLI prints it and the UI shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The score after the ranking stage ([`rank`]): the fused score in hybrid mode (see
    /// [`fusion`]), the min-max normalised BM25 or cosine in single modes, moved by the
    /// signals in `signals`.
    pub score: f64,
    /// 1-based rank in the lexical ranking, when it found this chunk.
    pub lexical_rank: Option<u32>,
    /// 1-based rank in the semantic ranking, when it found this chunk.
    pub semantic_rank: Option<u32>,
    pub chunk_id: i64,
    /// The file changed since this chunk was indexed (it will be re-indexed): the snippet
    /// is empty rather than showing lines that are no longer what was matched. (Absent from
    /// the answers of an older `ferret daemon`: false.)
    #[serde(default)]
    pub stale: bool,
    /// What the ranking stage saw that moved this hit (`ferret search --explain`). Absent
    /// from the answers of an older `ferret daemon`: empty.
    #[serde(default)]
    pub signals: Vec<Signal>,
}

/// What one search returns: its hits, best first, and whether none of them is a strong
/// match for the query ([`confidence`]). The hits are the closest ones either way.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchResults {
    #[serde(rename = "results")]
    pub hits: Vec<SearchHit>,
    /// Nothing found answers the query: the hits are only the closest code there is.
    pub no_strong_match: bool,
    /// What the decision read (`ferret search --explain`, the eval); not part of the JSON
    /// answer.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub evidence: Option<confidence::Evidence>,
}

/// Chunk texts read from their files during one search, each at most once.
#[derive(Default)]
struct ChunkTexts {
    read: HashMap<i64, Option<String>>,
}

impl ChunkTexts {
    /// The chunk's text, read on first use (`None`: its file changed since indexing).
    fn load(&mut self, row: &ChunkRow) -> Option<&str> {
        self.read
            .entry(row.id)
            .or_insert_with(|| crate::pipeline::source::row_text(row))
            .as_deref()
    }

    /// A text [`ChunkTexts::load`] has read.
    fn get(&self, id: i64) -> Option<&str> {
        self.read.get(&id)?.as_deref()
    }
}

/// Chunks of the same file and symbol (the windows of one definition) rank as one.
type GroupKey<'a> = (&'a str, &'a str, Option<&'a str>, i64);

fn group_key(row: &ChunkRow) -> GroupKey<'_> {
    match row.symbol.as_deref() {
        Some(symbol) => (row.repo.as_str(), row.path.as_str(), Some(symbol), 0),
        None => (row.repo.as_str(), row.path.as_str(), None, row.id),
    }
}

/// A definition in the candidate lists: its rank and best chunk in each ranking, or the
/// chunk the ranking stage looked up by name when neither ranking found it.
#[derive(Default)]
struct Group {
    lexical: Option<(u32, f64, i64)>,
    semantic: Option<(u32, f64, i64)>,
    looked_up: Option<i64>,
    /// The definition's first chunk, for a definition of a name the query uses: its
    /// beginning answers "where is X" better than whichever fragment matched.
    header: Option<i64>,
}

impl Group {
    /// The chunk shown for this definition: its beginning when the query names it, else
    /// the one of the ranking that found it higher.
    fn shown_chunk(&self) -> Option<i64> {
        if self.header.is_some() {
            return self.header;
        }
        match (self.lexical, self.semantic) {
            (Some((lr, _, lid)), Some((sr, _, sid))) => Some(if lr <= sr { lid } else { sid }),
            (Some((_, _, id)), None) | (None, Some((_, _, id))) => Some(id),
            (None, None) => self.looked_up,
        }
    }
}

/// What a search needs besides the query.
pub struct SearchContext<'a> {
    pub store: &'a Store,
    pub vectors: Option<&'a VectorIndex>,
    /// The query embedder, asked for only when the semantic ranking starts: a cold process
    /// loads the model on another thread meanwhile, so the lexical ranking runs while it
    /// loads (see `Engine::search`). `Ok(None)`: rank lexically only.
    pub embedder: &'a (dyn Fn() -> Result<Option<Arc<Embedder>>> + Sync),
}

/// Runs `query` and returns at most `opts.limit` hits (at most [`MAX_LIMIT`]), best first,
/// with the "no strong match" flag.
///
/// A quoted phrase is required verbatim. In a query that is more than its phrases (a
/// pasted error message: `Error: required flag(s) "config" not set`), when that leaves
/// fewer results than asked for, the rest of the page comes from the same search with the
/// quotes read as words, after the verified results and marked (`phrase` signal): such a
/// message often quotes a value the code never holds (it is written
/// `required flag(s) "%s" not set`), and an empty page would hide the code that prints it.
/// A query of phrases alone is a request for exactly that text and gets nothing else.
pub fn search(ctx: &SearchContext<'_>, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
    let parsed = query::parse_query(query)?;
    let mut results = search_parsed(ctx, &parsed, opts)?;
    let limit = opts.limit.min(MAX_LIMIT);
    if parsed.phrases.is_empty() || parsed.terms.is_empty() || results.hits.len() >= limit {
        return Ok(results);
    }
    let loose = search_parsed(ctx, &parsed.without_phrases(), opts)?;
    let verified = results.hits.len();
    let seen: std::collections::HashSet<i64> = results.hits.iter().map(|h| h.chunk_id).collect();
    for mut hit in loose.hits {
        if results.hits.len() >= limit {
            break;
        }
        if seen.contains(&hit.chunk_id) {
            continue;
        }
        hit.signals.push(Signal {
            signal: "phrase".to_string(),
            detail: "does not hold the quoted phrase (read as words)".to_string(),
            change: 0.0,
        });
        results.hits.push(hit);
    }
    if verified == 0 {
        results.no_strong_match = loose.no_strong_match;
        results.evidence = loose.evidence;
    }
    Ok(results)
}

/// [`search`] for a parsed query, phrases required.
fn search_parsed(
    ctx: &SearchContext<'_>,
    parsed: &ParsedQuery,
    opts: &SearchOptions,
) -> Result<SearchResults> {
    let limit = opts.limit.min(MAX_LIMIT);
    let filter = Filter::new(ctx.store, parsed)?;
    if filter.as_ref().is_some_and(|f| f.chunk_ids.is_empty()) {
        return Ok(SearchResults {
            no_strong_match: true,
            ..SearchResults::default()
        });
    }
    let wanted = if parsed.phrases.is_empty() {
        CANDIDATES.max(limit)
    } else {
        // Phrases are verified on the text after retrieval: fetch more to keep enough.
        (CANDIDATES * 4).max(limit * 4)
    };

    // In hybrid mode the two rankings run at once: the query's embedding and the vector
    // scan on another thread while SQLite ranks lexically here, so a search costs the
    // slower of the two rather than their sum.
    let (lexical, semantic) = match opts.mode {
        SearchMode::Lexical => (
            lexical_ranking(ctx.store, parsed, filter.as_ref(), wanted)?,
            Vec::new(),
        ),
        SearchMode::Semantic => (
            Vec::new(),
            semantic_ranking(ctx.vectors, ctx.embedder, parsed, filter.as_ref(), wanted)?,
        ),
        SearchMode::Hybrid => std::thread::scope(|scope| {
            let (parsed, filter) = (&parsed, filter.as_ref());
            let (vectors, embedder) = (ctx.vectors, ctx.embedder);
            let semantic =
                scope.spawn(move || semantic_ranking(vectors, embedder, parsed, filter, wanted));
            let lexical = lexical_ranking(ctx.store, parsed, filter, wanted);
            let semantic = semantic.join().unwrap_or_else(|_| {
                Err(crate::Error::Model("the semantic ranking panicked".into()))
            });
            Ok::<_, crate::Error>((lexical?, semantic?))
        })?,
    };

    // Definitions of the names a query uses, whether or not either ranking found them (a
    // symbol's definition can share few words with its name's uses, and a cosine scan
    // has no reason to prefer it).
    let shape = rank::query_shape(&parsed.text);
    let weights = Weights::current();
    let looked_up: Vec<i64> = if shape.names.is_empty() || !parsed.phrases.is_empty() {
        Vec::new()
    } else {
        // The joined form of each name is one token of the symbol column.
        let tokens: Vec<String> = shape
            .names
            .iter()
            .filter_map(|n| {
                let tokens = crate::pipeline::tokens::index_tokens(rank::last_part(n));
                tokens.rsplit(' ').next().map(str::to_string)
            })
            .collect();
        ctx.store
            .chunks_with_symbol_token(&tokens, DEFINITION_LOOKUP_ROWS)?
            .into_iter()
            .filter(|id| filter.as_ref().is_none_or(|f| f.chunk_ids.contains(*id)))
            .collect()
    };

    // Fetch the candidates once: grouping and phrase checks need their rows.
    let mut ids: Vec<i64> = lexical
        .iter()
        .chain(&semantic)
        .map(|(id, _)| *id)
        .chain(looked_up.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows: HashMap<i64, ChunkRow> = ctx
        .store
        .chunks_by_ids(&ids)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    // Texts are read from the files only where needed: every candidate for a phrase check,
    // else the top lexical hit (coverage) and the results shown (snippets).
    let mut texts = ChunkTexts::default();
    let phrases: Vec<String> = parsed.phrases.iter().map(|p| p.to_lowercase()).collect();
    if !phrases.is_empty() {
        for row in rows.values() {
            texts.load(row);
        }
    }
    let admissible = |row: &ChunkRow| {
        phrases.is_empty()
            || texts.get(row.id).is_some_and(|text| {
                let text = text.to_lowercase();
                phrases.iter().all(|p| text.contains(p.as_str()))
            })
    };

    // Group per definition: the windows of one long function are one candidate (a lexical
    // hit on one window and a semantic hit on another both count for it), and a result list
    // never shows the same definition twice. Each list keeps its best chunk per definition.
    let mut index_of: HashMap<GroupKey<'_>, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut lists: [Vec<(usize, f64)>; 2] = [Vec::new(), Vec::new()];
    for (which, list) in [&lexical, &semantic].into_iter().enumerate() {
        for (id, raw_score) in list {
            // A vector key can outlive its chunk in a stale index another process saved.
            let Some(row) = rows.get(id) else { continue };
            if !admissible(row) {
                continue;
            }
            let g = *index_of.entry(group_key(row)).or_insert_with(|| {
                groups.push(Group::default());
                groups.len() - 1
            });
            let slot = if which == 0 {
                &mut groups[g].lexical
            } else {
                &mut groups[g].semantic
            };
            if slot.is_none() {
                lists[which].push((g, *raw_score));
                *slot = Some((lists[which].len() as u32, *raw_score, *id));
            }
        }
    }
    let [lexical_list, semantic_list] = lists;
    // Looked-up definitions join as candidates of their own (score 0 before the stage):
    // only real definitions of a name, those in a file named after it first.
    let mut definitions: Vec<&ChunkRow> = looked_up
        .iter()
        .filter_map(|id| rows.get(id))
        .filter(|row| {
            row.symbol
                .as_deref()
                .is_some_and(|s| rank::defines(s, &row.path, &shape.names).is_some())
        })
        .collect();
    definitions.sort_by_key(|row| {
        let named = shape
            .names
            .iter()
            .any(|n| rank::file_named_after(&row.path, rank::last_part(n)));
        (!named, row.path.len(), row.id)
    });
    for row in definitions.into_iter().take(weights.lookups) {
        if let std::collections::hash_map::Entry::Vacant(slot) = index_of.entry(group_key(row)) {
            slot.insert(groups.len());
            groups.push(Group {
                looked_up: Some(row.id),
                ..Group::default()
            });
        }
    }

    // A definition a bare symbol query names is shown from its beginning: the class header
    // and its doc comment rather than the closing line that happened to match, the `struct`
    // rather than a one-line `impl X {` (and the stage then sees the kind of the
    // definition, not of the fragment). In a question that names it, the matched chunk
    // carries the question's other words (the overload that has them, not the first
    // signature), so only a fragment of a line or two gives way.
    if !shape.names.is_empty() && phrases.is_empty() {
        let symbol_query = shape.kind == rank::QueryKind::Symbol;
        let defining: Vec<(usize, i64)> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, group)| {
                let id = group.shown_chunk()?;
                let row = rows.get(&id)?;
                let symbol = row.symbol.as_deref()?;
                if !symbol_query && row.end_line > row.start_line + 1 {
                    return None;
                }
                rank::defines(symbol, &row.path, &shape.names)?;
                Some((g, id))
            })
            .take(HEADER_LOOKUPS)
            .collect();
        let ids: Vec<i64> = defining.iter().map(|&(_, id)| id).collect();
        let firsts: HashMap<i64, i64> = ctx
            .store
            .first_chunks_of_symbols(&ids)?
            .into_iter()
            .collect();
        let missing: Vec<i64> = firsts
            .values()
            .copied()
            .filter(|id| !rows.contains_key(id))
            .collect();
        for row in ctx.store.chunks_by_ids(&missing)? {
            rows.insert(row.id, row);
        }
        for (g, id) in defining {
            if let Some(&first) = firsts.get(&id).filter(|f| rows.contains_key(f)) {
                groups[g].header = Some(first);
            }
        }
    }

    // The best lexical hit's text (path, symbol, chunk): how much of the query it holds
    // decides fusion's weights and is evidence of a strong match.
    let top_lexical: Option<String> = lexical_list.first().and_then(|&(g, _)| {
        let row = groups[g].lexical.and_then(|(_, _, id)| rows.get(&id))?;
        Some(format!(
            "{} {} {}",
            row.path,
            row.symbol.as_deref().unwrap_or(""),
            texts.load(row).unwrap_or("")
        ))
    });
    let terms: Vec<String> = parsed
        .terms
        .iter()
        .filter(|t| !query::is_stop_word(t))
        .cloned()
        .collect();
    let coverage = top_lexical
        .as_deref()
        .map_or(0.0, |text| fusion::coverage(&terms, text));
    let scores: Vec<f64> = match opts.mode {
        SearchMode::Hybrid => fusion::fuse(
            &lexical_list,
            &semantic_list,
            weights.lexical_weight(shape.kind, fusion::lexical_weight(coverage)),
            groups.len(),
        ),
        // A single mode: its own scores (BM25 or cosine), min-max normalised like the
        // fused ones so the ranking stage's boosts mean the same in every mode.
        SearchMode::Lexical => fusion::fuse(&lexical_list, &[], 1.0, groups.len()),
        SearchMode::Semantic => fusion::fuse(&[], &semantic_list, 0.0, groups.len()),
    };

    // C/C++ headers whose source file is indexed beside them (declarations, not the code).
    let shown_paths: Vec<(&str, &str)> = groups
        .iter()
        .filter_map(|g| g.shown_chunk().and_then(|id| rows.get(&id)))
        .map(|row| (row.repo.as_str(), row.path.as_str()))
        .collect();
    let headers_of_sources = headers_with_sources(ctx.store, &shown_paths)?;

    // The ranking stage: what code looks like (definitions, paths, files).
    let candidates: Vec<Candidate<'_>> = groups
        .iter()
        .zip(&scores)
        .map(|(group, &score)| {
            let row = group.shown_chunk().and_then(|id| rows.get(&id));
            Candidate {
                repo: row.map_or("", |r| r.repo.as_str()),
                path: row.map_or("", |r| r.path.as_str()),
                symbol: row.and_then(|r| r.symbol.as_deref()),
                kind: row.map_or("", |r| r.kind.as_str()),
                score,
                header_of_source: row.is_some_and(|r| {
                    headers_of_sources.contains(&(r.repo.clone(), r.path.clone()))
                }),
                bytes: row.map_or(u32::MAX, |r| r.location.text_len()),
            }
        })
        .collect();
    let rank_query = RankQuery {
        shape: &shape,
        path_filtered: !parsed.paths.is_empty(),
    };
    let ranked = rank::rerank(&rank_query, &candidates, weights);
    let mut order: Vec<usize> = ranked.iter().map(|r| r.candidate).collect();
    let mut outcome: Vec<(f64, Vec<Signal>)> = vec![(0.0, Vec::new()); groups.len()];
    for r in ranked {
        outcome[r.candidate] = (r.score, r.signals);
    }
    if opts.mode == SearchMode::Hybrid && weights.semantic_guarantee {
        fusion::protect(&mut order, &semantic_list);
    }

    let needles = highlight_needles(parsed);
    let mut hits = Vec::with_capacity(limit);
    for g in order.into_iter().take(limit) {
        let group = &groups[g];
        let Some(id) = group.shown_chunk() else {
            continue;
        };
        let Some(row) = rows.get(&id) else { continue };
        let (score, signals) = std::mem::take(&mut outcome[g]);
        let (lexical_rank, semantic_rank) = (
            group.lexical.map(|(r, _, _)| r),
            group.semantic.map(|(r, _, _)| r),
        );
        // A file edited since it was indexed: say so rather than show other lines.
        let text = texts.load(row);
        let stale = text.is_none();
        let (snippet, snippet_offset, highlights) = make_snippet(text.unwrap_or(""), &needles);
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
            stale,
            signals,
        });
    }
    let evidence = confidence::Evidence {
        kind: shape.kind,
        top_cosine: semantic_list.first().map(|&(_, cosine)| cosine),
        lexical_coverage: (opts.mode != SearchMode::Semantic && !terms.is_empty())
            .then_some(coverage),
        exact_name: top_lexical
            .as_deref()
            .is_some_and(|text| confidence::holds_name(&shape.names, text)),
        defines_named: hits
            .iter()
            .any(|h| h.signals.iter().any(|s| s.signal == "definition")),
        phrase_verified: !phrases.is_empty(),
        results: hits.len(),
    };
    Ok(SearchResults {
        no_strong_match: confidence::no_strong_match(&evidence, &confidence::Thresholds::default()),
        evidence: Some(evidence),
        hits,
    })
}

/// Header extensions, and the extensions of the source files that implement a header.
const HEADER_EXTENSIONS: [&str; 4] = ["h", "hh", "hpp", "hxx"];
const SOURCE_EXTENSIONS: [&str; 6] = ["c", "cc", "cpp", "cxx", "m", "mm"];

/// Of `files` (repository, path), the C/C++ headers with an indexed source file of the
/// same folder and stem (`lib/transfer.h` and `lib/transfer.c`).
fn headers_with_sources(
    store: &Store,
    files: &[(&str, &str)],
) -> Result<std::collections::HashSet<(String, String)>> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut header_of: HashMap<(String, String), (String, String)> = HashMap::new();
    for &(repo, path) in files {
        let Some((stem, ext)) = path.rsplit_once('.') else {
            continue;
        };
        if !HEADER_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            continue;
        }
        for source_ext in SOURCE_EXTENSIONS {
            let source = (repo.to_string(), format!("{stem}.{source_ext}"));
            if header_of
                .insert(source.clone(), (repo.to_string(), path.to_string()))
                .is_none()
            {
                wanted.push(source);
            }
        }
    }
    Ok(store
        .existing_files(&wanted)?
        .into_iter()
        .filter_map(|source| header_of.remove(&source))
        .collect())
}

/// Cosine over the vector index for the query's free text (qualifiers removed).
fn semantic_ranking(
    vectors: Option<&VectorIndex>,
    embedder: &(dyn Fn() -> Result<Option<Arc<Embedder>>> + Sync),
    q: &ParsedQuery,
    filter: Option<&Filter>,
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    let Some(vectors) = vectors else {
        return Ok(Vec::new());
    };
    if q.text.trim().is_empty() || vectors.is_empty() {
        return Ok(Vec::new());
    }
    let Some(embedder) = embedder()? else {
        return Ok(Vec::new());
    };
    let query_vector = vectors::quantize(&embedder.embed_query(&q.text)?);
    let hits = match filter {
        None => vectors.search(&query_vector, limit, None),
        Some(filter) => {
            let allow = |key: u64| filter.chunk_ids.contains(key as i64);
            vectors.search(&query_vector, limit, Some(&allow))
        }
    };
    Ok(hits
        .into_iter()
        .map(|(id, sim)| (id as i64, sim as f64))
        .collect())
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
}
