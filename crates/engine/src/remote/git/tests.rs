use super::*;
use std::cell::RefCell;

use git2::build::TreeUpdateBuilder;
use git2::Oid;
use git2::{FileMode, Signature};

/// Adds a commit to `repo` on `HEAD`: `Some` writes a file, `None` deletes it.
fn commit(repo: &Repository, files: &[(&str, Option<&str>)]) -> Oid {
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let base = match &parent {
        Some(c) => c.tree().unwrap(),
        None => {
            let empty = repo.treebuilder(None).unwrap().write().unwrap();
            repo.find_tree(empty).unwrap()
        }
    };
    let mut update = TreeUpdateBuilder::new();
    for (path, content) in files {
        match content {
            Some(text) => {
                let blob = repo.blob(text.as_bytes()).unwrap();
                update.upsert(*path, blob, FileMode::Blob);
            }
            None => {
                update.remove(*path);
            }
        }
    }
    let tree = repo
        .find_tree(update.create_updated(repo, &base).unwrap())
        .unwrap();
    let sig = Signature::now("Test", "test@example.com").unwrap();
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "change", &tree, &parents)
        .unwrap()
}

fn is_valid(url: &str) -> bool {
    validate_remote_url(url).is_ok()
}

#[test]
fn accepts_https_urls() {
    for url in [
        "https://github.com/owner/name.git",
        "https://github.com/owner/name",
        "HTTPS://GitHub.com/owner/name.git",
        "https://github.example.com:8443/owner/name.git",
        "https://[2001:db8::1]/owner/name.git",
        "https://[2001:db8::1]:443/owner/name.git",
        "https://10.0.0.1/owner/name.git",
    ] {
        assert!(is_valid(url), "{url} should be accepted");
    }
}

#[test]
fn accepts_plain_http_only_for_loopback() {
    for url in [
        "http://127.0.0.1:8080/owner/name.git",
        "http://127.1.2.3/owner/name.git",
        "http://localhost:9000/owner/name.git",
        "http://LOCALHOST/owner/name.git",
        "http://[::1]:9000/owner/name.git",
    ] {
        assert!(is_valid(url), "{url} should be accepted");
    }
    for url in [
        "http://github.com/owner/name.git",
        "http://10.0.0.1/owner/name.git",
        "http://128.0.0.1/owner/name.git",
        "http://localhost.evil.com/owner/name.git",
        "http://127.0.0.1.evil.com/owner/name.git",
        "http://[::2]/owner/name.git",
        "http://[::ffff:127.0.0.1]/owner/name.git",
    ] {
        let err = validate_remote_url(url).expect_err(url).to_string();
        assert!(err.contains("HTTPS only"), "{url}: {err}");
        assert!(err.contains("unencrypted"), "{url}: {err}");
    }
}

#[test]
fn refuses_other_schemes_credentials_and_malformed_urls() {
    for url in [
        "ssh://git@github.com/owner/name.git",
        "git@github.com:owner/name.git",
        "git://github.com/owner/name.git",
        "file:///tmp/repo",
        "/tmp/repo",
        "ftp://example.com/owner/name.git",
        "https://user:secret@github.com/owner/name.git",
        "https://ghp_abc@github.com/owner/name.git",
        "http://user:pw@127.0.0.1/owner/name.git",
        "https://github.com",
        "https://github.com/",
        "https:///owner/name.git",
        "https://github.com:/owner/name.git",
        "https://github.com:99999/owner/name.git",
        "https://github.com:0/owner/name.git",
        "https://github.com:abc/owner/name.git",
        "https://[::1/owner/name.git",
        "https://[nope]/owner/name.git",
        "https://git hub.com/owner/name.git",
        "https://github.com/owner/name.git\n",
        "https://gith\u{fc}b.com/owner/name.git",
        "",
    ] {
        let err = validate_remote_url(url).expect_err(url);
        assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
        assert!(err.to_string().contains("HTTPS only"), "{url}: {err}");
    }
    let err = validate_remote_url("https://me:ghp_secret@github.com/o/n.git").unwrap_err();
    assert!(err.to_string().contains("never in the URL"), "{err}");
}

#[test]
fn auth_debug_hides_the_token() {
    let auth = GitAuth {
        token: Some("ghp_supersecret"),
    };
    let shown = format!("{auth:?}");
    assert!(!shown.contains("supersecret"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
}

#[test]
fn changed_paths_reports_adds_edits_deletes_and_renames() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(tmp.path()).unwrap();
    let moved = "fn moved() {\n    println!(\"a body long enough to be similar\");\n}\n";
    let old = commit(
        &repo,
        &[
            ("src/keep.rs", Some("fn keep() {}\n")),
            ("src/edit.rs", Some("fn edit() {}\n")),
            ("src/gone.rs", Some("fn gone() {}\n")),
            ("src/old_name.rs", Some(moved)),
        ],
    );
    let new = commit(
        &repo,
        &[
            ("src/edit.rs", Some("fn edit() { changed() }\n")),
            ("src/gone.rs", None),
            ("src/old_name.rs", None),
            ("lib/new_name.rs", Some(moved)),
            ("docs/new.md", Some("# New\n")),
        ],
    );
    let changed = changed_paths(tmp.path(), &old.to_string(), &new.to_string()).unwrap();
    let expected = vec![
        ChangedPath {
            path: "docs/new.md".into(),
            status: ChangeStatus::Added,
        },
        ChangedPath {
            path: "lib/new_name.rs".into(),
            status: ChangeStatus::Renamed {
                from: "src/old_name.rs".into(),
            },
        },
        ChangedPath {
            path: "src/edit.rs".into(),
            status: ChangeStatus::Modified,
        },
        ChangedPath {
            path: "src/gone.rs".into(),
            status: ChangeStatus::Deleted,
        },
    ];
    assert_eq!(changed, expected);
    assert!(
        changed_paths(tmp.path(), &new.to_string(), &new.to_string())
            .unwrap()
            .is_empty()
    );
    // Reversed, the rename goes the other way.
    let back = changed_paths(tmp.path(), &new.to_string(), &old.to_string()).unwrap();
    assert!(back.contains(&ChangedPath {
        path: "src/old_name.rs".into(),
        status: ChangeStatus::Renamed {
            from: "lib/new_name.rs".into()
        },
    }));
    assert_eq!(head_commit(tmp.path()).unwrap(), new.to_string());
}

#[test]
fn changed_paths_rejects_bad_ids_and_missing_repos() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(tmp.path()).unwrap();
    let one = commit(&repo, &[("a.txt", Some("a\n"))]).to_string();
    let err = changed_paths(tmp.path(), "nothex", &one).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let missing = "0123456789012345678901234567890123456789";
    let err = changed_paths(tmp.path(), missing, &one).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let empty = tempfile::tempdir().unwrap();
    let err = head_commit(empty.path()).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn failed_clone_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("repos/owner/name");
    let url = format!("http://127.0.0.1:{}/owner/name.git", closed_port());
    let stages = RefCell::new(Vec::new());
    let err = clone_repo(
        &url,
        &dest,
        None,
        &GitAuth::default(),
        &AtomicBool::new(false),
        &|p| stages.borrow_mut().push(p.stage),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("cannot reach 127.0.0.1:"), "{message}");
    assert!(message.contains("(offline?)"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert_eq!(stages.borrow().first(), Some(&GitStage::Connecting));
    // The partial clone and the parent directories this call made are all gone.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn failed_clone_keeps_existing_parents_and_stale_partials_are_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("name");
    let stale = tmp
        .path()
        .join(format!("name.partial-{}", std::process::id()));
    std::fs::create_dir_all(stale.join("junk")).unwrap();
    let url = format!("http://127.0.0.1:{}/owner/name.git", closed_port());
    let cancel = AtomicBool::new(false);
    clone_repo(&url, &dest, None, &GitAuth::default(), &cancel, &|_| {}).unwrap_err();
    assert!(tmp.path().exists());
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn clone_refuses_existing_dest_bad_urls_and_a_set_cancel_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let url = "https://github.com/owner/name.git";
    let no = AtomicBool::new(false);
    let auth = GitAuth::default();
    let err = clone_repo(url, tmp.path(), None, &auth, &no, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("already exists"), "{err}");

    let dest = tmp.path().join("clone");
    let err = clone_repo("git://github.com/o/n.git", &dest, None, &auth, &no, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = clone_repo(url, &dest, Some("bad..name"), &auth, &no, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");

    let yes = AtomicBool::new(true);
    let err = clone_repo(url, &dest, None, &auth, &yes, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn partial_clones_of_dead_processes_are_swept_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let repos = dir.path().join("repos");
    let dead = repos.join("acme/tools.partial-999999999");
    let live = repos.join(format!("acme/web.partial-{}", std::process::id()));
    let clone = repos.join("acme/api");
    for d in [&dead, &live, &clone] {
        std::fs::create_dir_all(d.join(".git")).unwrap();
        std::fs::write(d.join("README.md"), "x").unwrap();
    }
    assert_eq!(sweep_abandoned_clones(&repos), 1);
    assert!(!dead.exists(), "the dead process's partial clone is gone");
    assert!(
        live.exists() && clone.exists(),
        "live partial clones and clones stay"
    );
    assert_eq!(sweep_abandoned_clones(&dir.path().join("missing")), 0);
}

#[test]
fn the_token_goes_only_to_the_host_the_repository_came_from() {
    let cancel = AtomicBool::new(false);
    let progress = |_: &GitProgress| {};
    let session = Session::new("https://github.com/acme/tools.git", &cancel, &progress).unwrap();
    let plain = git2::CredentialType::USER_PASS_PLAINTEXT;
    let err = session
        .on_credentials("https://evil.example/acme/tools.git", plain, Some("ghp_x"))
        .err()
        .expect("another host gets no token");
    assert!(err.message().contains("another host"), "{}", err.message());
    let fresh = Session::new("https://github.com/acme/tools.git", &cancel, &progress).unwrap();
    assert!(fresh
        .on_credentials("https://GitHub.com/acme/tools.git", plain, Some("ghp_x"))
        .is_ok());
}
