//! Shared helpers for the integration suites: fixtures copied into temp dirs, engines opened
//! on temp data dirs (never the real one), and the model directory the setup script made.

pub mod git_server;
pub mod github_server;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ferret_engine::{Engine, EngineOptions, IndexReport, SearchHit, SearchMode, SearchOptions};

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The model directory: `$FERRET_MODEL_DIR`, else `<root>/.models` as scripts/setup.sh makes it.
pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("FERRET_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".models"));
    assert!(
        dir.join("all-minilm-l6-v2-int8/model.onnx").exists(),
        "model files missing in {}: run scripts/setup.sh first",
        dir.display()
    );
    dir
}

/// Copies `tests/fixtures/<name>` into a fresh temp dir and returns (guard, path of the copy).
pub fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dest = tmp.path().join(name);
    copy_dir(&repo_root().join("tests/fixtures").join(name), &dest);
    (tmp, dest)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// An engine on a private data dir, with one indexing thread (tests run in parallel).
pub fn open_engine(data_dir: &Path) -> Engine {
    Engine::open(EngineOptions {
        data_root: Some(data_dir.to_path_buf()),
        profile: None,
        model_dir: Some(model_dir()),
        threads: Some(1),
    })
    .expect("open engine")
}

pub fn index_all(engine: &Engine) -> IndexReport {
    engine
        .index(None, &AtomicBool::new(false), false, &|_| {})
        .expect("index")
}

pub fn search(engine: &Engine, query: &str, mode: SearchMode) -> Vec<SearchHit> {
    engine
        .search(query, &SearchOptions { limit: 10, mode })
        .unwrap_or_else(|e| panic!("search {query:?} failed: {e}"))
        .hits
}

/// `path` of each hit, for readable assertion messages.
pub fn paths(hits: &[SearchHit]) -> Vec<String> {
    hits.iter()
        .map(|h| format!("{}:{}-{} {:?}", h.path, h.start_line, h.end_line, h.symbol))
        .collect()
}

/// Position (0-based) of the first hit in `path` whose symbol contains `symbol`.
pub fn position(hits: &[SearchHit], path: &str, symbol: &str) -> Option<usize> {
    hits.iter()
        .position(|h| h.path == path && h.symbol.as_deref().is_some_and(|s| s.contains(symbol)))
}

/// Every chunk of a profile as (repo, path, start, end, content hash), sorted: two indexes of
/// the same tree must produce the same set.
pub fn chunk_set(data_dir: &Path) -> Vec<(String, String, u32, u32, Vec<u8>)> {
    let db = data_dir.join("user_data/default/meta.sqlite");
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare(
            "SELECT r.name, f.path, c.start_line, c.end_line, c.content_hash FROM chunks c
             JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = f.repo_id
             ORDER BY 1, 2, 3, 4, 5",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// Count rows of a table in a profile's database.
pub fn count_rows(data_dir: &Path, sql: &str) -> i64 {
    let db = data_dir.join("user_data/default/meta.sqlite");
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}
