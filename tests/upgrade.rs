//! Upgrades keep the index: data directories written by earlier Ferret versions (committed
//! under `tests/fixtures/upgrade/`, see its README for how each was made) open with today's
//! code, migrate in place with their backup removed once the migration commits, and search
//! at once with nothing re-embedded. A data directory from a newer Ferret is refused with a
//! clear message and never rewritten.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ferret_engine::profiles::CONFIG_FORMAT;
use ferret_engine::{Engine, EngineOptions, ErrorKind, SearchMode};
use ferret_tests::{copy_dir, model_dir, open_engine, paths, repo_root, search};

/// Where the fixtures' source tree was when they were indexed (the root their databases
/// record); the tree itself is `tests/fixtures/upgrade/src`.
const SOURCE_ROOT: &str = "/tmp/ferret-upgrade-src";

/// Every committed fixture: its directory and the `meta.sqlite` schema version it holds.
const FIXTURES: &[(&str, i64)] = &[
    ("v0.1.0-meta1-71b0102", 1),
    ("v0.1.0-meta3-40f6c9c", 3),
    ("v0.1.0-meta4-dbdcf80", 4),
    ("v0.1.0-meta5-8acfa9d", 5),
];

fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures/upgrade")
}

/// A copy of fixture `label` as a data directory in a temp dir.
fn copy_data_dir(label: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    copy_dir(&fixtures_dir().join(label), &data);
    (tmp, data)
}

fn meta_db(data: &Path) -> PathBuf {
    data.join("user_data/default/meta.sqlite")
}

fn user_version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .expect("open db")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version")
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .expect("open db")
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// The schema versions today's code writes: those of a data directory it creates.
fn latest_versions() -> (i64, i64) {
    let tmp = tempfile::tempdir().expect("temp dir");
    drop(open_engine(tmp.path()));
    (
        user_version(&meta_db(tmp.path())),
        user_version(&tmp.path().join("profiles.sqlite")),
    )
}

/// Files whose name ends with `.bak` anywhere under `dir`.
fn backups_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(backups_under(&path));
        } else if path.to_string_lossy().ends_with(".bak") {
            found.push(path);
        }
    }
    found
}

fn open(data: &Path) -> ferret_engine::Result<Engine> {
    Engine::open(EngineOptions {
        data_root: Some(data.to_path_buf()),
        profile: None,
        model_dir: Some(model_dir()),
        threads: Some(1),
    })
}

/// Opens fixture `label` with today's code and checks everything the upgrade promises.
fn upgrades(label: &str, meta_version: i64) {
    let (tmp, data) = copy_data_dir(label);
    let db = meta_db(&data);
    assert_eq!(user_version(&db), meta_version, "{label}: fixture's schema");
    let embeddings = count(&db, "SELECT COUNT(*) FROM embeddings");
    let chunks = count(&db, "SELECT COUNT(*) FROM chunks");
    assert!(
        embeddings > 10 && chunks >= embeddings,
        "{label}: {chunks} chunks, {embeddings} embeddings"
    );

    let engine = open(&data).unwrap_or_else(|e| panic!("{label}: open failed: {e}"));
    let (latest_meta, latest_registry) = latest_versions();
    assert_eq!(
        user_version(&db),
        latest_meta,
        "{label}: meta.sqlite migrated"
    );
    assert_eq!(
        user_version(&data.join("profiles.sqlite")),
        latest_registry,
        "{label}: registry current"
    );
    assert_eq!(
        backups_under(&data),
        Vec::<PathBuf>::new(),
        "{label}: backups removed"
    );

    let repos = engine.repos().expect("repos");
    assert_eq!(repos.len(), 1, "{label}: {repos:?}");
    assert_eq!(repos[0].root, Path::new(SOURCE_ROOT), "{label}");
    assert_eq!(repos[0].chunks as i64, chunks, "{label}");
    let stats = engine.stats().expect("stats");
    assert_eq!(
        stats.embedded_chunks, stats.chunks,
        "{label}: fully embedded"
    );

    let lexical = search(
        &engine,
        "reconcile_quarterly_statement",
        SearchMode::Lexical,
    );
    assert_eq!(
        lexical.first().and_then(|h| h.symbol.as_deref()),
        Some("reconcile_quarterly_statement"),
        "{label}: {:?}",
        paths(&lexical)
    );
    assert!(lexical[0].path.ends_with("billing/ledger.rs"), "{label}");
    // The snippet comes from the stored (deflated) text.
    assert!(
        lexical[0]
            .snippet
            .contains("fn reconcile_quarterly_statement"),
        "{label}: {}",
        lexical[0].snippet
    );
    let query = "compare account balances with the bank statement and report differences";
    for mode in [SearchMode::Semantic, SearchMode::Hybrid] {
        let hits = search(&engine, query, mode);
        let found = hits
            .iter()
            .take(3)
            .any(|h| h.symbol.as_deref() == Some("reconcile_quarterly_statement"));
        assert!(found, "{label} {mode:?}: {:?}", paths(&hits));
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM embeddings"),
        embeddings,
        "{label}: nothing re-embedded by opening and searching"
    );
    drop(engine);

    // The same tree indexed again (here at another path) computes no embedding either.
    let source = tmp.path().join("src");
    copy_dir(&fixtures_dir().join("src"), &source);
    rusqlite::Connection::open(&db)
        .expect("open db")
        .execute("UPDATE repos SET root = ?1", [source.to_string_lossy()])
        .expect("point the repository at the copy");
    let engine = open(&data).expect("reopen");
    let report = engine
        .index(None, &AtomicBool::new(false), false, &|_| {})
        .expect("index");
    assert_eq!(report.embeddings_computed, 0, "{label}: {report:?}");
    assert_eq!(
        report.chunks_written, 0,
        "{label}: unchanged tree: {report:?}"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM embeddings"),
        embeddings,
        "{label}"
    );
    // The vector file the old version kept (a second copy of every vector) is gone;
    // vectors come from the database.
    assert!(
        !data.join("user_data/default/vectors").exists(),
        "{label}: the old vector files were removed"
    );
    let hits = search(&engine, "reconcile_quarterly_statement", SearchMode::Hybrid);
    assert_eq!(
        hits.first().and_then(|h| h.symbol.as_deref()),
        Some("reconcile_quarterly_statement"),
        "{label}"
    );
}

#[test]
fn upgrade_from_meta1_without_registry() {
    upgrades(FIXTURES[0].0, FIXTURES[0].1);
}

#[test]
fn upgrade_from_meta3_first_registry() {
    upgrades(FIXTURES[1].0, FIXTURES[1].1);
}

#[test]
fn upgrade_from_meta4() {
    upgrades(FIXTURES[2].0, FIXTURES[2].1);
}

#[test]
fn upgrade_from_meta5() {
    upgrades(FIXTURES[3].0, FIXTURES[3].1);
}

/// Every fixture directory is in [`FIXTURES`] (a new one is tested, not just committed).
#[test]
fn every_upgrade_fixture_is_tested() {
    let mut dirs: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures")
        .flatten()
        .filter(|e| e.path().join("user_data").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(l, _)| l.to_string()).collect();
    listed.sort();
    assert_eq!(dirs, listed);
}

/// A checkpointed copy of today's data directory with `edit` applied to it, then its bytes.
fn newer(edit: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let (tmp, data) = copy_data_dir(FIXTURES[3].0);
    drop(open(&data).expect("open"));
    edit(&data);
    (tmp, data)
}

fn set_user_version(db: &Path, version: i64) {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.pragma_update(None, "user_version", version)
        .expect("set version");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
}

/// Opening is refused with a message that says to upgrade, and `file` is unchanged.
fn refused_untouched(data: &Path, file: &Path) {
    let before = std::fs::read(file).expect("read");
    let err = match open(data) {
        Ok(_) => panic!("{} from a newer Ferret was opened", file.display()),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("newer") && text.contains("upgrade Ferret"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(file).expect("read"),
        before,
        "{} rewritten",
        file.display()
    );
    assert_eq!(backups_under(data), Vec::<PathBuf>::new());
}

#[test]
fn a_meta_database_from_a_newer_ferret_is_refused_untouched() {
    let (latest, _) = latest_versions();
    let (_tmp, data) = newer(|data| set_user_version(&meta_db(data), latest + 1));
    refused_untouched(&data, &meta_db(&data));
    assert_eq!(user_version(&meta_db(&data)), latest + 1);
}

#[test]
fn a_registry_from_a_newer_ferret_is_refused_untouched() {
    let (_, latest) = latest_versions();
    let registry = |data: &Path| data.join("profiles.sqlite");
    let (_tmp, data) = newer(|data| set_user_version(&registry(data), latest + 1));
    refused_untouched(&data, &registry(&data));
    assert_eq!(user_version(&registry(&data)), latest + 1);
}

#[test]
fn a_config_from_a_newer_ferret_is_refused_untouched() {
    let config = |data: &Path| data.join("user_data/default/config.json");
    let (_tmp, data) = newer(|data| {
        let text = format!(
            "{{\n  \"format_version\": {},\n  \"max_file_bytes\": 4096\n}}\n",
            CONFIG_FORMAT + 1
        );
        std::fs::write(config(data), text).expect("write config");
    });
    refused_untouched(&data, &config(&data));
    let profiles = ferret_engine::Profiles::open(ferret_engine::ProfilesOptions {
        data_root: Some(data.clone()),
        ..Default::default()
    })
    .expect("profiles");
    let err = profiles.config("default").expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
}

/// Settings saved by today's code carry the current format version (the vector sidecar's is
/// checked after the index runs above).
#[test]
fn saved_settings_carry_the_current_format_version() {
    let (_tmp, data) = copy_data_dir(FIXTURES[3].0);
    let profiles = ferret_engine::Profiles::open(ferret_engine::ProfilesOptions {
        data_root: Some(data.clone()),
        ..Default::default()
    })
    .expect("profiles");
    let config = profiles.config("default").expect("config");
    profiles.set_config("default", &config).expect("save");
    let saved: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("user_data/default/config.json")).expect("config"),
    )
    .expect("json");
    assert_eq!(saved["format_version"], CONFIG_FORMAT);
}

/// A profile export whose settings a newer Ferret wrote is refused at import, changing
/// nothing (the archive's checksums are right: only the format is too new).
#[test]
fn an_export_with_settings_from_a_newer_ferret_is_refused() {
    let (tmp, data) = copy_data_dir(FIXTURES[3].0);
    let profiles = ferret_engine::Profiles::open(ferret_engine::ProfilesOptions {
        data_root: Some(data.clone()),
        ..Default::default()
    })
    .expect("profiles");
    std::fs::write(
        data.join("user_data/default/config.json"),
        format!("{{\"format_version\": {}}}", CONFIG_FORMAT + 1),
    )
    .expect("write config");
    let archive = tmp.path().join("profile.tar.gz");
    profiles.export("default", &archive).expect("export");
    let err = profiles
        .import(&archive, Some("restored"), false)
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("newer Ferret") && text.contains("nothing was changed"),
        "{text}"
    );
    assert!(profiles.get("restored").is_err());
    assert!(!data.join("user_data/restored").exists());
}

/// "Always allow" link grants were repository names in earlier releases: a data directory
/// of one opens with each name that still has a repository turned into its id, the others
/// dropped, and the names no longer written.
#[test]
fn name_keyed_link_grants_of_an_earlier_release_become_ids() {
    let (_tmp, data) = copy_data_dir(FIXTURES[3].0);
    let config = data.join("user_data/default/config.json");
    let mut written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).expect("config")).expect("json");
    assert_eq!(
        written["link_open_repos"],
        serde_json::json!([]),
        "the fixture's field"
    );
    written["link_open_repos"] = serde_json::json!(["ferret-upgrade-src", "removed-long-ago"]);
    std::fs::write(&config, written.to_string()).expect("write config");

    let engine = open(&data).expect("open");
    let grants = engine.link_grants().expect("grants");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].repo, "ferret-upgrade-src");
    assert!(engine
        .link_open_allowed("ferret-upgrade-src")
        .expect("allowed"));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).expect("config")).expect("json");
    assert_eq!(
        saved["link_open_repo_ids"],
        serde_json::json!([grants[0].repo_id])
    );
    assert!(saved.get("link_open_repos").is_none(), "{saved}");
}
