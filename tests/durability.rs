//! Durability under hostile conditions: a disk that fills up mid-index (a real tmpfs, grown
//! afterwards), a damaged or replaced database file, and searches racing an indexer in the
//! same process.
//!
//! The disk-full test mounts a tmpfs and so needs root (CI and the dev containers run as
//! root). Where mounting is not allowed it fails, naming the cause, unless
//! `FERRET_SKIP_MOUNT_TESTS=1` says to skip it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ferret_engine::{Engine, EngineOptions, SearchHit, SearchMode, SearchOptions};
use ferret_tests::{chunk_set, model_dir, open_engine, search};

/// A word of lowercase letters from a number: one lexical token, unique per number.
fn word(mut n: u64) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

/// The identifier that only file `f` contains.
fn marker(f: usize) -> String {
    format!("uniqmark{}", word(f as u64 * 977 + 13))
}

/// `files` Rust files of `functions` functions each, with identifiers unique per file (so
/// chunks are distinct and compress poorly, as real code does).
fn generate_repo(root: &Path, files: usize, functions: usize) {
    for f in 0..files {
        let mut text = format!("//! Module {f}: {}.\n\n", marker(f));
        for k in 0..functions {
            let n = (f * functions + k) as u64;
            let name = format!("{}_{}", word(n * 7_919 + 101), word(n * 104_729 + 7));
            text.push_str(&format!(
                "/// Computes {} from {}.\npub fn {name}(input: u64) -> u64 {{\n",
                word(n * 31 + 5),
                word(n * 37 + 11)
            ));
            for line in 0..6 {
                text.push_str(&format!(
                    "    let {} = input.wrapping_mul({}) ^ {};\n",
                    word(n * 53 + line),
                    n * 13 + line,
                    line * 7 + 3
                ));
            }
            text.push_str("    input\n}\n\n");
        }
        let dir = root.join(format!("src/m{}", f % 10));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("file{f}.rs")), text).unwrap();
    }
}

fn index_lexical(engine: &Engine) -> ferret_engine::Result<ferret_engine::IndexReport> {
    engine.index(None, &AtomicBool::new(false), true, &|_| {})
}

/// A mounted tmpfs, unmounted when dropped (also when the test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it) on `dir`, or `None` when
    /// mounting is not allowed here and FERRET_SKIP_MOUNT_TESTS=1.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        if out.status.success() {
            return Some(Tmpfs {
                dir: dir.to_path_buf(),
            });
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if std::env::var("FERRET_SKIP_MOUNT_TESTS").as_deref() == Ok("1") {
            eprintln!("SKIPPED: cannot mount a tmpfs ({stderr}) and FERRET_SKIP_MOUNT_TESTS=1");
            return None;
        }
        panic!(
            "cannot mount a tmpfs on {}: {stderr}\nThis test needs root (or CAP_SYS_ADMIN); \
             set FERRET_SKIP_MOUNT_TESTS=1 to skip it where that is impossible.",
            dir.display()
        );
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount {} failed", self.dir.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_full_disk_stops_indexing_clearly_keeps_what_was_committed_and_resumes_when_grown() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    // About 2.4 MB of source: its index cannot fit in 3 MB, its first batches can.
    generate_repo(&repo, 600, 10);
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let Some(fs) = Tmpfs::mount(&data, "3m") else {
        return;
    };

    let engine = open_engine(&data);
    engine.add_repo(&repo, Some("gen")).unwrap();
    let err = index_lexical(&engine).expect_err("3 MB cannot hold this index");
    let message = err.to_string();
    assert!(err.is_disk_full(), "not reported as a full disk: {message}");
    assert!(
        message.contains("disk full (")
            && message.contains(&data.display().to_string())
            && message.contains("free space and run the same command again")
            && message.contains("everything indexed so far is kept"),
        "{message}"
    );

    // What was committed before the disk filled is intact and searchable.
    let db = data.join("user_data/default/meta.sqlite");
    assert_eq!(integrity(&db), "ok");
    let committed: Vec<String> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn
            .prepare("SELECT path FROM files ORDER BY path")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert!(
        !committed.is_empty() && committed.len() < 600,
        "expected a partial index, got {} files",
        committed.len()
    );
    for path in committed.iter().step_by(committed.len().div_ceil(8)) {
        let f: usize = path
            .rsplit("file")
            .next()
            .and_then(|s| s.strip_suffix(".rs"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected path {path}"));
        let hits = search(&engine, &marker(f), SearchMode::Lexical);
        assert!(
            hits.iter().any(|h| &h.path == path),
            "{path} was committed but {} does not find it: {hits:?}",
            marker(f)
        );
    }

    // Room again: the same command completes and matches a clean index of the tree.
    fs.resize("64m");
    let report = index_lexical(&engine).expect("index after growing the disk");
    assert!(report.files_changed > 0 && !report.interrupted);
    assert_eq!(integrity(&db), "ok");
    let clean_data = tmp.path().join("clean");
    let clean = open_engine(&clean_data);
    clean.add_repo(&repo, Some("gen")).unwrap();
    index_lexical(&clean).unwrap();
    let resumed = chunk_set(&data);
    assert_eq!(resumed.len(), chunk_set(&clean_data).len());
    assert!(resumed == chunk_set(&clean_data), "chunk sets differ");
    drop(engine);
    drop(fs);
}

/// Indexes the polyglot fixture into `data`, closes everything and returns the database.
fn indexed_database(data: &Path, snapshots: bool) -> PathBuf {
    let (_guard, repo) = ferret_tests::copy_fixture("polyglot");
    if !snapshots {
        let dir = data.join("user_data/default");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"snapshots_kept": 0}"#).unwrap();
    }
    let engine = open_engine(data);
    engine.add_repo(&repo, Some("polyglot")).unwrap();
    index_lexical(&engine).unwrap();
    drop(engine);
    let db = data.join("user_data/default/meta.sqlite");
    assert!(
        !Path::new(&format!("{}-wal", db.display())).exists()
            || std::fs::metadata(format!("{}-wal", db.display()))
                .unwrap()
                .len()
                == 0,
        "the last connection checkpoints the WAL into the file"
    );
    db
}

fn open_err(data: &Path) -> String {
    match Engine::open(EngineOptions {
        data_root: Some(data.to_path_buf()),
        profile: None,
        model_dir: Some(model_dir()),
        threads: Some(1),
    }) {
        Ok(_) => panic!("a damaged database opened without error"),
        Err(e) => e.to_string(),
    }
}

fn assert_actionable(message: &str, db: &Path) {
    assert!(
        message.contains(&db.display().to_string()),
        "does not name the file: {message}"
    );
    assert!(
        message.contains("Move it aside") && message.contains("ferret index"),
        "no recovery step: {message}"
    );
}

#[test]
fn a_database_with_garbage_in_the_middle_is_reported_and_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Without a snapshot to restore, the damage is reported.
    let db = indexed_database(&data, false);
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() >= 16 * 4096, "{} bytes", bytes.len());
    // The header stays; half the pages in the middle become noise.
    let (from, to) = (bytes.len() / 4, bytes.len() * 3 / 4);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in &mut bytes[from..to] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(&db, &bytes).unwrap();

    let message = open_err(&data);
    assert_actionable(&message, &db);
    assert!(std::fs::read(&db).unwrap() == bytes, "the file was changed");
    // Asking again gives the same answer and still changes nothing.
    assert_eq!(open_err(&data), message);
    assert!(std::fs::read(&db).unwrap() == bytes, "the file was changed");
}

#[test]
fn a_database_replaced_by_another_file_is_reported_and_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let db = indexed_database(&data, false);
    let text = "these are my notes, saved over the database by mistake\n".repeat(500);
    std::fs::write(&db, &text).unwrap();

    let message = open_err(&data);
    assert_actionable(&message, &db);
    assert_eq!(std::fs::read_to_string(&db).unwrap(), text);
}

/// With the daily snapshot an index run takes, a database found damaged is replaced by the
/// snapshot and kept aside unchanged: the profile searches at once instead of asking the
/// user to delete it.
#[test]
fn a_damaged_database_is_restored_from_the_newest_snapshot_and_kept_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let db = indexed_database(&data, true);
    let snapshots = data.join("user_data/default/snapshots");
    assert_eq!(
        std::fs::read_dir(&snapshots).unwrap().count(),
        1,
        "one snapshot"
    );
    let text = "these are my notes, saved over the database by mistake\n".repeat(500);
    std::fs::write(&db, &text).unwrap();

    let engine = open_engine(&data);
    assert!(engine.restored_from_snapshot().is_some());
    let aside: Vec<PathBuf> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("meta.sqlite.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read_to_string(&aside[0]).unwrap(),
        text,
        "kept as it was"
    );
    let hits = engine
        .search(
            "ring buffer",
            &SearchOptions {
                limit: 5,
                mode: SearchMode::Lexical,
            },
        )
        .unwrap()
        .hits;
    assert!(
        hits.iter().any(|h| h.path.contains("ring_buffer")),
        "{hits:?}"
    );
}

/// Every hit must point at a chunk that exists with the hit's line range, and its snippet
/// must be exactly the file's lines where it says they are.
fn check_hit(conn: &rusqlite::Connection, repo: &Path, hit: &SearchHit) {
    let (start, end): (u32, u32) = conn
        .query_row(
            "SELECT start_line, end_line FROM chunks WHERE id = ?1",
            [hit.chunk_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("hit {hit:?} has no chunk: {e}"));
    assert_eq!((start, end), (hit.start_line, hit.end_line), "{}", hit.path);
    let file = std::fs::read_to_string(repo.join(&hit.path)).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    let n = hit.snippet.split('\n').count();
    let first = hit.snippet_start_line as usize;
    assert!(
        first >= start as usize && first + n - 1 <= end as usize,
        "snippet outside its chunk: {hit:?}"
    );
    assert_eq!(
        hit.snippet,
        lines[first - 1..first - 1 + n].join("\n"),
        "torn snippet in {}",
        hit.path
    );
}

fn key(hits: &[SearchHit]) -> Vec<(i64, String, u32, u32)> {
    hits.iter()
        .map(|h| (h.chunk_id, h.path.clone(), h.start_line, h.end_line))
        .collect()
}

#[test]
fn searches_racing_an_indexer_see_whole_chunks_and_end_equal_to_a_fresh_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    generate_repo(&repo, 40, 6);
    let data = tmp.path().join("data");
    let engine = Arc::new(open_engine(&data));
    engine.add_repo(&repo, Some("gen")).unwrap();
    let db = data.join("user_data/default/meta.sqlite");
    let queries: Vec<String> = (0..40)
        .step_by(3)
        .map(marker)
        .chain(
            [
                "compute wrapping mul",
                "input",
                "module",
                "multiply the input",
            ]
            .map(String::from),
        )
        .collect();

    let done = Arc::new(AtomicBool::new(false));
    let searched = Arc::new(AtomicUsize::new(0));
    let hits_seen = Arc::new(AtomicUsize::new(0));
    let searchers: Vec<_> = (0..4)
        .map(|t| {
            let (engine, done, searched, hits_seen) = (
                engine.clone(),
                done.clone(),
                searched.clone(),
                hits_seen.clone(),
            );
            let (queries, repo, db) = (queries.clone(), repo.clone(), db.clone());
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open(&db).unwrap();
                let modes = [
                    SearchMode::Lexical,
                    SearchMode::Semantic,
                    SearchMode::Hybrid,
                ];
                let mut i = t;
                // At least one full round after indexing ends, so every mode runs on the
                // finished index too.
                let mut rounds_after = 0;
                while rounds_after < 2 {
                    if done.load(Ordering::SeqCst) {
                        rounds_after += 1;
                    }
                    for mode in modes {
                        let q = &queries[i % queries.len()];
                        i += 1;
                        let hits = engine
                            .search(q, &SearchOptions { limit: 10, mode })
                            .unwrap_or_else(|e| panic!("{mode:?} {q:?} failed mid-index: {e}"))
                            .hits;
                        for hit in &hits {
                            check_hit(&conn, &repo, hit);
                        }
                        searched.fetch_add(1, Ordering::Relaxed);
                        hits_seen.fetch_add(hits.len(), Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    let result = engine.index(None, &AtomicBool::new(false), false, &|_| {});
    done.store(true, Ordering::SeqCst);
    for s in searchers {
        s.join().expect("a searcher failed");
    }
    let report = result.expect("index while searched");
    assert_eq!(report.files_changed, 40);
    assert!(report.embeddings_computed > 0);
    assert!(searched.load(Ordering::Relaxed) >= 4 * 3 * 2);
    assert!(hits_seen.load(Ordering::Relaxed) > 0);

    // The long-lived engine now answers exactly as one opened after the run.
    let fresh = open_engine(&data);
    for q in &queries {
        for mode in [
            SearchMode::Lexical,
            SearchMode::Semantic,
            SearchMode::Hybrid,
        ] {
            let live = search(&engine, q, mode);
            let reopened = search(&fresh, q, mode);
            assert!(!reopened.is_empty(), "{mode:?} {q:?} found nothing");
            assert_eq!(key(&live), key(&reopened), "{mode:?} {q:?}");
        }
    }
}
