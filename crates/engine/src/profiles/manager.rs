//! Operations over all of a data root's profiles: sign in with a GitHub token, create a
//! local profile, switch, sign out, delete, and report usage. Each profile's own work (repos,
//! indexing, search) is an [`Engine`], opened through the LRU [`ProfilePool`].
//!
//! Order matters for "nothing is written on failure": sign-in validates the token with
//! GitHub first, then stores it in the keychain, then registers the profile; if registering
//! fails the keychain entry is taken back.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

use super::archive::{self, ExportReport, ImportReport};
use super::limits::{self, LimitUsage};
use super::pool::{PoolStats, ProfilePool};
use super::registry::{self, AuditEntry, ProfileKind, ProfileRecord, ProfileStatus, Registry};
use super::{data_root, JobLock, ProfileConfig, ProfilePaths, DEFAULT_PROFILE};
use crate::profiles::secrets::{self, Secret};
use crate::remote::github::{GitHubClient, GitHubRepoChoice, GitHubUser, DEFAULT_API_URL};
use crate::{Engine, EngineOptions, Error, Result};

/// How to open the set of profiles.
#[derive(Debug, Clone)]
pub struct ProfilesOptions {
    /// Data root; `None` uses `$FERRET_DATA_DIR` or the platform default.
    pub data_root: Option<PathBuf>,
    pub model_dir: Option<PathBuf>,
    pub threads: Option<usize>,
    /// Profiles kept open at once.
    pub pool_capacity: usize,
    /// An open profile unused for this long is closed.
    pub idle_ttl: Duration,
}

impl Default for ProfilesOptions {
    fn default() -> Self {
        ProfilesOptions {
            data_root: None,
            model_dir: None,
            threads: None,
            pool_capacity: 4,
            idle_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// The result of `login`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LoginOutcome {
    pub profile: ProfileRecord,
    pub user: GitHubUser,
    /// False when the account already had a profile (its token was replaced).
    pub created: bool,
}

/// What `delete` removed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeleteReport {
    /// The profile as it was before deletion.
    pub profile: ProfileRecord,
    pub directory: PathBuf,
    pub bytes_removed: u64,
    pub keychain_entry_removed: bool,
}

/// One profile's figures.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProfileStats {
    pub profile: ProfileRecord,
    pub repos: u64,
    pub files: u64,
    pub chunks: u64,
    pub vectors: u64,
    pub bytes_on_disk: u64,
    pub queries_run: u64,
    pub last_indexed_at: Option<i64>,
    pub limits: Vec<LimitUsage>,
    pub warnings: Vec<String>,
    /// Whether the profile is open in this process's pool right now.
    pub open: bool,
}

/// Every profile's figures, their sum, and the pool's counters.
#[derive(Debug, Clone, Serialize)]
pub struct AllStats {
    pub profiles: Vec<ProfileStats>,
    pub total_repos: u64,
    pub total_chunks: u64,
    pub total_vectors: u64,
    pub total_bytes_on_disk: u64,
    pub total_queries_run: u64,
    pub pool: PoolStats,
}

/// All profiles of one data root.
pub struct Profiles {
    root: PathBuf,
    opts: ProfilesOptions,
    registry: Mutex<Registry>,
    pool: ProfilePool<Engine>,
}

impl Profiles {
    pub fn open(opts: ProfilesOptions) -> Result<Self> {
        let root = match &opts.data_root {
            Some(root) => root.clone(),
            None => data_root()?,
        };
        let registry = Registry::open(&root)?;
        registry.ensure_default()?;
        Ok(Profiles {
            pool: ProfilePool::new(opts.pool_capacity, opts.idle_ttl),
            registry: Mutex::new(registry),
            root,
            opts,
        })
    }

    pub fn data_root(&self) -> &Path {
        &self.root
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The directories and files of profile `id` (which need not exist yet).
    pub fn paths_of(&self, id: &str) -> Result<ProfilePaths> {
        self.paths(id)
    }

    fn paths(&self, id: &str) -> Result<ProfilePaths> {
        ProfilePaths::new(&self.root, id)
    }

    pub fn list(&self) -> Result<Vec<ProfileRecord>> {
        self.registry().list()
    }

    pub fn get(&self, id: &str) -> Result<ProfileRecord> {
        self.registry().require(id)
    }

    /// The profile commands act on: `explicit` if given (it must exist), else the current one.
    pub fn resolve(&self, explicit: Option<&str>) -> Result<String> {
        let registry = self.registry();
        match explicit {
            Some(id) => registry.require(id).map(|r| r.id),
            None => registry.current(),
        }
    }

    /// The profile last chosen, or `None` when nobody has signed in, created a profile or
    /// switched yet (see [`Registry::chosen`]).
    pub fn chosen(&self) -> Result<Option<String>> {
        self.registry().chosen()
    }

    /// The open engine of profile `id` (from the pool, or opened now).
    pub fn engine(&self, id: &str) -> Result<Arc<Engine>> {
        self.registry().require(id)?;
        self.pool.get(id, || {
            Engine::open(EngineOptions {
                data_root: Some(self.root.clone()),
                profile: Some(id.to_string()),
                model_dir: self.opts.model_dir.clone(),
                threads: self.opts.threads,
            })
        })
    }

    /// Signs in: checks `token` with GitHub (`GET /user`), creates or reuses the account's
    /// profile, stores the token in the keychain and makes the profile current. Nothing is
    /// written unless every step succeeds.
    pub fn login(&self, api_url: Option<&str>, token: &Secret) -> Result<LoginOutcome> {
        let client = GitHubClient::new(api_url.unwrap_or(DEFAULT_API_URL))?;
        let user = client.user(token)?;
        let api_url = client.api_url().to_string();
        let id = registry::unique_github_profile_id(&self.registry(), &api_url, user.id)?;
        let existed = self.registry().get(&id)?.is_some();
        secrets::store_token(&id, token)?;
        let registered = (|| {
            let registry = self.registry();
            let (record, created) = registry.upsert_github(&id, &user.login, user.id, &api_url)?;
            self.paths(&id)?.ensure_dirs()?;
            registry.set_current(&id)?;
            registry.audit(&id, "signin", &format!("{} at {api_url}", user.login))?;
            Ok((record, created))
        })();
        match registered {
            Ok((profile, created)) => {
                if let Ok(engine) = self.engine(&id) {
                    let _ = engine.audit("signin", &format!("{} at {api_url}", user.login));
                }
                Ok(LoginOutcome {
                    profile,
                    user,
                    created,
                })
            }
            Err(e) => {
                if !existed {
                    let _ = secrets::delete_token(&id);
                    let _ = self.registry().remove(&id);
                }
                Err(e)
            }
        }
    }

    /// Creates a local profile (no token; local repositories only) and makes it current.
    pub fn create_local(&self, id: &str) -> Result<ProfileRecord> {
        let registry = self.registry();
        let record = registry.create_local(id)?;
        ProfilePaths::new(&self.root, id)?.ensure_dirs()?;
        registry.set_current(id)?;
        registry.audit(id, "profile-created", "local")?;
        Ok(record)
    }

    pub fn use_profile(&self, id: &str) -> Result<ProfileRecord> {
        let registry = self.registry();
        registry.set_current(id)?;
        registry.touch(id)?;
        registry.require(id)
    }

    /// Signs out of a profile: its keychain entry goes, its indexed data stays (sign in again
    /// to sync its GitHub repositories). Returns whether a token was stored.
    pub fn logout(&self, id: &str) -> Result<bool> {
        let record = self.registry().require(id)?;
        let removed = secrets::delete_token(&record.id)?;
        self.registry().audit(id, "signout", "")?;
        if let Ok(engine) = self.engine(id) {
            let _ = engine.audit("signout", "");
        }
        Ok(removed)
    }

    /// Whether the profile has a token in the keychain.
    pub fn has_token(&self, id: &str) -> Result<bool> {
        Ok(secrets::load_token(id)?.is_some())
    }

    /// The profile's GitHub client and token, or an error saying how to sign in.
    pub fn github(&self, id: &str) -> Result<(GitHubClient, Secret)> {
        github_session(&self.registry().require(id)?)
    }

    /// The repositories profile `id`'s token can read, each marked when the profile has
    /// it already and with an estimate of the work indexing it takes.
    pub fn github_repos(&self, id: &str) -> Result<Vec<GitHubRepoChoice>> {
        let (client, token) = self.github(id)?;
        let repos = client.repos(&token)?;
        let added: Vec<String> = self
            .engine(id)?
            .repos()?
            .into_iter()
            .filter_map(|r| r.remote)
            .collect();
        Ok(repos
            .into_iter()
            .map(|repo| {
                let estimate = repo.estimate();
                GitHubRepoChoice {
                    added: added.contains(&repo.full_name),
                    estimated_files: estimate.files,
                    estimated_chunks: estimate.chunks,
                    repo,
                }
            })
            .collect())
    }

    /// Deletes a profile: its directory (index, clones, config) and its keychain entry.
    /// Refused while a job of that profile runs, unless `force`. The built-in `default`
    /// profile can be emptied this way too; it is recreated empty.
    pub fn delete(&self, id: &str, force: bool) -> Result<DeleteReport> {
        let record = self.registry().require(id)?;
        let paths = self.paths(&record.id)?;
        if !force && JobLock::is_held(&paths) {
            return Err(Error::Refused(format!(
                "profile {id:?} has a job running (indexing or syncing); wait for it, stop it, \
                 or pass --force"
            )));
        }
        self.pool.remove(id);
        let bytes_removed = limits::dir_bytes(&paths.root);
        let keychain_entry_removed = match record.kind {
            ProfileKind::GitHub => secrets::delete_token(id)?,
            ProfileKind::Local => secrets::delete_token(id).unwrap_or(false),
        };
        match std::fs::remove_dir_all(&paths.root) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::io(
                    format!("cannot remove {}", paths.root.display()),
                    e,
                ))
            }
        }
        let registry = self.registry();
        let was_chosen = registry.chosen()?.as_deref() == Some(id);
        registry.remove(id)?;
        registry.audit(
            id,
            "profile-deleted",
            &format!("{bytes_removed} bytes, keychain entry: {keychain_entry_removed}"),
        )?;
        if id == DEFAULT_PROFILE {
            registry.ensure_default()?;
        }
        if was_chosen {
            // Carry on in the profile used most recently; with none left but the built-in
            // one, nothing is chosen and the desktop app greets the user again.
            let next = registry
                .list()?
                .into_iter()
                .filter(|p| p.id != DEFAULT_PROFILE)
                .max_by_key(|p| (p.last_used_at.unwrap_or(p.created_at), p.created_at));
            if let Some(next) = next {
                registry.set_current(&next.id)?;
            }
        }
        Ok(DeleteReport {
            profile: record,
            directory: paths.root,
            bytes_removed,
            keychain_entry_removed,
        })
    }

    pub fn set_status(&self, id: &str, status: ProfileStatus) -> Result<()> {
        let registry = self.registry();
        registry.set_status(id, status)?;
        registry.audit(id, "status", status.as_str())
    }

    /// Writes profile `id` to one file at `out` (see [`archive`]): never its token; works
    /// while the profile is being indexed.
    pub fn export(&self, id: &str, out: &Path) -> Result<ExportReport> {
        let record = self.registry().require(id)?;
        let paths = self.paths(&record.id)?;
        if !paths.meta_db().is_file() {
            return Err(Error::NotFound(format!(
                "profile {id:?} has no index yet: nothing to export"
            )));
        }
        let report = archive::export(&self.root, &record, &paths, out)?;
        self.registry()
            .audit(id, "profile-exported", &out.display().to_string())?;
        Ok(report)
    }

    /// Restores a profile from a file `export` wrote, as `as_id` or its original id. An
    /// existing profile is refused unless `replace`, and then only while no job runs in it
    /// and no other process (the app, `ferret daemon`) runs its background work. The
    /// archive is checked completely, and what it says adapted (see [`archive::settle`]),
    /// before anything changes; searches work at once, with nothing re-embedded. Clones
    /// are made again by the next sync, local folders wait for the user to confirm them,
    /// and settings that run programs or open files without asking are reset: the report
    /// says which.
    pub fn import(&self, file: &Path, as_id: Option<&str>, replace: bool) -> Result<ImportReport> {
        let unpacked =
            archive::unpack(&self.root, file, limits::ProfileLimits::default().max_bytes)?;
        let manifest = &unpacked.manifest;
        let id = as_id.unwrap_or(&manifest.profile.id).to_string();
        super::validate_profile_id(&id)?;
        let existing = self.registry().get(&id)?;
        if existing.is_some() && !replace {
            return Err(Error::Refused(format!(
                "a profile {id:?} exists already: import with --as NEW_ID, or --replace to \
                 overwrite it; nothing was changed"
            )));
        }
        let paths = self.paths(&id)?;
        if replace && JobLock::is_held(&paths) {
            return Err(Error::Refused(format!(
                "profile {id:?} has a job running; stop it before replacing the profile; \
                 nothing was changed"
            )));
        }
        if replace && super::runner_is_held(&paths) {
            return Err(Error::Refused(format!(
                "profile {id:?} is in use by another Ferret process (the app or `ferret \
                 daemon` runs its background work): quit it, or switch it to another \
                 profile, before replacing this one; nothing was changed"
            )));
        }
        self.check_token_owner(&id, existing.as_ref(), &manifest.profile)?;
        let settled = archive::settle(&unpacked, file, &paths)?;
        self.pool.remove(&id);
        let replaced_dir = paths
            .root
            .with_file_name(format!(".replaced-{id}-{}", std::process::id()));
        let replaced = paths.root.exists();
        if replaced {
            std::fs::rename(&paths.root, &replaced_dir)
                .map_err(|e| Error::io(format!("cannot move {} aside", paths.root.display()), e))?;
        }
        if let Err(e) = std::fs::rename(&unpacked.staging.dir, &paths.root) {
            if replaced {
                let _ = std::fs::rename(&replaced_dir, &paths.root);
            }
            return Err(Error::io(
                format!("cannot create {}", paths.root.display()),
                e,
            ));
        }
        let _ = std::fs::remove_file(paths.root.join("manifest.json"));
        paths.ensure_dirs()?;
        let _ = std::fs::remove_dir_all(&replaced_dir);
        let profile = &manifest.profile;
        let registry = self.registry();
        let record = match (profile.kind, &profile.github_login, profile.github_user_id) {
            (ProfileKind::GitHub, Some(login), Some(user_id)) => {
                let api_url = profile
                    .api_url
                    .clone()
                    .unwrap_or_else(|| DEFAULT_API_URL.into());
                registry.upsert_github(&id, login, user_id, &api_url)?.0
            }
            _ if existing.is_some() => registry.require(&id)?,
            _ => registry.create_local(&id)?,
        };
        let reset = &settled.settings.reset_for_safety;
        registry.audit(
            &id,
            "profile-imported",
            &if reset.is_empty() {
                file.display().to_string()
            } else {
                format!("{}; reset: {}", file.display(), reset.join(", "))
            },
        )?;
        let needs_sign_in =
            record.kind == ProfileKind::GitHub && secrets::load_token(&id).ok().flatten().is_none();
        Ok(ImportReport {
            repos: manifest.repos.len(),
            profile: record,
            local_repos_to_confirm: settled.local_repos_to_confirm,
            missing_local_repos: settled.missing_local_repos,
            clones_to_restore: settled.clones_to_restore,
            needs_sign_in,
            replaced,
            settings_reset_for_safety: settled.settings.reset_for_safety,
            settings_reset_as_invalid: settled.settings.reset_as_invalid,
        })
    }

    /// An import must not hand a token in the keychain to another account or GitHub: when
    /// it replaces a GitHub profile that has one, a GitHub archive must be of the account
    /// the token belongs to (the same API URL and user id), else the next sync would send
    /// the token wherever the archive's API URL says. (A local archive keeps the registered
    /// account.)
    fn check_token_owner(
        &self,
        id: &str,
        existing: Option<&ProfileRecord>,
        imported: &ProfileRecord,
    ) -> Result<()> {
        let Some(existing) = existing.filter(|e| e.kind == ProfileKind::GitHub) else {
            return Ok(());
        };
        if imported.kind != ProfileKind::GitHub || secrets::load_token(id)?.is_none() {
            return Ok(());
        }
        let same_url = |a: &Option<String>, b: &Option<String>| {
            let norm = |u: &Option<String>| {
                u.as_deref()
                    .unwrap_or(DEFAULT_API_URL)
                    .trim_end_matches('/')
                    .to_ascii_lowercase()
            };
            norm(a) == norm(b)
        };
        if existing.github_user_id == imported.github_user_id
            && same_url(&existing.api_url, &imported.api_url)
        {
            return Ok(());
        }
        Err(Error::Refused(format!(
            "profile {id:?} has a GitHub token in the keychain, and the archive's profile is \
             not that account ({} at {}): import it under another id with --as NEW_ID; \
             nothing was changed",
            imported.github_login.as_deref().unwrap_or("no account"),
            imported.api_url.as_deref().unwrap_or("no GitHub"),
        )))
    }

    /// Pauses (or resumes) profile `id`: its status, which the tray, the app and
    /// `ferret daemon` all follow (a running job stops after its current batch), and its
    /// waiting jobs with it. Returns how many jobs were held (or released).
    pub fn set_paused(&self, id: &str, paused: bool) -> Result<usize> {
        let engine = self.engine(id)?;
        if paused {
            self.set_status(id, ProfileStatus::Paused)?;
            engine.hold_waiting_jobs()
        } else {
            self.set_status(id, ProfileStatus::Active)?;
            engine.release_held_jobs()
        }
    }

    /// Replaces the profile's limits (in its config.json).
    pub fn set_limits(&self, id: &str, limits: limits::ProfileLimits) -> Result<()> {
        self.registry().require(id)?;
        let paths = self.paths(id)?;
        paths.ensure_dirs()?;
        let mut config = ProfileConfig::load(&paths.config_file())?;
        config.limits = limits;
        config.save(&paths.config_file())?;
        // An open engine holds the old config: reopen on next use.
        self.pool.remove(id);
        self.registry().audit(
            id,
            "limits",
            &format!(
                "repos {}, chunks {}, bytes {}",
                limits.max_repos, limits.max_chunks, limits.max_bytes
            ),
        )
    }

    /// The profile's settings (config.json, or defaults).
    pub fn config(&self, id: &str) -> Result<ProfileConfig> {
        self.registry().require(id)?;
        ProfileConfig::load(&self.paths(id)?.config_file())
    }

    /// Replaces the profile's settings. An open engine holds the old ones, so it is closed
    /// and reopened on next use; background work should be restarted by the caller.
    pub fn set_config(&self, id: &str, config: &ProfileConfig) -> Result<()> {
        // The same checks an import applies (a template that could never work is refused
        // now rather than at the first Enter).
        config.validate()?;
        self.registry().require(id)?;
        let paths = self.paths(id)?;
        paths.ensure_dirs()?;
        config.save(&paths.config_file())?;
        self.pool.remove(id);
        self.registry().audit(
            id,
            "settings",
            &format!("editor {}", config.editor.as_str()),
        )
    }

    pub fn limits(&self, id: &str) -> Result<limits::ProfileLimits> {
        self.registry().require(id)?;
        Ok(ProfileConfig::load(&self.paths(id)?.config_file())?.limits)
    }

    /// Profile-level events (sign-in, deletion, status changes) from the registry.
    pub fn audit_log(&self, id: Option<&str>) -> Result<Vec<AuditEntry>> {
        self.registry().audit_log(id)
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Closes profiles idle past the TTL.
    pub fn sweep(&self) -> usize {
        self.pool.sweep()
    }

    /// One profile's figures.
    pub fn stats_of(&self, id: &str) -> Result<ProfileStats> {
        let record = self.registry().require(id)?;
        let engine = self.engine(id)?;
        let stats = engine.stats()?;
        let usage = engine.usage()?;
        let limits = engine.config().limits;
        Ok(ProfileStats {
            repos: stats.repos,
            files: stats.files,
            chunks: stats.chunks,
            vectors: stats.embedded_chunks,
            bytes_on_disk: usage.bytes,
            queries_run: engine.queries_run()?,
            last_indexed_at: engine
                .repos()?
                .iter()
                .filter_map(|r| r.last_indexed_at)
                .max(),
            limits: limits.usage(&usage),
            warnings: limits.warnings(id, &usage),
            open: self.pool.open_ids().iter().any(|o| o == id),
            profile: record,
        })
    }

    /// Figures for every profile and their totals.
    pub fn stats(&self) -> Result<AllStats> {
        let mut profiles = Vec::new();
        for record in self.list()? {
            profiles.push(self.stats_of(&record.id)?);
        }
        let sum = |f: fn(&ProfileStats) -> u64| profiles.iter().map(f).sum::<u64>();
        Ok(AllStats {
            total_repos: sum(|p| p.repos),
            total_chunks: sum(|p| p.chunks),
            total_vectors: sum(|p| p.vectors),
            total_bytes_on_disk: sum(|p| p.bytes_on_disk),
            total_queries_run: sum(|p| p.queries_run),
            pool: self.pool.stats(),
            profiles,
        })
    }
}

/// A GitHub profile's client and token from the keychain.
pub fn github_session(record: &ProfileRecord) -> Result<(GitHubClient, Secret)> {
    if record.kind != ProfileKind::GitHub {
        return Err(Error::InvalidInput(format!(
            "profile {:?} is a local profile with no GitHub account: `ferret login` signs in",
            record.id
        )));
    }
    let token = secrets::load_token(&record.id)?.ok_or_else(|| {
        Error::NotFound(format!(
            "profile {:?} has no token in the keychain (signed out?): run `ferret login`",
            record.id
        ))
    })?;
    let client = GitHubClient::new(record.api_url.as_deref().unwrap_or(DEFAULT_API_URL))?;
    Ok((client, token))
}

#[cfg(test)]
mod tests;
