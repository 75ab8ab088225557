//! `ferret login`, `profile`, `github repos` and `repo add github:` as a user runs them:
//! the token goes in on stdin and never comes out (stdout, stderr, logs at trace level,
//! files under the data dir). Needs the Secret Service (the test script provides one).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use ferret_tests::git_server::{make_bare_repo, GitServer};
use ferret_tests::github_server::{FixtureRepo, GitHubFixture, GitHubServer};

use crate::common::ferret;

const USER_ID: u64 = 920_001;

fn token() -> String {
    format!("github_pat_{:X<60}", "11FerretCliTest")
}

/// Runs ferret with `input` on stdin; returns the output and checks the token is not in it.
fn run(data: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut cmd = ferret(data);
    // The most verbose logging: nothing it prints may contain the token either.
    cmd.env("RUST_LOG", "trace")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ferret");
    {
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(&token()),
            "ferret {args:?} printed the token"
        );
    }
    out
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            files_under(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

#[test]
fn login_list_add_search_logout_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let git = GitServer::start(&tmp.path().join("git"), &token());
    make_bare_repo(
        &tmp.path().join("git"),
        "acme",
        "tools",
        &[(
            "src/lib.rs",
            "/// Parses a semantic version string.\npub fn parse_semver(v: &str) -> Option<(u32, u32, u32)> {\n    None\n}\n",
        )],
    );
    let mut repo = FixtureRepo::new("acme", "tools");
    repo.clone_url = git.url("acme/tools");
    repo.private = true;
    let api = GitHubServer::start(GitHubFixture {
        token: token(),
        user: (USER_ID, "clitester".into()),
        repos: vec![repo, FixtureRepo::new("acme", "other")],
        per_page_cap: 1,
    });
    let api_url = api.api_url();

    // A wrong token: a clear error and no profile.
    let out = run(
        &data,
        &["login", "--api-url", &api_url],
        Some("ghp_0000000000000000000000000000000000000\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ferret: error: token rejected by GitHub (401)"),
        "{err}"
    );
    assert!(!ok(run(&data, &["profile", "list"], None)).contains("clitester"));

    let said = ok(run(
        &data,
        &["login", "--api-url", &api_url],
        Some(&format!("{}\n", token())),
    ));
    assert!(said.contains("signed in as clitester"), "{said}");
    let list = ok(run(&data, &["profile", "list"], None));
    let current = list
        .lines()
        .find(|l| l.starts_with('*'))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(current.contains("clitester"), "{list}");

    let repos: serde_json::Value =
        serde_json::from_str(&ok(run(&data, &["github", "repos", "--json"], None))).unwrap();
    let repos = repos.as_array().unwrap();
    assert_eq!(repos.len(), 2, "both pages");
    let tools = |repos: &[serde_json::Value]| {
        repos
            .iter()
            .find(|r| r["full_name"] == "acme/tools")
            .cloned()
            .expect("acme/tools listed")
    };
    assert_eq!(tools(repos)["private"], true);
    assert_eq!(tools(repos)["added"], false);
    assert!(tools(repos)["estimated_chunks"].as_u64().unwrap() > 0);

    let added = ok(run(&data, &["repo", "add", "github:acme/tools"], None));
    assert!(added.contains("cloned acme/tools"), "{added}");
    let hits = ok(run(
        &data,
        &["search", "parse_semver", "--mode", "lexical", "--json"],
        None,
    ));
    assert!(hits.contains("src/lib.rs"), "{hits}");
    let repos: serde_json::Value =
        serde_json::from_str(&ok(run(&data, &["github", "repos", "--json"], None))).unwrap();
    assert_eq!(tools(repos.as_array().unwrap())["added"], true);
    let synced = ok(run(&data, &["repo", "sync"], None));
    assert!(synced.contains("acme/tools: up to date"), "{synced}");

    let show = ok(run(&data, &["profile", "show"], None));
    assert!(show.contains("token in keychain: yes"), "{show}");
    let stats: serde_json::Value =
        serde_json::from_str(&ok(run(&data, &["profile", "stats", "--json"], None))).unwrap();
    assert_eq!(stats["total_repos"], 1);
    assert!(stats["pool"]["misses"].as_u64().unwrap() >= 1);
    let audit = ok(run(&data, &["profile", "audit"], None));
    for event in ["signin", "repo-added", "index"] {
        assert!(audit.contains(event), "{audit}");
    }

    // Every file Ferret wrote, the clone included, is free of the token.
    let mut files = Vec::new();
    files_under(&data, &mut files);
    assert!(files.len() > 5);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let token = token();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "token in {}",
            file.display()
        );
    }

    let bye = ok(run(&data, &["logout"], None));
    assert!(bye.contains("signed out"), "{bye}");
    let out = run(&data, &["github", "repos"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ferret login"));

    let id = current.split_whitespace().nth(1).unwrap().to_string();
    let out = run(&data, &["profile", "delete", &id], None);
    assert!(!out.status.success(), "delete needs --yes");
    let deleted = ok(run(&data, &["profile", "delete", &id, "--yes"], None));
    assert!(deleted.contains("deleted profile"), "{deleted}");
    assert!(!data.join("user_data").join(&id).exists());
    let list = ok(run(&data, &["profile", "list"], None));
    assert!(list.contains("* default"), "{list}");
}

#[test]
fn local_profiles_and_bad_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    ok(run(data, &["profile", "create", "work"], None));
    let list = ok(run(data, &["profile", "list"], None));
    assert!(list.contains("* work"), "{list}");
    ok(run(data, &["profile", "use", "default"], None));
    for bad in ["../etc", "a/b", "Work", ""] {
        let out = run(data, &["profile", "use", bad], None);
        assert!(!out.status.success(), "{bad:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("ferret: error:"), "{err}");
    }
    let out = run(data, &["--profile", "nope", "stats"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile \"nope\""));
    let out = run(data, &["--profile", "work", "github", "repos"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("local profile"));
    ok(run(
        data,
        &[
            "profile",
            "set",
            "work",
            "--status",
            "read-only",
            "--max-repos",
            "3",
        ],
        None,
    ));
    let out = run(data, &["--profile", "work", "index"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
}
