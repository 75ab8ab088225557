use std::sync::mpsc::{Receiver, TryRecvError};

use notify::event::Flag;

use super::*;

/// How long a test waits for something that must happen (generous: 2 loaded cores).
const WAIT: Duration = Duration::from_secs(10);

fn options() -> WatchOptions {
    WatchOptions {
        debounce: Duration::from_millis(200),
        ..WatchOptions::default()
    }
}

fn repo(name: &str, root: &Path) -> WatchedRepo {
    WatchedRepo {
        name: name.into(),
        root: root.to_path_buf(),
        excludes: Vec::new(),
        skip_dirs: Vec::new(),
    }
}

fn start(repos: Vec<WatchedRepo>, opts: WatchOptions) -> (RepoWatcher, Receiver<ChangeBatch>) {
    let (tx, rx) = mpsc::channel();
    let watcher = RepoWatcher::start(repos, opts, move |batch| {
        let _ = tx.send(batch);
    })
    .unwrap();
    (watcher, rx)
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Receives batches until `done` holds for all received so far, or [`WAIT`] passes.
fn collect_until(
    rx: &Receiver<ChangeBatch>,
    done: impl Fn(&[ChangeBatch]) -> bool,
) -> Vec<ChangeBatch> {
    let deadline = Instant::now() + WAIT;
    let mut batches = Vec::new();
    while !done(&batches) {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(batch) => batches.push(batch),
            Err(_) => break,
        }
    }
    batches
}

/// Everything that arrives within `period`.
fn collect_for(rx: &Receiver<ChangeBatch>, period: Duration) -> Vec<ChangeBatch> {
    let deadline = Instant::now() + period;
    let mut batches = Vec::new();
    while let Ok(batch) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        batches.push(batch);
    }
    batches
}

fn all_paths(batches: &[ChangeBatch], repo: &str) -> BTreeSet<PathBuf> {
    batches
        .iter()
        .filter(|b| b.repo == repo)
        .flat_map(|b| b.paths.iter().cloned())
        .collect()
}

fn has_all(batches: &[ChangeBatch], repo: &str, wanted: &[&str]) -> bool {
    let paths = all_paths(batches, repo);
    wanted.iter().all(|w| paths.contains(Path::new(w)))
}

fn set(paths: &[&str]) -> BTreeSet<PathBuf> {
    paths.iter().map(PathBuf::from).collect()
}

#[test]
fn a_written_file_arrives_as_one_batch_with_its_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", "");
    let (_watcher, rx) = start(vec![repo("r", dir.path())], options());
    write(dir.path(), "src/lib.rs", "fn main() {}\n");
    let batches = collect_until(&rx, |b| !b.is_empty());
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].repo, "r");
    assert_eq!(batches[0].paths, set(&["src/lib.rs"]));
    assert_eq!(batches[0].rescan, None);
}

#[test]
fn a_burst_of_500_files_is_one_batch_with_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("many")).unwrap();
    let opts = WatchOptions {
        debounce: Duration::from_millis(500),
        max_batch_wait: Duration::from_secs(5),
        ..WatchOptions::default()
    };
    let (_watcher, rx) = start(vec![repo("r", dir.path())], opts);
    let expected: BTreeSet<PathBuf> = (0..500)
        .map(|i| PathBuf::from(format!("many/file{i}.rs")))
        .collect();
    for path in &expected {
        fs::write(dir.path().join(path), "fn f() {}\n").unwrap();
    }
    let mut batches = collect_until(&rx, |b| all_paths(b, "r").len() >= 500);
    // Anything that would still trickle in counts against the "one batch" promise.
    batches.extend(collect_for(&rx, Duration::from_secs(1)));
    assert_eq!(all_paths(&batches, "r"), expected);
    assert!(batches.len() <= 2, "{} batches", batches.len());
}

#[test]
fn ignored_paths_emit_nothing_while_normal_files_still_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".gitignore", "build/\n*.log\n");
    write(root, "sub/.gitignore", "*.scratch\n");
    write(root, ".git/HEAD", "ref: refs/heads/main\n");
    write(root, ".git/objects/00/placeholder", "");
    write(root, ".git/info/exclude", "private/\n");
    for d in [
        "target/debug",
        "build",
        "private",
        "generated",
        "node_modules/x",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut watched = repo("r", root);
    watched.excludes = vec!["generated/".into()];
    let (_watcher, rx) = start(vec![watched], options());

    write(root, "target/debug/main.rs", "x");
    write(root, "target/new/deeper.rs", "x");
    write(root, "build/out.rs", "x");
    write(root, "debug.log", "x");
    write(root, "sub/notes.scratch", "x");
    write(root, ".git/objects/ab/cdef0123", "x");
    write(root, ".git/index", "x");
    write(root, "private/key.rs", "x");
    write(root, "generated/api.rs", "x");
    write(root, "node_modules/x/index.js", "x");
    write(root, "image.png", "x");
    let quiet = collect_for(&rx, Duration::from_millis(1500));
    assert!(quiet.is_empty(), "{quiet:?}");

    // The watcher is alive: a normal file, and a `*.scratch` outside `sub/`, do arrive.
    write(root, "sub/keep.rs", "x");
    write(root, "top.scratch", "x");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["sub/keep.rs", "top.scratch"]));
    assert_eq!(
        all_paths(&batches, "r"),
        set(&["sub/keep.rs", "top.scratch"])
    );
}

#[test]
fn a_branch_switch_rewriting_git_head_emits_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".git/HEAD", "ref: refs/heads/main\n");
    let (_watcher, rx) = start(vec![repo("r", dir.path())], options());
    // As git does it: write a lock file, rename it over HEAD.
    write(dir.path(), ".git/HEAD.lock", "ref: refs/heads/topic\n");
    fs::rename(
        dir.path().join(".git/HEAD.lock"),
        dir.path().join(".git/HEAD"),
    )
    .unwrap();
    let batches = collect_until(&rx, |b| has_all(b, "r", &[".git/HEAD"]));
    assert_eq!(all_paths(&batches, "r"), set(&[".git/HEAD"]));
}

#[test]
fn deletes_and_renames_of_files_and_directories_emit_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.rs", "a");
    write(root, "b.rs", "b");
    write(root, "old/f.rs", "f");
    let (_watcher, rx) = start(vec![repo("r", root)], options());

    fs::remove_file(root.join("a.rs")).unwrap();
    let batches = collect_until(&rx, |b| has_all(b, "r", &["a.rs"]));
    assert_eq!(all_paths(&batches, "r"), set(&["a.rs"]));

    fs::rename(root.join("b.rs"), root.join("c.rs")).unwrap();
    let batches = collect_until(&rx, |b| has_all(b, "r", &["b.rs", "c.rs"]));
    assert_eq!(all_paths(&batches, "r"), set(&["b.rs", "c.rs"]));

    // A renamed directory: both names, what the new one holds, and it is watched.
    fs::rename(root.join("old"), root.join("new")).unwrap();
    let batches = collect_until(&rx, |b| has_all(b, "r", &["old", "new", "new/f.rs"]));
    assert!(
        has_all(&batches, "r", &["old", "new", "new/f.rs"]),
        "{batches:?}"
    );
    write(root, "new/g.rs", "g");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["new/g.rs"]));
    assert!(has_all(&batches, "r", &["new/g.rs"]), "{batches:?}");
}

#[test]
fn a_new_directory_is_watched_and_files_written_before_its_watch_count() {
    let dir = tempfile::tempdir().unwrap();
    let (_watcher, rx) = start(vec![repo("r", dir.path())], options());
    // Created and filled at once, most likely before the watcher sees the directory.
    write(dir.path(), "pkg/deep/first.rs", "x");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["pkg/deep/first.rs"]));
    assert!(
        has_all(&batches, "r", &["pkg/deep/first.rs"]),
        "{batches:?}"
    );
    write(dir.path(), "pkg/deep/second.rs", "x");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["pkg/deep/second.rs"]));
    assert_eq!(all_paths(&batches, "r"), set(&["pkg/deep/second.rs"]));
}

#[test]
fn editing_gitignore_rescans_and_applies_the_new_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".gitignore", "build/\n");
    fs::create_dir(root.join("build")).unwrap();
    let (_watcher, rx) = start(vec![repo("r", root)], options());

    write(root, ".gitignore", "*.log\n");
    let batches = collect_until(&rx, |b| b.iter().any(|b| b.rescan.is_some()));
    let rescan = batches.iter().find(|b| b.rescan.is_some()).unwrap();
    assert_eq!(rescan.rescan.as_deref(), Some(IGNORE_RULES_CHANGED));
    assert!(rescan.paths.contains(Path::new(".gitignore")), "{rescan:?}");

    // `build/` is no longer ignored (so it is watched now) and `*.log` is.
    write(root, "app.log", "x");
    write(root, "build/gen.rs", "x");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["build/gen.rs"]));
    assert_eq!(all_paths(&batches, "r"), set(&["build/gen.rs"]));
}

#[test]
fn a_queue_overflow_switches_to_polling_with_periodic_rescans() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        rescan_interval: Duration::from_millis(300),
        ..options()
    };
    let (watcher, rx) = start(vec![repo("r", dir.path())], opts);
    assert_eq!(watcher.mode("r"), Some(WatchMode::Events));
    watcher.inject(
        "r",
        Ok(notify::Event::new(EventKind::Other).set_flag(Flag::Rescan)),
    );
    let batches = collect_until(&rx, |b| b.len() >= 3);
    assert_eq!(batches.len(), 3, "{batches:?}");
    for batch in &batches {
        assert_eq!(batch.repo, "r");
        let reason = batch.rescan.as_deref().unwrap_or_default();
        assert!(reason.contains("overflowed"), "{reason}");
        assert!(
            reason.contains("sysctl fs.inotify.max_queued_events="),
            "{reason}"
        );
    }
    match watcher.mode("r") {
        Some(WatchMode::Polling { reason }) => assert!(reason.contains("overflowed")),
        other => panic!("expected polling, got {other:?}"),
    }
    // Events that still arrive are reported too.
    write(dir.path(), "late.rs", "x");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["late.rs"]));
    assert!(has_all(&batches, "r", &["late.rs"]), "{batches:?}");
}

#[test]
fn reaching_the_watch_limit_switches_to_polling_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("one"), dir.path().join("two"));
    fs::create_dir(&first).unwrap();
    fs::create_dir(&second).unwrap();
    let opts = WatchOptions {
        rescan_interval: Duration::from_millis(300),
        ..options()
    };
    let (watcher, rx) = start(vec![repo("one", &first), repo("two", &second)], opts);
    watcher.inject(
        "one",
        Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch)),
    );
    let batches = collect_until(&rx, |b| b.len() >= 2);
    assert_eq!(batches.len(), 2, "{batches:?}");
    for batch in &batches {
        assert_eq!(batch.repo, "one");
        let reason = batch.rescan.as_deref().unwrap_or_default();
        assert!(
            reason.contains("sysctl fs.inotify.max_user_watches="),
            "{reason}"
        );
    }
    assert!(matches!(
        watcher.mode("one"),
        Some(WatchMode::Polling { .. })
    ));
    // The other repository is not affected.
    assert_eq!(watcher.mode("two"), Some(WatchMode::Events));
}

#[test]
fn remove_stops_batches_for_that_repository_only() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("one"), dir.path().join("two"));
    fs::create_dir(&first).unwrap();
    fs::create_dir(&second).unwrap();
    let (watcher, rx) = start(vec![repo("one", &first), repo("two", &second)], options());
    write(&first, "before.rs", "x");
    let batches = collect_until(&rx, |b| has_all(b, "one", &["before.rs"]));
    assert!(has_all(&batches, "one", &["before.rs"]), "{batches:?}");

    watcher.remove("one");
    assert_eq!(watcher.mode("one"), None);
    write(&first, "after.rs", "x");
    write(&second, "other.rs", "x");
    let mut batches = collect_until(&rx, |b| has_all(b, "two", &["other.rs"]));
    batches.extend(collect_for(&rx, Duration::from_secs(1)));
    assert!(has_all(&batches, "two", &["other.rs"]), "{batches:?}");
    assert!(batches.iter().all(|b| b.repo == "two"), "{batches:?}");

    // The name can be watched again.
    watcher.add(repo("one", &first)).unwrap();
    write(&first, "again.rs", "x");
    let batches = collect_until(&rx, |b| has_all(b, "one", &["again.rs"]));
    assert_eq!(all_paths(&batches, "one"), set(&["again.rs"]));
}

#[test]
fn dropping_the_watcher_joins_its_thread_and_releases_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let (watcher, rx) = start(vec![repo("r", dir.path())], options());
    write(dir.path(), "a.rs", "x");
    assert!(!collect_until(&rx, |b| !b.is_empty()).is_empty());
    drop(watcher);
    // The sink (and so the only sender) lived on the worker thread, which was joined.
    while rx.try_recv().is_ok() {}
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Disconnected);
}

#[test]
fn a_steady_stream_of_writes_still_flushes_after_max_batch_wait() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        // Far longer than any pause between two writes below.
        debounce: Duration::from_secs(5),
        max_batch_wait: Duration::from_millis(500),
        ..WatchOptions::default()
    };
    let (_watcher, rx) = start(vec![repo("r", dir.path())], opts);
    let deadline = Instant::now() + WAIT;
    let mut received = None;
    let mut i = 0;
    while received.is_none() && Instant::now() < deadline {
        write(dir.path(), &format!("stream{i}.rs"), "x");
        i += 1;
        received = rx.recv_timeout(Duration::from_millis(50)).ok();
    }
    let batch = received.expect("no batch while writes kept coming");
    assert!(!batch.paths.is_empty());
}

#[test]
fn add_refuses_duplicates_missing_roots_and_bad_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let (watcher, _rx) = start(vec![repo("r", dir.path())], options());
    assert!(watcher.add(repo("r", dir.path())).is_err());
    assert!(watcher
        .add(repo("gone", &dir.path().join("missing")))
        .is_err());
    let mut bad = repo("bad", dir.path());
    bad.excludes = vec!["{unclosed".into()];
    assert!(watcher.add(bad).is_err());
    assert_eq!(watcher.mode("gone"), None);
    assert_eq!(watcher.mode("bad"), None);
    assert_eq!(watcher.mode("r"), Some(WatchMode::Events));
}

/// Ferret's data directory inside a watched repository: its writes (database, WAL, job
/// lock, vector files) never become batches, or the daemon would index itself forever.
#[test]
fn writes_under_a_skipped_directory_emit_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "src/lib.rs", "fn a() {}\n");
    write(root, ".ferret-data/user_data/default/config.json", "{}");
    let mut watched = repo("r", root);
    watched.skip_dirs = vec![root.join(".ferret-data")];
    let (_watcher, rx) = start(vec![watched], options());
    write(
        root,
        ".ferret-data/user_data/default/meta.sqlite-wal",
        "wal",
    );
    write(root, ".ferret-data/user_data/default/job.lock", "1");
    write(root, ".ferret-data/new/vectors.usearch.tmp", "v");
    assert!(
        collect_for(&rx, Duration::from_millis(800)).is_empty(),
        "the data directory's writes were reported"
    );
    write(root, "src/lib.rs", "fn b() {}\n");
    let batches = collect_until(&rx, |b| has_all(b, "r", &["src/lib.rs"]));
    assert!(
        all_paths(&batches, "r")
            .iter()
            .all(|p| !p.starts_with(".ferret-data")),
        "{batches:?}"
    );
}
