//! Hostile input from outside, through the real pipeline: repository content crafted to
//! trip the indexer or to reach files it must not (a file named like a flag, a 5 GB sparse
//! file, symlink loops, a symlink to `/etc/passwd`, names that are not UTF-8), and queries
//! crafted to crash or starve the process that answers everyone's searches (huge limits,
//! empty and very long queries, odd qualifiers), in-process and over the profile's socket.
//! Each gets a clear error or a bounded answer, and nothing is lost: the ordinary files
//! beside them stay indexed and searchable. (Agents' calls are in `tests/mcp/test_mcp.py`.)

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use ferret_engine::ipc::{client, server::Server};
use ferret_engine::search::MAX_LIMIT;
use ferret_engine::SearchMode::{Hybrid, Lexical, Semantic};
use ferret_engine::{Engine, ErrorKind, SearchOptions};
use ferret_tests::*;

/// The size of the sparse file: far past any size limit, and far too big to read in a test.
const HUGE: u64 = 5 << 30;

/// A repository with ordinary files and every kind of hostile content beside them.
fn hostile_repo(root: &Path) {
    fs::create_dir_all(root.join("src")).unwrap();
    fs::write(
        root.join("src/ledger.rs"),
        "/// Balances the ledger.\npub fn balance_ledger(entries: &[i64]) -> i64 {\n    entries.iter().sum()\n}\n",
    )
    .unwrap();
    fs::write(
        root.join("--help.rs"),
        "pub fn flag_named_helper() -> &'static str {\n    \"not a flag\"\n}\n",
    )
    .unwrap();
    fs::write(root.join("-rf"), "remove_everything_marker is only text\n").unwrap();
    let huge = fs::File::create(root.join("src/huge.rs")).unwrap();
    huge.set_len(HUGE).unwrap();
    std::os::unix::fs::symlink("loop_b", root.join("loop_a")).unwrap();
    std::os::unix::fs::symlink("loop_a", root.join("loop_b")).unwrap();
    std::os::unix::fs::symlink(".", root.join("src/self")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("passwd.rs")).unwrap();
    for name in [&b"bad\xff.rs"[..], &b"bad\xfe.rs"[..]] {
        fs::write(
            root.join(std::ffi::OsStr::from_bytes(name)),
            "pub fn not_utf8_named() {}\n",
        )
        .unwrap();
    }
}

fn skipped(data: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(data.join("user_data/default/meta.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT path, reason FROM skipped ORDER BY path")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    rows
}

fn indexed(data: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(data.join("user_data/default/meta.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT path FROM files ORDER BY path")
        .unwrap();
    let rows = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    rows
}

#[test]
fn hostile_repository_content_is_skipped_or_indexed_safely() {
    let src = tempfile::tempdir().unwrap();
    let repo = src.path().join("hostile");
    hostile_repo(&repo);
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    let started = std::time::Instant::now();
    let report = index_all(&engine);
    assert!(!report.interrupted, "{report:?}");

    let files = indexed(data.path());
    let skips = skipped(data.path());
    let skip_of = |path: &str| {
        skips
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, reason)| reason.as_str())
    };
    // Ordinary files, and files named like flags, are indexed like any other.
    for path in ["src/ledger.rs", "--help.rs", "-rf"] {
        assert!(files.iter().any(|f| f == path), "{path}: {files:?}");
    }
    // The 5 GB file is skipped for its size, from its metadata: reading it would take far
    // longer than the whole run.
    assert_eq!(skip_of("src/huge.rs"), Some("too-large"), "{skips:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "the run read the sparse file? {:?}",
        started.elapsed()
    );
    // Symlinks are never followed: not the loop, not the link out to /etc/passwd.
    for link in ["loop_a", "loop_b", "src/self", "passwd.rs"] {
        assert_eq!(skip_of(link), Some("symlink"), "{link}: {skips:?}");
        assert!(!files.iter().any(|f| f == link), "{link} indexed");
    }
    // A name that is not UTF-8 cannot be stored, shown or opened as the name it is; such
    // files are skipped with that reason (listed under their lossy name) rather than
    // indexed under a name that opens no file, which two such files would share.
    let not_utf8: Vec<&(String, String)> =
        skips.iter().filter(|(p, _)| p.starts_with("bad")).collect();
    assert!(
        !not_utf8.is_empty() && not_utf8.iter().all(|(_, r)| r == "invalid-utf8"),
        "{skips:?}"
    );
    assert!(!files.iter().any(|f| f.starts_with("bad")), "{files:?}");

    // Nothing reaches /etc/passwd: no hit, and no read through the repository.
    for mode in [Lexical, Semantic, Hybrid] {
        for hit in search(&engine, "root x 0 0 bin bash nologin", mode) {
            assert!(!hit.snippet.contains("root:"), "{hit:?}");
        }
    }
    for path in ["passwd.rs", "src/huge.rs", "loop_a", "src/self/ledger.rs"] {
        let err = engine.file_context("hostile", path, 1, 0, 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Refused, "{path}: {err}");
        assert!(
            err.to_string()
                .contains("is not an indexed file of repository hostile"),
            "{path}: {err}"
        );
    }

    // The flag-named files are found and read as files.
    let hits = search(&engine, "flag named helper", Lexical);
    assert!(
        hits.iter().any(|h| h.path == "--help.rs"),
        "{:?}",
        paths(&hits)
    );
    let lines = engine
        .file_context("hostile", "--help.rs", 1, 0, 2)
        .unwrap();
    assert!(lines.lines[0].contains("flag_named_helper"), "{lines:?}");
    let hits = search(&engine, "remove_everything_marker", Lexical);
    assert!(hits.iter().any(|h| h.path == "-rf"), "{:?}", paths(&hits));

    // Nothing is lost: the ordinary file is searchable in every mode, and a second run finds
    // nothing to do (the hostile entries do not churn).
    for mode in [Lexical, Semantic, Hybrid] {
        let hits = search(&engine, "balance the ledger entries", mode);
        assert!(
            hits.iter().any(|h| h.path == "src/ledger.rs"),
            "{mode:?}: {:?}",
            paths(&hits)
        );
    }
    let again = index_all(&engine);
    assert_eq!(again.files_changed, 0, "{again:?}");
    assert_eq!(again.files_removed, 0, "{again:?}");
}

/// An engine with the polyglot fixture indexed.
fn polyglot_engine() -> (tempfile::TempDir, tempfile::TempDir, Engine) {
    let (src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    index_all(&engine);
    (src, data, engine)
}

#[test]
fn hostile_queries_get_a_bounded_answer_or_a_clear_error() {
    let (_src, _data, engine) = polyglot_engine();
    // Huge limits: clamped, never a reservation of terabytes (which aborts the process).
    for limit in [usize::MAX, 1_000_000_000_000, MAX_LIMIT + 1] {
        for mode in [Lexical, Semantic, Hybrid] {
            let hits = engine
                .search("a", &SearchOptions { limit, mode })
                .unwrap()
                .hits;
            assert!(hits.len() <= MAX_LIMIT, "{limit} {mode:?}: {}", hits.len());
        }
    }
    // A phrase multiplies the candidates: still bounded.
    let hits = engine
        .search(
            "\"fn\"",
            &SearchOptions {
                limit: usize::MAX,
                mode: Hybrid,
            },
        )
        .unwrap()
        .hits;
    assert!(hits.len() <= MAX_LIMIT);
    let none = engine
        .search(
            "buffer",
            &SearchOptions {
                limit: 0,
                mode: Hybrid,
            },
        )
        .unwrap();
    assert!(none.hits.is_empty());
    assert!(none.no_strong_match, "no hits at all is no strong match");

    // Odd queries: an answer or an `invalid_input` error that says what is wrong; never a
    // panic, never another kind of failure.
    let long_word = "x".repeat(60_000);
    let many_words = "buffer ".repeat(10_000);
    let odd = [
        "",
        "   ",
        "\"",
        "\"unterminated phrase",
        "\"\"",
        "repo:",
        "lang:",
        "path:",
        "-path:",
        "-lang:rust buffer",
        "repo:nope buffer",
        "lang:klingon buffer",
        "path:../../etc/passwd",
        "path:/etc/passwd buffer",
        "path:[ buffer",
        "path:** buffer",
        "-path:** buffer",
        "NOT AND OR ( ) * ^ : buffer",
        "buffer*",
        "NEAR(a b)",
        "\u{0} \u{7} buffer",
        "🦀 ring buffer",
        long_word.as_str(),
        many_words.as_str(),
    ];
    for query in odd {
        for mode in [Lexical, Hybrid] {
            match engine.search(query, &SearchOptions { limit: 10, mode }) {
                Ok(found) => assert!(found.hits.len() <= 10),
                Err(e) => {
                    assert_eq!(
                        e.kind(),
                        ErrorKind::InvalidInput,
                        "{:.80?} {mode:?}: {e}",
                        query
                    );
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    // Nothing is lost: the index answers as before.
    let hits = search(&engine, "ring buffer push", Lexical);
    assert!(hits.iter().any(|h| h.path == "src/ring_buffer.c"));
}

/// The warm process serves everyone's searches: a huge limit on its socket gets a bounded
/// answer, and the server answers the next request.
#[test]
fn a_huge_limit_on_the_socket_gets_a_bounded_answer() {
    let (_src, data, engine) = polyglot_engine();
    let socket = data.path().join("hostile.sock");
    let _server = Server::start_for_engine(Arc::new(engine), &socket)
        .unwrap()
        .expect("nobody else serves this socket");
    for limit in [usize::MAX, 1_000_000_000_000] {
        let hits = client::search(
            &socket,
            "buffer",
            &SearchOptions {
                limit,
                mode: Lexical,
            },
        )
        .expect("the server answers")
        .unwrap()
        .hits;
        assert!(!hits.is_empty() && hits.len() <= MAX_LIMIT);
    }
    let hits = client::search(
        &socket,
        "ring buffer push",
        &SearchOptions {
            limit: 3,
            mode: Lexical,
        },
    )
    .expect("still serving")
    .unwrap()
    .hits;
    assert!(hits.iter().any(|h| h.path == "src/ring_buffer.c"));
}
