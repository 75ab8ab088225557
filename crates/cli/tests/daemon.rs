//! `ferret daemon` for real: a saved file becomes searchable, background jobs are listed,
//! paused and resumed, and a daemon killed with SIGKILL at random points (over 20 times)
//! ends with exactly the index a clean run produces.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{chunk_set, ferret, run_ok, vector_count};

fn json(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_slice(&run_ok(cmd).stdout).expect("json")
}

/// A running `ferret daemon`, killed (SIGKILL) when dropped: also when a test fails
/// half-way, so no daemon outlives its test.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_daemon(data: &Path) -> Daemon {
    Daemon(
        ferret(data)
            .args(["daemon"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn daemon"),
    )
}

fn stop(daemon: Daemon) {
    drop(daemon);
}

/// Polls `check` every 100 ms for up to `limit`; the limit is generous (a loaded 2-core CI
/// machine), and the test fails with `what` if it passes.
fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn lexical_paths(data: &Path, query: &str) -> Vec<String> {
    let found = json(ferret(data).args(["search", query, "--mode", "lexical", "--json"]));
    found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_string())
        .collect()
}

/// Whether a job that started at or after `secs` (Unix seconds) has completed.
fn completed_since(data: &Path, secs: u64) -> bool {
    let jobs = json(ferret(data).args(["jobs", "--json"]));
    jobs.as_array()
        .unwrap()
        .iter()
        .any(|j| j["state"] == "completed" && j["started_at"].as_u64().is_some_and(|t| t >= secs))
}

fn settled(data: &Path) -> bool {
    let stats = json(ferret(data).args(["stats", "--json"]));
    let jobs = json(ferret(data).args(["jobs", "--json"]));
    let busy = jobs
        .as_array()
        .unwrap()
        .iter()
        .any(|j| matches!(j["state"].as_str(), Some("queued" | "running")));
    !busy && stats["pending_embeddings"] == 0 && stats["chunks"].as_u64().unwrap_or(0) > 0
}

#[test]
fn a_saved_file_becomes_searchable_and_jobs_can_be_paused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("target")).unwrap();
    std::fs::write(src.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(src.join("lib.rs"), "pub fn existing_function() {}\n").unwrap();
    run_ok(
        ferret(&data)
            .args(["repo", "add", "--name", "live"])
            .arg(&src),
    );

    let daemon = spawn_daemon(&data);
    wait_for(Duration::from_secs(120), "the first index", || {
        lexical_paths(&data, "existing_function") == ["lib.rs"]
    });
    std::fs::write(
        src.join("fresh.rs"),
        "/// Added while the daemon watches.\npub fn freshly_saved_function() {}\n",
    )
    .unwrap();
    // An ignored file never shows up, even after the real one does.
    std::fs::write(src.join("target/gen.rs"), "pub fn ignored_output() {}\n").unwrap();
    wait_for(Duration::from_secs(60), "the saved file", || {
        lexical_paths(&data, "freshly_saved_function") == ["fresh.rs"]
    });
    assert!(lexical_paths(&data, "ignored_output").is_empty());
    std::fs::remove_file(src.join("fresh.rs")).unwrap();
    wait_for(Duration::from_secs(60), "the deleted file to leave", || {
        lexical_paths(&data, "freshly_saved_function").is_empty()
    });
    let jobs = json(ferret(&data).args(["jobs", "--json"]));
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["state"] == "completed" && j["kind"] == "index"),
        "{jobs}"
    );

    // Paused: edits wait; resumed: they land.
    let said = String::from_utf8(run_ok(ferret(&data).arg("pause")).stdout).unwrap();
    assert!(said.contains("paused"), "{said}");
    std::fs::write(src.join("later.rs"), "pub fn written_while_paused() {}\n").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(lexical_paths(&data, "written_while_paused").is_empty());
    run_ok(ferret(&data).arg("resume"));
    // The watcher dropped the batch while paused; the next save (or a daemon restart,
    // which indexes everything at start) picks it up.
    std::fs::write(src.join("later.rs"), "pub fn written_while_paused() { }\n").unwrap();
    wait_for(
        Duration::from_secs(60),
        "the edit made while paused",
        || lexical_paths(&data, "written_while_paused") == ["later.rs"],
    );
    stop(daemon);

    let out = ferret(&data)
        .args(["jobs", "cancel", "99999"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job 99999"));
}

/// A repository big enough that embedding takes several seconds on one thread.
fn make_repo(root: &Path, files: usize, salt: &str) {
    for i in 0..files {
        let dir = root.join(format!("mod{}", i % 5));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::new();
        for j in 0..4 {
            text.push_str(&format!(
                "/// Computes {salt} value {j} of module {i}.\npub fn compute_{salt}_{i}_{j}(input: u64) -> u64 {{\n    input.rotate_left({j}) ^ {i}\n}}\n\n"
            ));
        }
        std::fs::write(dir.join(format!("file{i}.rs")), text).unwrap();
    }
}

/// A tiny deterministic generator: the kill points vary but a failure can be replayed.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn a_daemon_killed_20_times_ends_with_a_clean_index() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_repo(&src, 40, "a");
    let data = tmp.path().join("killed");
    run_ok(
        ferret(&data)
            .args(["repo", "add", "--name", "big"])
            .arg(&src),
    );

    let seed = std::env::var("FERRET_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d_u64);
    eprintln!("kill seed {seed} (set FERRET_KILL_SEED to replay)");
    let mut rng = XorShift(seed);
    let mut kills = 0;
    for round in 0..22 {
        let daemon = spawn_daemon(&data);
        // Between 50 ms and 2.5 s: lands in start-up, the lexical phase, embedding, saving.
        std::thread::sleep(Duration::from_millis(50 + rng.next(2450)));
        stop(daemon); // SIGKILL
        kills += 1;
        // Now and then the tree changes while nothing runs: edits, a new file, a deletion.
        match round % 5 {
            1 => make_repo(&src.join("extra"), 3 + round, "b"),
            3 => {
                let _ =
                    std::fs::remove_file(src.join(format!("mod{}/file{}.rs", round % 5, round)));
            }
            _ => {}
        }
    }
    assert!(kills >= 20);
    // The last daemon's own start-up index must have run: until it has queued it, the
    // profile can look settled while the tree has changed under it. Job times are in whole
    // seconds, so the previous daemon's last job must be a second older than this start.
    std::thread::sleep(Duration::from_millis(1100));
    let spawned_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let daemon = spawn_daemon(&data);
    wait_for(Duration::from_secs(600), "the daemon to finish", || {
        completed_since(&data, spawned_at) && settled(&data)
    });
    stop(daemon);

    let clean = tmp.path().join("clean");
    run_ok(
        ferret(&clean)
            .args(["repo", "add", "--name", "big"])
            .arg(&src),
    );
    run_ok(ferret(&clean).args(["index", "--threads", "1"]));

    let killed_chunks = chunk_set(&data);
    let mut deduped = killed_chunks.clone();
    deduped.dedup();
    assert_eq!(deduped.len(), killed_chunks.len(), "no duplicate chunks");
    assert_eq!(
        killed_chunks,
        chunk_set(&clean),
        "same chunk set as a clean index"
    );
    let stats = json(ferret(&data).args(["stats", "--json"]));
    assert_eq!(stats["chunks"], stats["embedded_chunks"]);
    assert_eq!(vector_count(&data), vector_count(&clean));
    assert_eq!(
        vector_count(&data),
        stats["embedded_chunks"].as_u64().unwrap()
    );
    // FTS and the chunks table agree: every chunk is findable by its own symbol.
    let conn = rusqlite::Connection::open(data.join("user_data/default/meta.sqlite")).unwrap();
    let fts: i64 = conn
        .query_row("SELECT COUNT(*) FROM chunks_fts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fts as usize, killed_chunks.len());
    let hits = lexical_paths(&data, "compute_a_17_3");
    assert_eq!(hits, ["mod2/file17.rs"]);
}

/// `ferret search` asks a running daemon over the profile's socket and prints exactly what
/// an in-process search prints; with the daemon killed (its socket file left behind) it
/// searches in-process again.
#[test]
fn searches_through_a_running_daemon_print_what_in_process_searches_print() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/polyglot");
    run_ok(ferret(&data).args(["repo", "add"]).arg(&fixture));
    let socket = data.join("user_data/default/ferret.sock");
    let daemon = spawn_daemon(&data);
    wait_for(Duration::from_secs(120), "the daemon's socket", || {
        socket.exists() && settled(&data)
    });

    let search = |args: &[&str], in_process: bool| {
        let mut cmd = ferret(&data);
        cmd.args(["search", "--json", "-n", "15"]).args(args);
        if in_process {
            cmd.arg("--in-process");
        }
        let out = run_ok(cmd.env("RUST_LOG", "ferret=info"));
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (String::from_utf8(out.stdout).unwrap(), stderr)
    };
    for args in [
        &["slugify"][..],
        &[
            "turn a title into a url-friendly string",
            "--mode",
            "semantic",
        ],
        &["parse", "--mode", "lexical"],
        &["lang:rust token kinds"],
        &["no such words anywhere zzqx"],
    ] {
        let (warm, warm_log) = search(args, false);
        let (cold, cold_log) = search(args, true);
        assert!(
            warm_log.contains("answered by the process serving"),
            "{args:?} was not answered by the daemon: {warm_log}"
        );
        assert!(!cold_log.contains("answered by"), "{cold_log}");
        assert_eq!(warm, cold, "{args:?}: the daemon's answer differs");
    }
    // A bad query is the same error either way.
    let bad = ferret(&data).args(["search", "lang:"]).output().unwrap();
    let bad_here = ferret(&data)
        .args(["search", "lang:", "--in-process"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        String::from_utf8_lossy(&bad_here.stderr)
    );

    // A huge limit is clamped by the engine: the daemon answers it (it used to reserve
    // terabytes for the hits and abort) and goes on serving.
    let out = run_ok(
        ferret(&data)
            .args(["search", "--json", "-n", "1000000000000", "buffer"])
            .env("RUST_LOG", "ferret=info"),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("answered by the process serving"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = found["results"].as_array().unwrap().len();
    assert!(
        count > 0 && count <= ferret_engine::search::MAX_LIMIT,
        "{count}"
    );
    let (again, again_log) = search(&["slugify"], false);
    assert!(
        again_log.contains("answered by the process serving"),
        "{again_log}"
    );
    assert_eq!(again, search(&["slugify"], true).0);

    stop(daemon); // SIGKILL: the socket file stays, nobody listens
    assert!(socket.exists());
    let (after, after_log) = search(&["slugify"], false);
    assert!(!after_log.contains("answered by"), "{after_log}");
    assert_eq!(after, search(&["slugify"], true).0);
}
