//! Clone and fetch against a real smart-HTTP git server (`git http-backend` on 127.0.0.1)
//! with token auth: the token is used but never stored, failures and cancellation leave
//! nothing behind, and fetches report exactly what changed.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ferret_engine::remote::git::{
    clone_repo, fetch_fast_forward, head_commit, ChangeStatus, ChangedPath, GitAuth, GitProgress,
    GitStage,
};
use ferret_engine::Error;
use ferret_tests::git_server::{
    force_push, make_bare_repo, push_commit, push_commit_to, GitServer,
};

const TOKEN: &str = "ghp_FerretTestToken0123456789abcdef";

struct Fixture {
    _tmp: tempfile::TempDir,
    /// Where the bare repositories live (served by `server`).
    bare_root: PathBuf,
    /// Where clones go; nothing else is in it, so leftovers are easy to spot.
    clones: PathBuf,
    server: GitServer,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bare_root = tmp.path().join("server");
    let clones = tmp.path().join("clones");
    std::fs::create_dir_all(&bare_root).unwrap();
    std::fs::create_dir_all(&clones).unwrap();
    let server = GitServer::start(&bare_root, TOKEN);
    Fixture {
        _tmp: tmp,
        bare_root,
        clones,
        server,
    }
}

fn token() -> GitAuth<'static> {
    GitAuth { token: Some(TOKEN) }
}

fn never() -> AtomicBool {
    AtomicBool::new(false)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every file under `dir`, recursively.
fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            all_files(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

const SMALL: &[(&str, &str)] = &[
    ("README.md", "# Demo\n"),
    ("src/main.rs", "fn main() {\n    println!(\"hello\");\n}\n"),
    (
        "src/util/strings.rs",
        "pub fn shout(s: &str) -> String {\n    s.to_uppercase()\n}\n",
    ),
];

#[test]
fn clone_with_token_checks_out_files_and_stores_no_token() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let url = f.server.url("acme/demo");
    let dest = f.clones.join("acme/demo");
    let outcome = clone_repo(&url, &dest, None, &token(), &never(), &|_| {}).expect("clone");

    assert_eq!(outcome.branch, "main");
    assert_eq!(outcome.head, head_commit(&bare).unwrap());
    assert_eq!(head_commit(&dest).unwrap(), outcome.head);
    assert_eq!(read(&dest.join("README.md")), "# Demo\n");
    assert!(read(&dest.join("src/util/strings.rs")).contains("to_uppercase"));
    assert!(f.server.request_count() >= 2, "the server was used");

    let config = read(&dest.join(".git/config"));
    assert!(config.contains(&format!("url = {url}")), "{config}");
    let mut files = Vec::new();
    all_files(&dest, &mut files);
    assert!(files.len() > 5, "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "the token was written to {}",
            file.display()
        );
    }
    // Only the finished clone is left: no partial directory.
    assert_eq!(entries(&f.clones.join("acme")), ["demo"]);
}

#[test]
fn clone_with_wrong_token_fails_with_401_and_leaves_nothing() {
    let f = fixture();
    make_bare_repo(&f.bare_root, "acme", "private", SMALL);
    let url = f.server.url("acme/private");
    let wrong = GitAuth {
        token: Some("ghp_wrong_token_value"),
    };
    let err = clone_repo(
        &url,
        &f.clones.join("acme/private"),
        None,
        &wrong,
        &never(),
        &|_| {},
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Git { .. }), "{err:?}");
    assert!(message.contains("rejected the token (401)"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("Contents: read"), "{message}");
    assert!(!message.contains("ghp_wrong_token_value"), "{message}");
    assert!(entries(&f.clones).is_empty(), "{:?}", entries(&f.clones));
    // libgit2 asked once more after the rejection and gave up: no retry loop.
    assert!(
        f.server.request_count() <= 3,
        "{}",
        f.server.request_count()
    );
}

#[test]
fn clone_without_token_says_a_token_is_needed() {
    let f = fixture();
    make_bare_repo(&f.bare_root, "acme", "private", SMALL);
    let url = f.server.url("acme/private");
    let err = clone_repo(
        &url,
        &f.clones.join("private"),
        None,
        &GitAuth::default(),
        &never(),
        &|_| {},
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("needs a token"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(entries(&f.clones).is_empty(), "{:?}", entries(&f.clones));
}

#[test]
fn cancel_during_receiving_stops_the_clone_and_leaves_nothing() {
    let f = fixture();
    let contents: Vec<(String, String)> = (0..400)
        .map(|i| {
            (
                format!("src/mod_{i:03}.rs"),
                format!("pub fn f{i}() -> u32 {{\n    {i} * {i} + {}\n}}\n", i * 7),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    make_bare_repo(&f.bare_root, "acme", "big", &files);
    let cancel = AtomicBool::new(false);
    let receiving_seen = RefCell::new(0);
    let err = clone_repo(
        &f.server.url("acme/big"),
        &f.clones.join("acme/big"),
        None,
        &token(),
        &cancel,
        &|p| {
            if p.stage == GitStage::Receiving {
                *receiving_seen.borrow_mut() += 1;
                cancel.store(true, Ordering::SeqCst);
            }
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert_eq!(*receiving_seen.borrow(), 1, "stopped at the first report");
    assert!(entries(&f.clones).is_empty(), "{:?}", entries(&f.clones));
}

#[test]
fn progress_reports_every_stage_and_all_objects() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    push_commit(&bare, &[("CHANGELOG.md", Some("- first\n"))], "second");
    let reports: RefCell<Vec<GitProgress>> = RefCell::new(Vec::new());
    clone_repo(
        &f.server.url("acme/demo"),
        &f.clones.join("demo"),
        None,
        &token(),
        &never(),
        &|p| reports.borrow_mut().push(p.clone()),
    )
    .expect("clone");
    let reports = reports.into_inner();
    let stages: Vec<GitStage> = reports.iter().map(|p| p.stage).collect();
    assert_eq!(stages.first(), Some(&GitStage::Connecting), "{stages:?}");
    assert_eq!(stages.last(), Some(&GitStage::Done), "{stages:?}");
    assert!(stages.contains(&GitStage::Receiving), "{stages:?}");
    assert!(stages.contains(&GitStage::CheckingOut), "{stages:?}");
    let order = |s: GitStage| stages.iter().position(|x| *x == s).unwrap();
    assert!(order(GitStage::Receiving) < order(GitStage::CheckingOut));
    let last = reports.last().unwrap();
    // 2 commits, their trees and subtrees, and 5 blobs.
    assert!(last.total_objects >= 10, "{last:?}");
    assert_eq!(last.received_objects, last.total_objects, "{last:?}");
    assert!(last.received_bytes > 0, "{last:?}");
    assert!(reports
        .iter()
        .all(|p| p.received_objects <= p.total_objects || p.total_objects == 0));
}

#[test]
fn fetch_reports_added_modified_deleted_and_renamed_files() {
    let f = fixture();
    let moved = "pub fn shout(s: &str) -> String {\n    s.to_uppercase()\n}\n";
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let dest = f.clones.join("demo");
    let cloned = clone_repo(
        &f.server.url("acme/demo"),
        &dest,
        None,
        &token(),
        &never(),
        &|_| {},
    )
    .expect("clone");

    let new_head = push_commit(
        &bare,
        &[
            (
                "src/main.rs",
                Some("fn main() {\n    println!(\"bye\");\n}\n"),
            ),
            ("README.md", None),
            ("src/util/strings.rs", None),
            ("src/text.rs", Some(moved)),
            ("docs/guide.md", Some("# Guide\n")),
        ],
        "upstream change",
    );
    let stages = RefCell::new(Vec::new());
    let sync = fetch_fast_forward(&dest, "main", &token(), &never(), &|p| {
        stages.borrow_mut().push(p.stage)
    })
    .expect("fetch");
    assert_eq!(sync.old_head, cloned.head);
    assert_eq!(sync.new_head, new_head);
    assert_eq!(
        sync.changed,
        vec![
            ChangedPath {
                path: "README.md".into(),
                status: ChangeStatus::Deleted
            },
            ChangedPath {
                path: "docs/guide.md".into(),
                status: ChangeStatus::Added
            },
            ChangedPath {
                path: "src/main.rs".into(),
                status: ChangeStatus::Modified
            },
            ChangedPath {
                path: "src/text.rs".into(),
                status: ChangeStatus::Renamed {
                    from: "src/util/strings.rs".into()
                }
            },
        ]
    );
    assert_eq!(stages.borrow().last(), Some(&GitStage::Done));

    // The working tree and the branch moved.
    assert_eq!(head_commit(&dest).unwrap(), new_head);
    assert!(!dest.join("README.md").exists());
    assert!(!dest.join("src/util/strings.rs").exists());
    assert_eq!(read(&dest.join("src/text.rs")), moved);
    assert_eq!(read(&dest.join("docs/guide.md")), "# Guide\n");
    assert!(read(&dest.join("src/main.rs")).contains("bye"));

    // A second fetch brings nothing.
    let again = fetch_fast_forward(&dest, "main", &token(), &never(), &|_| {}).expect("no-op");
    assert_eq!(again.old_head, new_head);
    assert_eq!(again.new_head, new_head);
    assert!(again.changed.is_empty(), "{:?}", again.changed);
    assert!(!read(&dest.join(".git/config")).contains(TOKEN));
}

#[test]
fn fetch_with_a_wrong_token_fails_and_changes_nothing() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let dest = f.clones.join("demo");
    let url = f.server.url("acme/demo");
    let cloned = clone_repo(&url, &dest, None, &token(), &never(), &|_| {}).expect("clone");
    push_commit(&bare, &[("README.md", Some("# Changed\n"))], "edit");
    let wrong = GitAuth {
        token: Some("ghp_not_it"),
    };
    let err = fetch_fast_forward(&dest, "main", &wrong, &never(), &|_| {}).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("rejected the token (401)"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert_eq!(head_commit(&dest).unwrap(), cloned.head);
    assert_eq!(read(&dest.join("README.md")), "# Demo\n");
}

#[test]
fn cancelled_fetch_leaves_the_working_tree_alone() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let dest = f.clones.join("demo");
    let cloned = clone_repo(
        &f.server.url("acme/demo"),
        &dest,
        None,
        &token(),
        &never(),
        &|_| {},
    )
    .expect("clone");
    push_commit(&bare, &[("README.md", Some("# Changed\n"))], "edit");
    let cancel = AtomicBool::new(false);
    let err = fetch_fast_forward(&dest, "main", &token(), &cancel, &|p| {
        if p.stage == GitStage::Receiving {
            cancel.store(true, Ordering::SeqCst);
        }
    })
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert_eq!(head_commit(&dest).unwrap(), cloned.head);
    assert_eq!(read(&dest.join("README.md")), "# Demo\n");
    // The next sync picks the change up.
    let sync = fetch_fast_forward(&dest, "main", &token(), &never(), &|_| {}).expect("fetch");
    assert_eq!(sync.changed.len(), 1, "{:?}", sync.changed);
    assert_eq!(read(&dest.join("README.md")), "# Changed\n");
}

#[test]
fn force_pushed_history_is_refused_with_advice() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let dest = f.clones.join("demo");
    let cloned = clone_repo(
        &f.server.url("acme/demo"),
        &dest,
        None,
        &token(),
        &never(),
        &|_| {},
    )
    .expect("clone");
    force_push(&bare, &[("README.md", "# Rewritten\n")], "rewrite");
    let err = fetch_fast_forward(&dest, "main", &token(), &never(), &|_| {}).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("force-pushed"), "{message}");
    assert!(message.contains("remove the repository"), "{message}");
    assert_eq!(head_commit(&dest).unwrap(), cloned.head);
    assert_eq!(read(&dest.join("README.md")), "# Demo\n");
}

#[test]
fn local_edits_in_the_way_are_not_overwritten() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let dest = f.clones.join("demo");
    let cloned = clone_repo(
        &f.server.url("acme/demo"),
        &dest,
        None,
        &token(),
        &never(),
        &|_| {},
    )
    .expect("clone");
    push_commit(&bare, &[("README.md", Some("# Upstream\n"))], "edit");
    std::fs::write(dest.join("README.md"), "# Local edit\n").unwrap();
    let err = fetch_fast_forward(&dest, "main", &token(), &never(), &|_| {}).unwrap_err();
    assert!(err.to_string().contains("local changes"), "{err}");
    assert_eq!(read(&dest.join("README.md")), "# Local edit\n");
    assert_eq!(head_commit(&dest).unwrap(), cloned.head);
}

#[test]
fn branch_option_is_honoured_for_clone_and_fetch() {
    let f = fixture();
    let bare = make_bare_repo(&f.bare_root, "acme", "demo", SMALL);
    let feature_head = push_commit_to(
        &bare,
        "feature",
        &[("src/feature.rs", Some("pub fn feature() {}\n"))],
        "feature work",
    );
    let url = f.server.url("acme/demo");
    let dest = f.clones.join("demo");
    let outcome =
        clone_repo(&url, &dest, Some("feature"), &token(), &never(), &|_| {}).expect("clone");
    assert_eq!(outcome.branch, "feature");
    assert_eq!(outcome.head, feature_head);
    assert!(dest.join("src/feature.rs").exists());

    push_commit(&bare, &[("README.md", Some("# Main moved\n"))], "main only");
    let next = push_commit_to(&bare, "feature", &[("src/more.rs", Some("\n"))], "more");
    let sync = fetch_fast_forward(&dest, "feature", &token(), &never(), &|_| {}).expect("fetch");
    assert_eq!(sync.new_head, next);
    assert_eq!(
        sync.changed,
        vec![ChangedPath {
            path: "src/more.rs".into(),
            status: ChangeStatus::Added
        }]
    );
    assert_eq!(read(&dest.join("README.md")), "# Demo\n");

    // Fetching a branch other than the checked-out one is refused.
    let err = fetch_fast_forward(&dest, "main", &token(), &never(), &|_| {}).unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("has feature checked out"), "{err}");

    let err = clone_repo(
        &url,
        &f.clones.join("missing"),
        Some("no-such-branch"),
        &token(),
        &never(),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
    assert_eq!(entries(&f.clones), ["demo"]);
}

#[test]
fn unreachable_server_reports_offline_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/acme/demo.git");
    let err = clone_repo(
        &url,
        &tmp.path().join("demo"),
        None,
        &token(),
        &never(),
        &|_| {},
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("cannot reach 127.0.0.1:{port} (offline?)")),
        "{message}"
    );
    assert!(entries(tmp.path()).is_empty());
}
