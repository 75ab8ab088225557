//! "Always allow" grants of `ferret://open` links: the repositories whose files a link may
//! open in the editor without asking.
//!
//! A web page can fire `ferret://` links, so a link that opens a file asks first, unless
//! the user once ticked "always allow" for that repository. A grant names its repository by
//! id, not by name: after a removal another repository may take the name, and must not
//! inherit the grant. Grants live in the profile's `config.json` (`link_open_repo_ids`); one
//! goes when its repository is removed, when the user revokes it (Settings, `ferret profile
//! set --revoke-link`), and at open when its repository is gone (a database restored from a
//! snapshot), so an id a later repository reuses never carries an old grant.
//!
//! Grants change while a profile is open (a link followed in the app, a revoke from the
//! CLI), so they are always read from the file, never from the config the engine opened
//! with.

use serde::Serialize;

use crate::profiles::{ProfileConfig, ProfilePaths};
use crate::store::Store;
use crate::{Error, Result};

use super::repos::find_repo;
use super::Engine;

/// A repository whose files `ferret://open` links open without asking.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkGrant {
    /// The repository's id: what the grant is keyed by, and what revoking it takes.
    pub repo_id: i64,
    /// The repository's name now.
    pub repo: String,
}

impl Engine {
    /// The repositories whose files links may open without asking, by name.
    pub fn link_grants(&self) -> Result<Vec<LinkGrant>> {
        let granted = self.current_config()?.link_open_repo_ids;
        Ok(self
            .store()
            .repos()?
            .into_iter()
            .filter(|repo| granted.contains(&repo.id))
            .map(|repo| LinkGrant {
                repo_id: repo.id,
                repo: repo.name,
            })
            .collect())
    }

    /// Whether links may open files of repository `repo` (a name) without asking.
    pub fn link_open_allowed(&self, repo: &str) -> Result<bool> {
        let row = find_repo(&self.store(), repo)?;
        Ok(self.current_config()?.link_open_repo_ids.contains(&row.id))
    }

    /// Lets links open files of repository `repo` (a name) without asking from now on: the
    /// user ticked "always allow" when a link asked.
    pub fn allow_link_open(&self, repo: &str) -> Result<LinkGrant> {
        let row = find_repo(&self.store(), repo)?;
        let mut config = self.current_config()?;
        if !config.link_open_repo_ids.contains(&row.id) {
            config.link_open_repo_ids.push(row.id);
            config.save(&self.paths.config_file())?;
            self.audit("link-grant-added", &row.name)?;
        }
        Ok(LinkGrant {
            repo_id: row.id,
            repo: row.name,
        })
    }

    /// Makes links ask again before opening files of repository `repo_id`. Fails as
    /// not found when the repository has no grant.
    pub fn revoke_link_open(&self, repo_id: i64) -> Result<()> {
        if self.drop_link_grants(|id| id == repo_id, "link-grant-revoked")? == 0 {
            return Err(Error::NotFound(format!(
                "repository {repo_id} has no \"always allow\" for links; the granted ones \
                 are listed in Settings and by `ferret profile show`"
            )));
        }
        Ok(())
    }

    /// Makes links ask again before opening files of any repository; returns how many
    /// grants there were.
    pub fn revoke_all_link_opens(&self) -> Result<usize> {
        self.drop_link_grants(|_| true, "link-grant-revoked")
    }

    /// Drops the grants whose repository id matches, with one audit entry per repository;
    /// returns how many went.
    pub(super) fn drop_link_grants(
        &self,
        matches: impl Fn(i64) -> bool,
        event: &str,
    ) -> Result<usize> {
        let mut config = self.current_config()?;
        let (dropped, kept): (Vec<i64>, Vec<i64>) = config
            .link_open_repo_ids
            .iter()
            .partition(|&&id| matches(id));
        if dropped.is_empty() {
            return Ok(0);
        }
        config.link_open_repo_ids = kept;
        config.save(&self.paths.config_file())?;
        let names: Vec<(i64, String)> = self
            .store()
            .repos()?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
        for id in &dropped {
            let name = names
                .iter()
                .find(|(repo_id, _)| repo_id == id)
                .map_or_else(|| format!("repository {id}"), |(_, name)| name.clone());
            self.audit(event, &name)?;
        }
        Ok(dropped.len())
    }
}

/// Brings `config`'s grants in line with `store` when a profile opens: each repository
/// name of a file written before grants were keyed by id becomes that repository's id (a
/// name no repository has is dropped), and an id no repository has any more is dropped.
/// Returns what changed, for the audit log, or `None` when nothing did.
pub(super) fn settle_link_grants(
    config: &mut ProfileConfig,
    store: &Store,
) -> Result<Option<String>> {
    if config.legacy_link_open_repos.is_empty() && config.link_open_repo_ids.is_empty() {
        return Ok(None);
    }
    let repos = store.repos()?;
    let mut changes = Vec::new();
    let mut ids: Vec<i64> = Vec::new();
    for id in std::mem::take(&mut config.link_open_repo_ids) {
        if !repos.iter().any(|r| r.id == id) {
            changes.push(format!("dropped repository {id} (gone)"));
        } else if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for name in std::mem::take(&mut config.legacy_link_open_repos) {
        match repos.iter().find(|r| r.name == name) {
            Some(repo) => {
                changes.push(format!("{name} now by id {}", repo.id));
                if !ids.contains(&repo.id) {
                    ids.push(repo.id);
                }
            }
            None => changes.push(format!("dropped {name:?} (no such repository)")),
        }
    }
    config.link_open_repo_ids = ids;
    Ok((!changes.is_empty()).then(|| changes.join("; ")))
}

/// [`settle_link_grants`] when a profile opens, written back to `config.json` and noted in
/// the audit log when something changed. A failure is logged and the profile opens anyway
/// (names grant nothing, so links ask); the next open tries again.
pub(super) fn settle_at_open(config: &mut ProfileConfig, store: &Store, paths: &ProfilePaths) {
    let settled = settle_link_grants(config, store).and_then(|change| {
        let Some(change) = change else {
            return Ok(());
        };
        config.save(&paths.config_file())?;
        log::info!("profile {}: link grants: {change}", paths.id);
        store.audit("link-grants-settled", &change)
    });
    if let Err(e) = settled {
        log::warn!(
            "profile {}: cannot update its \"always allow\" link grants ({e}); links ask \
             before opening files until they are granted again",
            paths.id
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::EngineOptions;

    /// A data root with repositories `names` (empty folders) added to the default profile.
    fn engine_with_repos(names: &[&str]) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        for name in names {
            engine
                .add_repo(&folder(dir.path(), name), Some(name))
                .unwrap();
        }
        (dir, engine)
    }

    fn open(dir: &Path) -> Engine {
        Engine::open(EngineOptions {
            data_root: Some(dir.join("data")),
            ..EngineOptions::default()
        })
        .unwrap()
    }

    fn folder(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join("work").join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    fn repo_id(engine: &Engine, name: &str) -> i64 {
        find_repo(&engine.store(), name).unwrap().id
    }

    fn saved_json(engine: &Engine) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(engine.paths().config_file()).unwrap()).unwrap()
    }

    fn audited(engine: &Engine, event: &str) -> Vec<String> {
        engine
            .audit_log()
            .unwrap()
            .into_iter()
            .filter(|row| row.event == event)
            .map(|row| row.detail)
            .collect()
    }

    #[test]
    fn a_grant_follows_its_repository_not_its_name() {
        let (dir, engine) = engine_with_repos(&["api"]);
        assert!(!engine.link_open_allowed("api").unwrap(), "asks by default");
        let grant = engine.allow_link_open("api").unwrap();
        assert_eq!(grant.repo_id, repo_id(&engine, "api"));
        assert_eq!(
            saved_json(&engine)["link_open_repo_ids"],
            serde_json::json!([grant.repo_id])
        );
        assert!(
            saved_json(&engine).get("link_open_repos").is_none(),
            "names are no longer written"
        );
        assert_eq!(audited(&engine, "link-grant-added"), ["api"]);

        // Renamed (by hand in the database; Ferret has no rename): the grant goes with it.
        engine
            .store()
            .conn()
            .execute("UPDATE repos SET name = 'api-v2' WHERE name = 'api'", [])
            .unwrap();
        assert!(engine.link_open_allowed("api-v2").unwrap());
        assert_eq!(
            engine.link_grants().unwrap(),
            [LinkGrant {
                repo_id: grant.repo_id,
                repo: "api-v2".into()
            }]
        );
        // Another repository taking the old name gets nothing.
        engine
            .add_repo(&folder(dir.path(), "other"), Some("api"))
            .unwrap();
        assert!(!engine.link_open_allowed("api").unwrap());
    }

    #[test]
    fn removing_a_repository_drops_its_grant_so_a_reused_id_gets_none() {
        let (dir, engine) = engine_with_repos(&["web", "api"]);
        let api = repo_id(&engine, "api");
        engine.allow_link_open("web").unwrap();
        engine.allow_link_open("api").unwrap();
        engine.remove_repo("api").unwrap();
        assert_eq!(
            engine.current_config().unwrap().link_open_repo_ids,
            [repo_id(&engine, "web")],
            "only the removed repository's grant went"
        );
        assert_eq!(audited(&engine, "link-grant-dropped"), ["api"]);

        // SQLite hands the next repository the id of the last one removed; the same folder
        // under the same name comes back without the grant it had.
        engine
            .add_repo(&folder(dir.path(), "api"), Some("api"))
            .unwrap();
        assert_eq!(repo_id(&engine, "api"), api, "the id is reused");
        assert!(!engine.link_open_allowed("api").unwrap());
        assert!(engine.link_open_allowed("web").unwrap());
    }

    #[test]
    fn revoking_a_grant_makes_links_ask_again() {
        let (_dir, engine) = engine_with_repos(&["web", "api"]);
        engine.allow_link_open("web").unwrap();
        engine.allow_link_open("api").unwrap();
        engine.revoke_link_open(repo_id(&engine, "web")).unwrap();
        assert!(!engine.link_open_allowed("web").unwrap());
        assert!(engine.link_open_allowed("api").unwrap());
        let err = engine
            .revoke_link_open(repo_id(&engine, "web"))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NotFound, "{err}");
        assert_eq!(engine.revoke_all_link_opens().unwrap(), 1);
        assert_eq!(engine.link_grants().unwrap(), []);
        assert_eq!(audited(&engine, "link-grant-revoked").len(), 2);
    }

    #[test]
    fn name_keyed_grants_of_older_files_become_ids_at_open() {
        let (dir, engine) = engine_with_repos(&["web", "api"]);
        let (web, config_file) = (repo_id(&engine, "web"), engine.paths().config_file());
        drop(engine);
        // As an earlier release wrote it: grants by name, one for a repository since removed.
        std::fs::write(
            &config_file,
            r#"{"editor": "vscode", "link_open_repos": ["web", "gone", "web"]}"#,
        )
        .unwrap();
        let legacy = ProfileConfig::load(&config_file).unwrap();
        assert_eq!(legacy.legacy_link_open_repos, ["web", "gone", "web"]);
        assert!(
            legacy.link_open_repo_ids.is_empty(),
            "a name grants nothing by itself"
        );

        let engine = open(dir.path());
        assert_eq!(
            engine.link_grants().unwrap(),
            [LinkGrant {
                repo_id: web,
                repo: "web".into()
            }]
        );
        assert!(!engine.link_open_allowed("api").unwrap());
        let saved = saved_json(&engine);
        assert_eq!(saved["link_open_repo_ids"], serde_json::json!([web]));
        assert!(saved.get("link_open_repos").is_none(), "{saved}");
        let settled = audited(&engine, "link-grants-settled");
        assert_eq!(settled.len(), 1, "{settled:?}");
        assert!(settled[0].contains("\"gone\""), "{settled:?}");
        drop(engine);
        let engine = open(dir.path());
        assert_eq!(
            audited(&engine, "link-grants-settled").len(),
            1,
            "settled once"
        );
    }

    #[test]
    fn grants_of_repositories_gone_are_dropped_at_open() {
        // A database restored from a snapshot no longer has a repository added after it.
        let (dir, engine) = engine_with_repos(&["web"]);
        let web = repo_id(&engine, "web");
        let mut config = engine.current_config().unwrap();
        config.link_open_repo_ids = vec![web, web + 1];
        config.save(&engine.paths().config_file()).unwrap();
        drop(engine);
        let engine = open(dir.path());
        assert_eq!(engine.current_config().unwrap().link_open_repo_ids, [web]);
        engine
            .add_repo(&folder(dir.path(), "new"), Some("new"))
            .unwrap();
        assert_eq!(repo_id(&engine, "new"), web + 1);
        assert!(!engine.link_open_allowed("new").unwrap());
    }
}
