//! Periodic fetching by a profile's background: a commit pushed upstream becomes searchable
//! without anyone asking, and a paused profile, or a paused repository, fetches nothing.
//!
//! Real parts throughout: the token in the Secret Service keychain (run inside
//! `dbus-run-session` with gnome-keyring unlocked, as scripts/test.sh does), GitHub's REST
//! API served locally, clones and fetches over git's smart HTTP backend.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferret_engine::background::{
    BackgroundOptions, Job, JobEvent, JobKind, JobState, ProfileBackground,
};
use ferret_engine::profiles::secrets::Secret;
use ferret_engine::{Engine, ProfileStatus, Profiles, ProfilesOptions, SearchMode, SearchOptions};
use ferret_tests::git_server::{make_bare_repo, push_commit, GitServer};
use ferret_tests::github_server::{FixtureRepo, GitHubFixture, GitHubServer};

/// Polling limit: generous, since the machine may be busy; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(120);

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < PATIENCE,
            "gave up after {PATIENCE:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn found(engine: &Engine, query: &str, path: &str) -> bool {
    engine
        .search(
            query,
            &SearchOptions {
                limit: 10,
                mode: SearchMode::Lexical,
            },
        )
        .expect("search")
        .hits
        .iter()
        .any(|h| h.path == path)
}

#[test]
fn the_fetch_timer_brings_new_commits_in_and_stops_while_paused() {
    let user_id = 920_001u64;
    let token = format!("ghp_{:X<36}", format!("FerretFetchTest{user_id}"));
    let tmp = tempfile::tempdir().unwrap();
    let git_root = tmp.path().join("git");
    let git = GitServer::start(&git_root, &token);
    let bare = make_bare_repo(
        &git_root,
        "acme",
        "ledger",
        &[(
            "src/ledger.rs",
            "/// Sums the entries.\npub fn reconcile_ledger(entries: &[i64]) -> i64 {\n    entries.iter().sum()\n}\n",
        )],
    );
    let mut fixture = FixtureRepo::new("acme", "ledger");
    fixture.clone_url = git.url("acme/ledger");
    fixture.size_kb = 4;
    let api = GitHubServer::start(GitHubFixture {
        token: token.clone(),
        user: (user_id, format!("user{user_id}")),
        repos: vec![fixture],
        per_page_cap: 2,
    });
    let profiles = Profiles::open(ProfilesOptions {
        data_root: Some(tmp.path().join("data")),
        model_dir: Some(ferret_tests::model_dir()),
        threads: Some(1),
        pool_capacity: 2,
        ..ProfilesOptions::default()
    })
    .unwrap();
    let id = profiles
        .login(Some(&api.api_url()), &Secret::new(token.clone()).unwrap())
        .expect("login")
        .profile
        .id;
    let engine: Arc<Engine> = profiles.engine(&id).unwrap();
    let cancel = AtomicBool::new(false);
    engine
        .add_github_repo("acme/ledger", None, &cancel, &|_| {})
        .unwrap();
    engine.index(None, &cancel, false, &|_| {}).unwrap();
    assert!(found(&engine, "reconcile ledger", "src/ledger.rs"));

    let opts = BackgroundOptions {
        fetch_interval: Some(Duration::from_secs(1)),
        index_at_start: false,
        ..BackgroundOptions::for_engine(&engine)
    };
    let background =
        ProfileBackground::start(engine.clone(), opts, Arc::new(|_: &JobEvent| {})).unwrap();

    // Upstream moves on; nobody asks for a sync.
    push_commit(
        &bare,
        &[(
            "src/audit.rs",
            Some("/// Flags entries above the threshold.\npub fn flag_suspicious_transfers(limit: i64) -> bool {\n    limit > 10_000\n}\n"),
        )],
        "add audit",
    );
    wait_for("the pushed commit to become searchable", || {
        found(&engine, "flag suspicious transfers", "src/audit.rs")
    });
    let syncs = |engine: &Engine| -> Vec<Job> {
        engine
            .jobs(10_000)
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == JobKind::Sync)
            .collect()
    };
    // The new commit is searchable as soon as the sync's index commits; the job row says
    // Completed a moment later.
    wait_for("the sync job to be recorded as completed", || {
        syncs(&engine)
            .iter()
            .any(|j| j.state == JobState::Completed)
    });
    assert!(
        syncs(&engine).iter().all(|j| j.error.is_none()),
        "{:?}",
        syncs(&engine)
    );

    // Paused: whatever was running ends, and the timer queues nothing more.
    profiles.set_status(&id, ProfileStatus::Paused).unwrap();
    assert_eq!(profiles.get(&id).unwrap().status, ProfileStatus::Paused);
    wait_for("running jobs to stop", || {
        engine
            .jobs(0)
            .unwrap()
            .iter()
            .all(|j| j.state != JobState::Running)
    });
    let newest = |engine: &Engine| -> i64 {
        engine
            .jobs(10_000)
            .unwrap()
            .iter()
            .map(|j| j.id)
            .max()
            .unwrap_or(0)
    };
    let before = newest(&engine);
    let git_requests = git.request_count();
    // Several fetch intervals pass.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(newest(&engine), before, "a job was queued while paused");
    assert_eq!(
        git.request_count(),
        git_requests,
        "git was contacted while paused"
    );
    push_commit(
        &bare,
        &[("src/late.rs", Some("pub fn arrives_after_resume() {}\n"))],
        "late",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!found(&engine, "arrives after resume", "src/late.rs"));

    // Active again: fetching resumes on its own.
    profiles.set_status(&id, ProfileStatus::Active).unwrap();
    wait_for("fetching to resume", || {
        found(&engine, "arrives after resume", "src/late.rs")
    });

    // One repository paused: the timer leaves it alone (its only clone), search still has it.
    engine.set_repo_paused("acme/ledger", true).unwrap();
    wait_for("running jobs to stop", || {
        engine
            .jobs(0)
            .unwrap()
            .iter()
            .all(|j| j.state != JobState::Running)
    });
    let before = newest(&engine);
    let git_requests = git.request_count();
    push_commit(
        &bare,
        &[("src/held.rs", Some("pub fn held_back_while_paused() {}\n"))],
        "held",
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        newest(&engine),
        before,
        "a job was queued for a paused repository"
    );
    assert_eq!(
        git.request_count(),
        git_requests,
        "git was contacted for a paused repository"
    );
    assert!(!found(&engine, "held back while paused", "src/held.rs"));
    assert!(
        found(&engine, "reconcile ledger", "src/ledger.rs"),
        "still searchable"
    );
    engine.set_repo_paused("acme/ledger", false).unwrap();
    wait_for("fetching the resumed repository", || {
        found(&engine, "held back while paused", "src/held.rs")
    });
    drop(background);
}
