//! `ferret-test-servers`: the local GitHub REST API and smart-HTTP git server of the Rust
//! suites, as one process for suites written in other languages (the desktop end-to-end
//! run). It publishes the given fixture directories as repositories of one user, prints one
//! JSON line (`{"api_url", "token", "login", "repos": [{"full_name", "clone_url"}]}`) and
//! serves until its standard input closes, so it never outlives the test that started it.
//!
//! ```text
//! ferret-test-servers OWNER/NAME=DIR [OWNER/NAME=DIR ...]
//! ```
//!
//! Besides the published repositories the API lists a few that exist only in the listing
//! (private, other languages, bigger), so the repository picker has something to show.

use std::io::Read;
use std::path::{Path, PathBuf};

use ferret_tests::git_server::{make_bare_repo, GitServer};
use ferret_tests::github_server::{FixtureRepo, GitHubFixture, GitHubServer};

/// The one token both servers accept.
const TOKEN: &str = "ghp_e2eFerretLocalTestToken000000000000";
const LOGIN: &str = "octo-e2e";

fn main() {
    let specs: Vec<(String, String, PathBuf)> = std::env::args()
        .skip(1)
        .map(|arg| {
            let (full, dir) = arg
                .split_once('=')
                .unwrap_or_else(|| usage(&format!("expected OWNER/NAME=DIR, got {arg:?}")));
            let (owner, name) = full
                .split_once('/')
                .unwrap_or_else(|| usage(&format!("expected OWNER/NAME, got {full:?}")));
            (owner.to_string(), name.to_string(), PathBuf::from(dir))
        })
        .collect();
    if specs.is_empty() {
        usage("name at least one repository");
    }

    let root = tempfile::tempdir().expect("temp dir for the bare repositories");
    let git = GitServer::start(root.path(), TOKEN);
    let mut repos = Vec::new();
    for (owner, name, dir) in &specs {
        let files = read_tree(dir);
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        make_bare_repo(root.path(), owner, name, &refs);
        let mut repo = FixtureRepo::new(owner, name);
        repo.clone_url = git.url(&format!("{owner}/{name}"));
        repo.size_kb = (files.iter().map(|(_, c)| c.len() as u64).sum::<u64>() / 1024).max(1);
        repo.language = Some("C".to_string());
        repos.push(repo);
    }
    let listed_only = [
        ("octo-e2e", "dotfiles", false, Some("Shell"), 40),
        ("octo-e2e", "payments-api", true, Some("Go"), 18_400),
        (
            "acme-corp",
            "design-system",
            false,
            Some("TypeScript"),
            52_000,
        ),
        ("acme-corp", "ml-pipeline", true, Some("Python"), 9_300),
    ];
    for (owner, name, private, language, size_kb) in listed_only {
        let mut repo = FixtureRepo::new(owner, name);
        repo.private = private;
        repo.language = language.map(str::to_string);
        repo.size_kb = size_kb;
        repo.clone_url = git.url(&format!("{owner}/{name}"));
        repos.push(repo);
    }
    let published: Vec<serde_json::Value> = repos
        .iter()
        .take(specs.len())
        .map(|r| serde_json::json!({"full_name": r.full_name(), "clone_url": r.clone_url}))
        .collect();
    let api = GitHubServer::start(GitHubFixture {
        token: TOKEN.to_string(),
        user: (4242, LOGIN.to_string()),
        repos,
        per_page_cap: 3,
    });
    println!(
        "{}",
        serde_json::json!({
            "api_url": api.api_url(),
            "token": TOKEN,
            "login": LOGIN,
            "repos": published,
        })
    );
    // Serve until the parent closes our stdin (or dies).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    eprintln!(
        "ferret-test-servers: stopping ({} API requests)",
        api.requests().len()
    );
}

/// Every file under `dir` as (relative path with `/`, text). Fixtures are text.
fn read_tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current)
            .unwrap_or_else(|e| usage(&format!("cannot read {}: {e}", current.display())));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| usage(&format!("{} is not text: {e}", path.display())));
                let rel = path.strip_prefix(dir).expect("under the fixture dir");
                out.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    out.sort();
    out
}

fn usage(message: &str) -> ! {
    eprintln!("ferret-test-servers: {message}\nusage: ferret-test-servers OWNER/NAME=DIR ...");
    std::process::exit(2)
}
