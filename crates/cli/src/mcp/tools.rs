//! The four tools: their schemas and descriptions (written for a model to choose well), and
//! each one as engine calls. A tool returns the text to show or, for a tool error, the
//! message saying what went wrong and what to do instead.

use std::sync::Arc;
use std::time::Duration;

use ferret_engine::{Engine, ProfileStatus, SearchMode, SearchOptions};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde::Deserialize;
use serde_json::json;

use super::render;

/// Most hits one search returns (each costs the agent tokens).
const MAX_LIMIT: usize = 50;
/// Most lines one `read_code` call returns.
const MAX_READ_LINES: u32 = 400;
/// Lines `read_code` returns when only a start line is given.
const DEFAULT_READ_LINES: u32 = 120;

pub fn definitions() -> Vec<Tool> {
    let read_only = ToolAnnotations::new().read_only(true);
    vec![
        Tool::new(
            "search",
            "Search this machine's indexed code by meaning and by words at once (hybrid), \
             and get ranked definitions grouped by file, each with its line range, symbol, \
             score, which ranking found it, and a short snippet. Ask in plain words (\"where \
             are retries with backoff configured\") or with names (\"parse_args\"). Query \
             syntax: `repo:NAME`, `lang:rust`, `path:src/` (prefix or glob), `-path:tests/` \
             to exclude, and \"quoted phrases\" for exact text. Prefer this over reading \
             files blindly; follow up with read_code. When nothing indexed clearly answers, \
             the answer starts with \"no strong match\" and lists only the closest code: \
             say the code may not be indexed rather than present those hits as the answer.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to find, in plain words or names, with optional repo:/lang:/path:/-path: filters."},
                    "mode": {"type": "string", "enum": ["hybrid", "lexical", "semantic"], "default": "hybrid", "description": "hybrid (default) fuses both rankings; lexical for exact identifiers or strings; semantic for concepts that share no words with the code."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10, "description": "How many hits (default 10)."},
                    "repo": {"type": "string", "description": "Only this repository (a name from list_repos)."}
                },
                "required": ["query"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_only.clone()),
        Tool::new(
            "read_code",
            "Read lines of a file in an indexed repository, with line numbers: a range \
             (start_line..end_line), or the whole definition of a symbol in that file. \
             Paths are relative to the repository root, exactly as search returns them. \
             Only files Ferret indexed can be read: ignored files, secrets such as .env, \
             .git and paths outside the repository are refused.",
            schema(json!({
                "type": "object",
                "properties": {
                    "repo": {"type": "string", "description": "Repository name, as in search results or list_repos."},
                    "path": {"type": "string", "description": "File path relative to the repository root."},
                    "start_line": {"type": "integer", "minimum": 1, "description": "First line (1-based); default 1."},
                    "end_line": {"type": "integer", "minimum": 1, "description": format!("Last line, inclusive; default start_line + {}; at most {MAX_READ_LINES} lines per call.", DEFAULT_READ_LINES - 1)},
                    "symbol": {"type": "string", "description": "Instead of lines: the definition with this name in the file (e.g. `parse_args` or `Parser::new`)."}
                },
                "required": ["repo", "path"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_only.clone()),
        Tool::new(
            "list_repos",
            "List the repositories in this profile's index: name, local path or GitHub \
             remote, branch and commit, whether indexing is paused, file and chunk counts, \
             and how much is searchable by meaning (semantic coverage).",
            schema(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        )
        .with_annotations(read_only.clone()),
        Tool::new(
            "index_status",
            "Whether search results are complete: indexing jobs running or queued with \
             progress and ETA, and the share of code searchable by meaning (\"N% semantic\"). \
             Check this when a search misses code you expect.",
            schema(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        )
        .with_annotations(read_only),
    ]
}

fn schema(value: serde_json::Value) -> Arc<JsonObject> {
    match value {
        serde_json::Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    mode: Option<SearchMode>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    repo: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    repo: String,
    path: String,
    #[serde(default)]
    start_line: Option<u32>,
    #[serde(default)]
    end_line: Option<u32>,
    #[serde(default)]
    symbol: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

/// Runs tool `name`; `model_wait` is how long the server has been loading the model.
pub fn call(
    engine: &Engine,
    name: &str,
    arguments: serde_json::Value,
    model_wait: Duration,
) -> Result<String, String> {
    match name {
        "search" => search(engine, parse(name, arguments)?, model_wait),
        "read_code" => read_code(engine, parse(name, arguments)?),
        "list_repos" => {
            parse::<NoArgs>(name, arguments)?;
            let repos = engine.repos().map_err(|e| e.to_string())?;
            Ok(render::repos(&repos))
        }
        "index_status" => {
            parse::<NoArgs>(name, arguments)?;
            index_status(engine)
        }
        other => Err(format!(
            "unknown tool {other:?}; the tools are search, read_code, list_repos and index_status"
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    tool: &str,
    arguments: serde_json::Value,
) -> Result<T, String> {
    serde_json::from_value(arguments)
        .map_err(|e| format!("bad arguments for {tool}: {e}; see the tool's input schema"))
}

/// A repository name the profile has, or an error listing the ones it has.
fn known_repo(engine: &Engine, name: &str) -> Result<(), String> {
    let repos = engine.repos().map_err(|e| e.to_string())?;
    if repos.iter().any(|r| r.name == name) {
        return Ok(());
    }
    let names: Vec<&str> = repos.iter().map(|r| r.name.as_str()).collect();
    Err(if names.is_empty() {
        format!("unknown repository {name:?}: this profile has no repositories yet")
    } else {
        format!(
            "unknown repository {name:?}; this profile has: {}",
            names.join(", ")
        )
    })
}

fn search(engine: &Engine, args: SearchArgs, model_wait: Duration) -> Result<String, String> {
    if args.query.trim().is_empty() {
        return Err("the query is empty: say what to find".into());
    }
    let limit = args.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(format!("limit must be 1 to {MAX_LIMIT}"));
    }
    let mut query = args.query.clone();
    if let Some(repo) = &args.repo {
        known_repo(engine, repo)?;
        query = format!("repo:{repo} {query}");
    }
    let wanted = args.mode.unwrap_or(SearchMode::Hybrid);
    let mut notes = Vec::new();
    let mode = if wanted != SearchMode::Lexical && !engine.model_ready() {
        if wanted == SearchMode::Semantic {
            return Err(format!(
                "the embedding model is still loading ({} s so far); try again in a few \
                 seconds, or use mode \"lexical\"",
                model_wait.as_secs()
            ));
        }
        notes.push(
            "lexical results only: the embedding model is still loading; ask again in a few \
             seconds for hybrid results"
                .to_string(),
        );
        SearchMode::Lexical
    } else {
        wanted
    };
    let found = engine
        .search(&query, &SearchOptions { limit, mode })
        .map_err(|e| e.to_string())?;
    if let Ok(record) = engine.record() {
        if record.status == ProfileStatus::Paused {
            notes.push("indexing is paused for this profile: recent edits may be missing".into());
        }
    }
    Ok(render::hits(&args.query, mode, &found, &notes))
}

fn read_code(engine: &Engine, args: ReadArgs) -> Result<String, String> {
    known_repo(engine, &args.repo)?;
    let (start, end) = match &args.symbol {
        Some(symbol) => symbol_range(engine, &args.repo, &args.path, symbol)?,
        None => {
            let start = args.start_line.unwrap_or(1).max(1);
            // Saturating: any u32 is a valid argument, up to u32::MAX.
            let end = args
                .end_line
                .unwrap_or(start.saturating_add(DEFAULT_READ_LINES - 1))
                .max(start);
            (start, end)
        }
    };
    let end = end.min(start.saturating_add(MAX_READ_LINES - 1));
    let context = engine
        .file_context(&args.repo, &args.path, start, 0, end - start)
        .map_err(|e| e.to_string())?;
    Ok(render::lines(&args.repo, &args.path, &context, start, end))
}

/// The line range of `symbol`'s definition in `path`, from the lexical index.
fn symbol_range(
    engine: &Engine,
    repo: &str,
    path: &str,
    symbol: &str,
) -> Result<(u32, u32), String> {
    let name_ok = !symbol.is_empty()
        && symbol
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '$'));
    if !name_ok || path.contains(char::is_whitespace) {
        return Err(format!(
            "{symbol:?} is not a symbol name; give a name like parse_args or Parser::new, or \
             use start_line/end_line"
        ));
    }
    let last = symbol.rsplit([':', '.']).next().unwrap_or(symbol);
    let query = format!("repo:{repo} path:{path} {last}");
    let found = engine
        .search(
            &query,
            &SearchOptions {
                limit: 50,
                mode: SearchMode::Lexical,
            },
        )
        .map_err(|e| e.to_string())?;
    let found = found.hits.iter().find(|h| {
        h.path == path
            && h.symbol
                .as_deref()
                .is_some_and(|s| s == symbol || s.rsplit([':', '.']).next() == Some(last))
    });
    match found {
        Some(hit) => Ok((hit.start_line, hit.end_line)),
        None => Err(format!(
            "no definition named {symbol:?} in {repo}/{path}; search for it, or read by line \
             numbers"
        )),
    }
}

fn index_status(engine: &Engine) -> Result<String, String> {
    let stats = engine.stats().map_err(|e| e.to_string())?;
    let jobs = engine.jobs(3).map_err(|e| e.to_string())?;
    let paused = engine
        .record()
        .map(|r| r.status == ProfileStatus::Paused)
        .unwrap_or(false);
    Ok(render::status(&stats, &jobs, paused, engine.model_ready()))
}
