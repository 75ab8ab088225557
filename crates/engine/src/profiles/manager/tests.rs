use super::*;
use crate::links::editor::EditorKind;

#[test]
fn pausing_a_profile_holds_its_waiting_jobs_and_resuming_releases_them() {
    use crate::background::{JobKind, JobState};
    let dir = tempfile::tempdir().unwrap();
    let profiles = Profiles::open(ProfilesOptions {
        data_root: Some(dir.path().to_path_buf()),
        ..ProfilesOptions::default()
    })
    .unwrap();
    let engine = profiles.engine(DEFAULT_PROFILE).unwrap();
    engine.enqueue_job(JobKind::Index, None).unwrap();
    assert_eq!(profiles.set_paused(DEFAULT_PROFILE, true).unwrap(), 1);
    assert_eq!(engine.record().unwrap().status, ProfileStatus::Paused);
    assert_eq!(engine.jobs(0).unwrap()[0].state, JobState::Paused);
    assert_eq!(profiles.set_paused(DEFAULT_PROFILE, false).unwrap(), 1);
    assert_eq!(engine.record().unwrap().status, ProfileStatus::Active);
    assert_eq!(engine.jobs(0).unwrap()[0].state, JobState::Queued);
}

#[test]
fn settings_round_trip_and_bad_templates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = Profiles::open(ProfilesOptions {
        data_root: Some(dir.path().to_path_buf()),
        ..ProfilesOptions::default()
    })
    .unwrap();
    let mut config = profiles.config(DEFAULT_PROFILE).unwrap();
    assert_eq!(config, ProfileConfig::default());
    config.editor = EditorKind::Custom;
    config.editor_command = Some("kate --line {line}".into());
    let err = profiles
        .set_config(DEFAULT_PROFILE, &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("{path}"), "{err}");
    assert_eq!(
        profiles.config(DEFAULT_PROFILE).unwrap(),
        ProfileConfig::default(),
        "nothing saved"
    );
    config.editor_command = Some("kate --line {line} {path}".into());
    config.excludes = vec!["*.min.js".into()];
    profiles.set_config(DEFAULT_PROFILE, &config).unwrap();
    assert_eq!(profiles.config(DEFAULT_PROFILE).unwrap(), config);
    let engine = profiles.engine(DEFAULT_PROFILE).unwrap();
    assert_eq!(
        engine.config().excludes,
        ["*.min.js"],
        "reopened with new settings"
    );
    assert!(profiles.config("nobody").is_err());
}

#[test]
fn first_run_has_no_chosen_profile_and_deleting_the_chosen_one_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = Profiles::open(ProfilesOptions {
        data_root: Some(dir.path().to_path_buf()),
        ..ProfilesOptions::default()
    })
    .unwrap();
    assert_eq!(profiles.chosen().unwrap(), None, "first run");
    assert_eq!(
        profiles.resolve(None).unwrap(),
        DEFAULT_PROFILE,
        "CLI default"
    );

    profiles.create_local("work").unwrap();
    profiles.create_local("home").unwrap();
    assert_eq!(profiles.chosen().unwrap().as_deref(), Some("home"));
    profiles.use_profile("work").unwrap();
    profiles.use_profile("home").unwrap();
    // Deleting a profile that is not the chosen one changes nothing.
    profiles.delete("work", false).unwrap();
    assert_eq!(profiles.chosen().unwrap().as_deref(), Some("home"));

    profiles.create_local("work").unwrap();
    profiles.use_profile("home").unwrap();
    // Deleting the chosen one moves to the most recently used of the others.
    profiles.delete("home", false).unwrap();
    assert_eq!(profiles.chosen().unwrap().as_deref(), Some("work"));
    // Only the built-in profile left: nothing chosen, so the app greets the user again.
    profiles.delete("work", false).unwrap();
    assert_eq!(profiles.chosen().unwrap(), None);
    assert_eq!(profiles.resolve(None).unwrap(), DEFAULT_PROFILE);
}
