//! Helpers shared by the CLI suites: the `ferret` binary on a private data dir, and the
//! reads of a profile's files that compare an index with a clean one.
// Each suite is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub use ferret_engine::models::DEFAULT_MODEL;

/// The polyglot fixture repository the suites index.
pub fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/polyglot")
}

/// `ferret` with a private data dir, the setup script's model, no inherited profile and
/// no stdin.
pub fn ferret(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferret"));
    cmd.env("FERRET_DATA_DIR", data)
        .env("FERRET_MODEL_DIR", ferret_tests::model_dir())
        .env_remove("FERRET_PROFILE")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` and fails the test with its output unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run ferret");
    assert!(
        out.status.success(),
        "ferret failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (path, start, end, content hash) of every chunk of the default profile, sorted: two
/// indexes of the same tree must produce the same set.
pub fn chunk_set(data: &Path) -> Vec<(String, i64, i64, Vec<u8>)> {
    let conn = rusqlite::Connection::open(data.join("user_data/default/meta.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT f.path, c.start_line, c.end_line, c.content_hash FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY 1, 2, 3, 4")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Vectors of the default model that the default profile's chunks have in the database
/// (the vector index is built from exactly these).
pub fn vector_count(data: &Path) -> u64 {
    model_vector_count(data, DEFAULT_MODEL).expect("stored vectors")
}

/// Vectors (one per window; 384 values at 4 bits, 192 bytes, after a tag byte per chunk)
/// that model `model` holds for the default profile's chunks, or `None` when it holds none.
pub fn model_vector_count(data: &Path, model: &str) -> Option<u64> {
    let conn = rusqlite::Connection::open(data.join("user_data/default/meta.sqlite")).ok()?;
    let values: i64 = conn
        .query_row(
            "SELECT COALESCE(SUM((length(e.vector) - 1) / 192), 0) FROM chunks c
             JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash",
            [model],
            |r| r.get(0),
        )
        .ok()?;
    (values > 0).then_some(values as u64)
}
