use super::*;

fn engine_with_repo() -> (tempfile::TempDir, Engine, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("work").join("proj");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    let text: String = (1..=10).map(|i| format!("line {i}\r\n")).collect();
    std::fs::write(repo.join("src/lib.rs"), text).unwrap();
    std::fs::write(dir.path().join("work/secret.txt"), "s3cret").unwrap();
    let engine = Engine::open(EngineOptions {
        data_root: Some(dir.path().join("data")),
        ..EngineOptions::default()
    })
    .unwrap();
    engine.add_repo(&repo, Some("proj")).unwrap();
    (dir, engine, repo)
}

#[test]
fn resolve_file_stays_inside_the_repository() {
    let (dir, engine, repo) = engine_with_repo();
    let root = std::fs::canonicalize(&repo).unwrap();
    assert_eq!(
        engine.resolve_file("proj", "src/lib.rs").unwrap(),
        root.join("src/lib.rs")
    );
    for bad in ["../secret.txt", "src/../../secret.txt", "/etc/passwd", ""] {
        let err = engine.resolve_file("proj", bad).unwrap_err().to_string();
        assert!(err.contains("invalid file path"), "{bad}: {err}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("work/secret.txt"), repo.join("out")).unwrap();
        std::os::unix::fs::symlink("lib.rs", repo.join("src/inside")).unwrap();
        let err = engine.resolve_file("proj", "out").unwrap_err().to_string();
        assert!(err.contains("outside the repository"), "{err}");
        assert_eq!(
            engine.resolve_file("proj", "src/inside").unwrap(),
            root.join("src/lib.rs"),
            "a symlink within the repository is fine"
        );
    }
    let err = engine.resolve_file("proj", "src").unwrap_err().to_string();
    assert!(err.contains("not a file"), "{err}");
    let err = engine
        .resolve_file("proj", "gone.rs")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in proj any more"), "{err}");
    let err = engine.resolve_file("nope", "a.rs").unwrap_err().to_string();
    assert!(err.contains("no repository named"), "{err}");
}

#[test]
fn file_context_takes_lines_around_the_line() {
    let (_dir, engine, _repo) = engine_with_repo();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    engine.index(None, &cancel, true, &|_| {}).unwrap();
    let ctx = engine.file_context("proj", "src/lib.rs", 5, 2, 1).unwrap();
    assert_eq!(ctx.start_line, 3);
    assert_eq!(ctx.lines, ["line 3", "line 4", "line 5", "line 6"]);
    let start = engine.file_context("proj", "src/lib.rs", 1, 5, 0).unwrap();
    assert_eq!((start.start_line, start.lines.len()), (1, 1));
    let end = engine.file_context("proj", "src/lib.rs", 99, 1, 5).unwrap();
    assert_eq!(end.start_line, 9);
    assert_eq!(end.lines, ["line 9", "line 10"]);
    assert!(engine.file_context("proj", "../x", 1, 1, 1).is_err());
}

/// A data directory inside an indexed repository (a user who keeps everything in one
/// folder): Ferret's own files are never indexed, so the index cannot feed on itself.
#[test]
fn the_data_directory_inside_a_repository_is_never_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("proj");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("src/lib.rs"), "pub fn only_file() {}\n").unwrap();
    let engine = Engine::open(EngineOptions {
        data_root: Some(repo.join(".ferret-data")),
        ..EngineOptions::default()
    })
    .unwrap();
    engine.add_repo(&repo, Some("proj")).unwrap();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    engine.index(None, &cancel, true, &|_| {}).unwrap();
    // Twice: the first run wrote the database, the WAL and the job lock inside the repo.
    let report = engine.index(None, &cancel, true, &|_| {}).unwrap();
    let repos = engine.repos().unwrap();
    assert_eq!(repos[0].files, 1, "only src/lib.rs is indexed: {report:?}");
    assert_eq!(
        report.files_changed, 0,
        "the second run found nothing new: {report:?}"
    );
}

/// The data directory holds the user's code: owner-only on creation, and an install made
/// before this rule (0755/0644 under umask 022) is repaired when it is opened.
#[cfg(unix)]
#[test]
fn the_data_directory_is_private_and_repaired_at_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let open = || {
        Engine::open(EngineOptions {
            data_root: Some(root.clone()),
            ..EngineOptions::default()
        })
        .unwrap()
    };
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let profile = root.join("user_data/default");
    let checked = [
        (root.clone(), 0o700),
        (root.join("user_data"), 0o700),
        (profile.clone(), 0o700),
        (root.join("profiles.sqlite"), 0o600),
        (profile.join("meta.sqlite"), 0o600),
    ];
    drop(open());
    drop(open());
    for (path, want) in &checked {
        assert_eq!(mode(path), *want, "{} on creation", path.display());
    }
    for (path, want) in &checked {
        let loose = if *want == 0o700 { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    drop(open());
    for (path, want) in &checked {
        assert_eq!(mode(path), *want, "{} repaired at open", path.display());
    }
}

/// `--data-dir` naming an existing folder of the user's: Ferret's own entries in it become
/// private, the user's files and the folder itself keep the modes the user gave them.
#[cfg(unix)]
#[test]
fn a_data_dir_in_a_users_folder_tightens_only_what_ferret_made() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("shared");
    std::fs::create_dir_all(folder.join("docs")).unwrap();
    std::fs::write(folder.join("notes.txt"), "mine").unwrap();
    std::fs::write(folder.join("run.sh"), "#!/bin/sh\n").unwrap();
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    set(&folder, 0o755);
    set(&folder.join("docs"), 0o755);
    set(&folder.join("notes.txt"), 0o644);
    set(&folder.join("run.sh"), 0o755);
    for _ in 0..2 {
        drop(
            Engine::open(EngineOptions {
                data_root: Some(folder.clone()),
                ..EngineOptions::default()
            })
            .unwrap(),
        );
    }
    assert_eq!(mode(&folder.join("notes.txt")), 0o644);
    assert_eq!(mode(&folder.join("run.sh")), 0o755);
    assert_eq!(mode(&folder.join("docs")), 0o755);
    assert_eq!(mode(&folder), 0o755, "the user's folder keeps its mode");
    assert_eq!(mode(&folder.join("profiles.sqlite")), 0o600);
    assert_eq!(mode(&folder.join("user_data")), 0o700);
    assert_eq!(mode(&folder.join("user_data/default/meta.sqlite")), 0o600);
}

/// Links (`ferret://open`) and agents (`read_code`, through [`Engine::file_context`]) reach
/// only indexed files: not `.git/config`, not an ignored file, not a secret the indexer
/// skipped, not a path or symlink leading out of the repository.
#[test]
fn links_and_agents_reach_only_indexed_files() {
    let (dir, engine, repo) = engine_with_repo();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(repo.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "local.txt\n").unwrap();
    std::fs::write(repo.join("local.txt"), "ignored\n").unwrap();
    std::fs::write(repo.join(".env"), "API_TOKEN=s3cret\n").unwrap();
    std::fs::write(repo.join("id_rsa"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("work/secret.txt"), repo.join("out.rs")).unwrap();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    engine.index(None, &cancel, true, &|_| {}).unwrap();
    assert!(engine.resolve_indexed_file("proj", "src/lib.rs").is_ok());
    assert_eq!(
        engine
            .file_context("proj", "src/lib.rs", 1, 0, 0)
            .unwrap()
            .lines,
        ["line 1"]
    );
    for refused in [
        ".git/config",
        "local.txt",
        ".env",
        "id_rsa",
        "out.rs",
        "../secret.txt",
        "/etc/passwd",
        "src/missing.rs",
    ] {
        for err in [
            engine.resolve_indexed_file("proj", refused).unwrap_err(),
            engine.file_context("proj", refused, 1, 0, 5).unwrap_err(),
        ] {
            assert!(
                matches!(
                    err.kind(),
                    crate::ErrorKind::Refused | crate::ErrorKind::InvalidInput
                ),
                "{refused}: {err}"
            );
            let message = err.to_string();
            assert!(!message.contains("s3cret") && !message.contains("[core]"));
            if !refused.contains("..") && !refused.starts_with('/') {
                assert!(
                    message.contains("is not an indexed file of repository proj"),
                    "{refused}: {message}"
                );
            }
        }
    }
    let err = engine
        .file_context("nope", "src/lib.rs", 1, 0, 0)
        .unwrap_err();
    assert!(err.to_string().contains("no repository named"), "{err}");
    drop(dir);
}

/// The whole-database check runs only after an unclean shutdown: a clean close leaves no
/// marker, a process that died with the profile open leaves one.
#[test]
fn the_integrity_check_runs_only_after_an_unclean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Engine::open(EngineOptions {
            data_root: Some(dir.path().to_path_buf()),
            ..EngineOptions::default()
        })
        .unwrap()
    };
    drop(open());
    let clean = open();
    assert!(
        !clean.integrity_checked_at_open(),
        "a clean close needs no check"
    );
    drop(clean);
    let profile = dir.path().join("user_data/default");
    std::fs::write(profile.join("open-999999999.marker"), b"").unwrap();
    let after_crash = open();
    assert!(after_crash.integrity_checked_at_open());
    assert!(!profile.join("open-999999999.marker").exists());
    let markers = || {
        std::fs::read_dir(&profile)
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("open-{}-", std::process::id()))
            })
            .count()
    };
    assert_eq!(markers(), 1, "this process marks the profile open");
    drop(after_crash);
    assert_eq!(markers(), 0, "and unmarks it on close");
}

/// A repository row that names a clone outside `<profile>/repos/` (an imported `../..`
/// remote, or a `repos/OWNER` that is a symlink to elsewhere) loses its index on Remove,
/// never a folder: the clone's folder is checked on its canonical path.
#[test]
fn removing_a_repository_never_deletes_a_folder_outside_the_profiles_clones() {
    use crate::store::RemoteInfo;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("alpha")).unwrap();
    std::fs::write(home.join("keep.txt"), "mine").unwrap();
    std::fs::write(home.join("alpha/keep.txt"), "mine too").unwrap();
    // Where the data lives by default, so six `..` from a clone lead home.
    let engine = Engine::open(EngineOptions {
        data_root: Some(home.join(".local/share/ferret")),
        ..EngineOptions::default()
    })
    .unwrap();
    let repos_dir = engine.paths().repos_dir();
    std::fs::create_dir_all(&repos_dir).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&home, repos_dir.join("acme")).unwrap();
    let head = "0".repeat(40);
    for (name, remote) in [("escape", "../../../../../.."), ("linked", "acme/alpha")] {
        let root = repos_dir.join(remote);
        assert!(root.is_dir(), "{name}: {} reaches home", root.display());
        engine
            .store()
            .add_remote_repo(
                name,
                &root,
                &RemoteInfo {
                    full_name: remote,
                    clone_url: "https://github.com/acme/alpha.git",
                    branch: "main",
                    head: &head,
                },
            )
            .unwrap();
        engine.remove_repo(name).unwrap();
        assert!(
            engine.repos().unwrap().iter().all(|r| r.name != name),
            "{name}: the row is gone"
        );
        assert_eq!(
            std::fs::read_to_string(home.join("keep.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(home.join("alpha/keep.txt")).unwrap(),
            "mine too",
            "{name}"
        );
    }
}

/// A local folder named by an imported profile is not read, indexed or watched until the
/// user confirms it; the filesystem root, the home directory (or a folder holding it) and
/// files are refused at confirmation.
#[test]
fn an_imported_local_folder_waits_for_confirmation() {
    let (dir, engine, repo) = engine_with_repo();
    engine
        .index(None, &AtomicBool::new(false), true, &|_| {})
        .unwrap();
    let row = engine.store().repo_by_name("proj").unwrap().unwrap();
    engine
        .store()
        .set_repo_needs_confirmation(row.id, &row.root, true)
        .unwrap();
    assert!(engine.repos().unwrap()[0].needs_confirmation);
    let err = engine
        .resolve_file("proj", "src/lib.rs")
        .unwrap_err()
        .to_string();
    assert!(err.contains("ferret repo confirm proj"), "{err}");
    let err = engine
        .index(Some("proj"), &AtomicBool::new(false), true, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("ferret repo confirm proj"), "{err}");
    let all = engine
        .index(None, &AtomicBool::new(false), true, &|_| {})
        .unwrap();
    assert_eq!(
        all.files_seen, 0,
        "skipped when indexing everything: {all:?}"
    );
    // Results stay, but no text is read from the folder.
    let hits = engine
        .search(
            "line",
            &SearchOptions {
                limit: 5,
                mode: search::SearchMode::Lexical,
            },
        )
        .unwrap()
        .hits;
    assert!(!hits.is_empty() && hits.iter().all(|h| h.stale), "{hits:?}");

    let confirmed = engine.confirm_repo("proj").unwrap();
    assert_eq!(confirmed.root, std::fs::canonicalize(&repo).unwrap());
    assert!(!engine.repos().unwrap()[0].needs_confirmation);
    engine.resolve_file("proj", "src/lib.rs").unwrap();
    engine.confirm_repo("proj").unwrap();

    // What confirmation refuses.
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("code")).unwrap();
    std::fs::write(home.join("file.txt"), "x").unwrap();
    for (root, why) in [
        (PathBuf::from("/"), "the filesystem root"),
        (home.clone(), "home directory"),
        (dir.path().to_path_buf(), "home directory"),
        (home.join("file.txt"), "not a directory"),
        (home.join("gone"), "is the folder on this machine"),
    ] {
        let err = repos::acceptable_local_root(&root, Some(&home))
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{}: {err}", root.display());
    }
    assert_eq!(
        repos::acceptable_local_root(&home.join("code"), Some(&home)).unwrap(),
        std::fs::canonicalize(home.join("code")).unwrap()
    );
    // Through the engine too: a row for `/` stays unconfirmed.
    let row = engine
        .store()
        .add_repo("everything", std::path::Path::new("/"), "local")
        .unwrap();
    engine
        .store()
        .set_repo_needs_confirmation(row.id, std::path::Path::new("/"), true)
        .unwrap();
    let err = engine.confirm_repo("everything").unwrap_err().to_string();
    assert!(err.contains("the filesystem root"), "{err}");
    assert!(engine
        .repos()
        .unwrap()
        .iter()
        .any(|r| r.name == "everything" && r.needs_confirmation));
}
