//! Repositories of a profile: adding (local or cloned from GitHub), syncing, listing,
//! pausing and removing them, and reading their files safely.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::pipeline::run::{IndexReport, Progress};
use crate::profiles::limits::Usage;
use crate::profiles::manager::github_session;
use crate::profiles::secrets::Secret;
use crate::profiles::JobLock;
use crate::remote::git::{self, GitAuth, GitProgress};
use crate::remote::github::{self, GitHubClient};
use crate::store::{RemoteInfo, RepoRow, Store};
use crate::{Error, Result};

use super::model_versions::active_model;
use super::Engine;

/// A repository with its indexed counts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RepoInfo {
    pub name: String,
    pub root: PathBuf,
    pub kind: String,
    pub added_at: i64,
    pub last_indexed_at: Option<i64>,
    /// `OWNER/NAME` for a cloned GitHub repository.
    pub remote: Option<String>,
    pub branch: Option<String>,
    pub head: Option<String>,
    /// Not watched, fetched or indexed until resumed; what is indexed stays searchable.
    pub paused: bool,
    /// A local folder named by an imported profile: not watched, indexed or read until the
    /// user confirms it (`ferret repo confirm NAME`, or Confirm in the app).
    pub needs_confirmation: bool,
    pub files: u64,
    pub chunks: u64,
    pub embedded_chunks: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub repo: String,
    pub old_head: String,
    pub new_head: String,
    /// Paths the fetched commits added, changed, renamed or deleted.
    pub changed_paths: u64,
    /// The clone was missing and was made again (its files are all new on disk).
    pub recloned: bool,
    /// Why this repository could not be synced (the others still were).
    pub error: Option<String>,
}

/// What [`Engine::sync_and_index`] did: every repository fetched, then the index run of
/// each one that changed.
#[derive(Debug, Clone, Serialize)]
pub struct SyncRun {
    pub synced: Vec<SyncReport>,
    pub indexed: Vec<IndexReport>,
    /// Cancelled (or paused) before every changed repository was indexed.
    pub interrupted: bool,
}

impl SyncRun {
    /// One line naming every repository that could not be synced, if any.
    pub fn failures(&self) -> Option<String> {
        let failed: Vec<String> = self
            .synced
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.repo)))
            .collect();
        (!failed.is_empty()).then(|| {
            format!(
                "{} of {} repositories could not be synced ({}); the others were",
                failed.len(),
                self.synced.len(),
                failed.join("; ")
            )
        })
    }
}

/// Lines around a place in a file, for the preview pane.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileContext {
    /// 1-based line number of `lines[0]`.
    pub start_line: u32,
    pub lines: Vec<String>,
}

/// Files larger than this are not previewed.
const MAX_PREVIEW_BYTES: u64 = 32 * 1024 * 1024;
/// At most this many lines before and after the asked-for line.
const MAX_CONTEXT_LINES: u32 = 2000;
impl Engine {
    /// Registers a local repository (it is indexed by `index`). The name defaults to the
    /// directory name.
    pub fn add_repo(&self, path: &Path, name: Option<&str>) -> Result<RepoRow> {
        self.check_writable("adding repositories")?;
        let root = std::fs::canonicalize(path).map_err(|e| {
            Error::io(
                format!("cannot open {} (does it exist?)", path.display()),
                e,
            )
        })?;
        if !root.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        let name = match name {
            Some(name) => name.to_string(),
            None => root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "root".into()),
        };
        validate_repo_name(&name)?;
        self.check_limits(&Usage {
            repos: 1,
            ..Usage::default()
        })?;
        let repo = self.store().add_repo(&name, &root, "local")?;
        self.audit("repo-added", &format!("{name} {}", root.display()))?;
        Ok(repo)
    }

    /// Clones `OWNER/NAME` from the profile's GitHub account into the profile's `repos/`
    /// directory and registers it (index it next). The token goes from the keychain to
    /// git's credential callback and nowhere else. A failed or cancelled clone leaves no
    /// directory and no row behind.
    pub fn add_github_repo(
        &self,
        full_name: &str,
        branch: Option<&str>,
        cancel: &AtomicBool,
        progress: &dyn Fn(&GitProgress),
    ) -> Result<RepoRow> {
        let (owner, name) = github::validate_full_name(full_name)?;
        let full_name = format!("{owner}/{name}");
        self.check_writable("adding repositories")?;
        let _lock = JobLock::acquire(&self.paths)?;
        if let Some(existing) = self.store().repo_by_remote(&full_name)? {
            return Err(Error::InvalidInput(format!(
                "{full_name} is already added as {:?}; `ferret repo sync {}` updates it",
                existing.name, existing.name
            )));
        }
        let (client, token) = github_session(&self.record()?)?;
        let remote = client.repo(&token, &owner, &name)?;
        // GitHub's `size` is the packed repository in KiB; a checkout plus its .git is
        // typically about twice that.
        self.check_limits(&Usage {
            repos: 1,
            chunks: 0,
            bytes: remote.size_kb.saturating_mul(2048),
        })?;
        client.check_clone_url(&remote.clone_url)?;
        let dest = self.paths.repos_dir().join(&owner).join(&name);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        let auth = GitAuth {
            token: Some(token.expose()),
        };
        let outcome = git::clone_repo(&remote.clone_url, &dest, branch, &auth, cancel, progress)?;
        let info = RemoteInfo {
            full_name: &full_name,
            clone_url: &remote.clone_url,
            branch: &outcome.branch,
            head: &outcome.head,
        };
        let added = self.store().add_remote_repo(&full_name, &dest, &info);
        match added {
            Ok(repo) => {
                self.audit(
                    "repo-added",
                    &format!("github:{full_name} {} at {}", outcome.branch, outcome.head),
                )?;
                self.clones_changed();
                Ok(repo)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dest);
                Err(e)
            }
        }
    }

    /// Fetches and fast-forwards cloned repositories (one by name, or all), then indexes
    /// them: only files the fetched commits touched are re-chunked, since unchanged files
    /// keep their size and mtime through a fast-forward checkout.
    pub fn sync(
        &self,
        repo: Option<&str>,
        cancel: &AtomicBool,
        git_progress: &dyn Fn(&str, &GitProgress),
    ) -> Result<Vec<SyncReport>> {
        self.check_writable("syncing")?;
        let repos: Vec<RepoRow> = {
            let store = self.store();
            match repo {
                Some(name) => vec![refuse_paused(find_repo(&store, name)?, "sync")?],
                None => store.repos()?,
            }
        }
        .into_iter()
        .filter(|r| r.remote.is_some())
        .collect();
        if repos.is_empty() {
            return Err(Error::NotFound(match repo {
                Some(name) => format!(
                    "{name:?} is a local repository: nothing to fetch (`ferret index` re-reads it)"
                ),
                None => "no GitHub repositories to sync: add one with \
                         `ferret repo add github:OWNER/NAME`"
                    .into(),
            }));
        }
        // All of them: the paused ones wait (with all paused, not even the keychain is read).
        let repos: Vec<RepoRow> = repos.into_iter().filter(|r| !r.paused).collect();
        if repos.is_empty() {
            return Ok(Vec::new());
        }
        let (client, token) = github_session(&self.record()?)?;
        let auth = GitAuth {
            token: Some(token.expose()),
        };
        let github = (&client, &token);
        let mut reports = Vec::new();
        {
            let _lock = JobLock::acquire(&self.paths)?;
            for repo in &repos {
                match self.sync_one(repo, github, &auth, cancel, git_progress) {
                    Ok(report) => reports.push(report),
                    Err(e @ (Error::Cancelled | Error::Interrupted)) => return Err(e),
                    // Naming one repository: its failure is the answer.
                    Err(e) if repos.len() == 1 => return Err(e),
                    // One repository's failure (gone upstream, a rewritten history) must
                    // not stop the others: it is reported once, and the rest go on.
                    Err(e) => {
                        self.audit("repo-sync-failed", &format!("{}: {e}", repo.name))?;
                        let head = repo.head.clone().unwrap_or_default();
                        reports.push(SyncReport {
                            repo: repo.name.clone(),
                            old_head: head.clone(),
                            new_head: head,
                            changed_paths: 0,
                            recloned: false,
                            error: Some(e.to_string()),
                        });
                    }
                }
            }
        }
        self.clones_changed();
        Ok(reports)
    }

    /// Fetches and fast-forwards one clone, from the URL stored when it was added (not the
    /// clone's editable `origin`). A clone that is gone (a profile restored from an
    /// export, a folder removed by hand) is cloned again; its index is kept, and only
    /// chunks whose text changed need the model, since embeddings are keyed by content.
    /// The clone's folder is derived from its `OWNER/NAME` (see [`Engine::clone_dir`]) and
    /// its URL checked against the profile's GitHub (see [`Engine::clone_url`]).
    fn sync_one(
        &self,
        repo: &RepoRow,
        github: (&GitHubClient, &Secret),
        auth: &GitAuth,
        cancel: &AtomicBool,
        git_progress: &dyn Fn(&str, &GitProgress),
    ) -> Result<SyncReport> {
        let branch = repo.branch.as_deref().unwrap_or("main");
        let progress = |p: &GitProgress| git_progress(&repo.name, p);
        let old_head = repo.head.clone().unwrap_or_default();
        let dest = self.clone_dir(repo)?;
        let url = self.clone_url(repo, github)?;
        if dest.symlink_metadata().is_err() {
            let outcome = git::clone_repo(&url, &dest, Some(branch), auth, cancel, &progress)?;
            self.store().set_repo_head(repo.id, &outcome.head)?;
            self.audit(
                "repo-recloned",
                &format!("{} at {}", repo.name, outcome.head),
            )?;
            return Ok(SyncReport {
                repo: repo.name.clone(),
                old_head,
                new_head: outcome.head,
                changed_paths: 0,
                recloned: true,
                error: None,
            });
        }
        let outcome =
            git::fetch_fast_forward_from(&dest, Some(&url), branch, auth, cancel, &progress)?;
        self.store().set_repo_head(repo.id, &outcome.new_head)?;
        self.audit(
            "repo-synced",
            &format!(
                "{} {} -> {} ({} paths)",
                repo.name,
                outcome.old_head,
                outcome.new_head,
                outcome.changed.len()
            ),
        )?;
        Ok(SyncReport {
            repo: repo.name.clone(),
            old_head: outcome.old_head,
            new_head: outcome.new_head,
            changed_paths: outcome.changed.len() as u64,
            recloned: false,
            error: None,
        })
    }

    /// Syncs (see [`Engine::sync`]) and then indexes each repository whose head moved; the
    /// one use case behind `ferret repo sync` and a background sync job.
    pub fn sync_and_index(
        &self,
        repo: Option<&str>,
        cancel: &AtomicBool,
        git_progress: &dyn Fn(&str, &GitProgress),
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Result<SyncRun> {
        let synced = self.sync(repo, cancel, git_progress)?;
        let mut run = SyncRun {
            indexed: Vec::new(),
            interrupted: false,
            synced,
        };
        for report in run
            .synced
            .iter()
            .filter(|r| r.error.is_none() && (r.recloned || r.old_head != r.new_head))
        {
            let index = self.index(Some(&report.repo), cancel, false, progress)?;
            run.interrupted |= index.interrupted;
            run.indexed.push(index);
            if run.interrupted {
                break;
            }
        }
        Ok(run)
    }

    /// The absolute path of `rel_path` in repository `repo`, only for a file Ferret indexed:
    /// the one rule for everything that reaches files on someone else's behalf, a
    /// `ferret://open` link (a web page can fire one), an agent's `read_code` (agent clients
    /// approve read-only tools without asking) and the app's preview. `.git/config`, an
    /// ignored `.env`, a private key the secret filter skipped or a file the user never asked
    /// to index are refused, as is anything [`Engine::resolve_file`] refuses (`..`, absolute
    /// paths, a symlink that leads out of the repository).
    pub fn resolve_indexed_file(&self, repo: &str, rel_path: &str) -> Result<PathBuf> {
        crate::links::deeplink::validate_relative_path(rel_path)?;
        find_repo(&self.store(), repo)?;
        if !self.store().has_file(repo, rel_path)? {
            return Err(Error::Refused(format!(
                "{rel_path} is not an indexed file of repository {repo}: Ferret opens and \
                 reads only the files it indexed (search to find them)"
            )));
        }
        self.resolve_file(repo, rel_path)
    }

    /// The absolute path of `rel_path` (`/`-separated, as search results give it) inside
    /// repository `repo`. Refuses `..`, absolute paths, and anything that resolves outside
    /// the repository root, such as a symlink pointing elsewhere.
    pub fn resolve_file(&self, repo: &str, rel_path: &str) -> Result<PathBuf> {
        crate::links::deeplink::validate_relative_path(rel_path)?;
        let row = find_repo(&self.store(), repo)?;
        let row_root = self.checked_root(&row)?;
        let root = std::fs::canonicalize(&row_root).map_err(|e| {
            Error::io(
                format!(
                    "repository {repo:?} is no longer at {} (moved or deleted?)",
                    row_root.display()
                ),
                e,
            )
        })?;
        let joined = rel_path
            .split('/')
            .fold(root.clone(), |path, part| path.join(part));
        let full = std::fs::canonicalize(&joined).map_err(|e| {
            Error::io(
                format!("{rel_path} is not in {repo} any more (re-index to refresh results)"),
                e,
            )
        })?;
        if !full.starts_with(&root) {
            return Err(Error::Refused(format!(
                "{rel_path} in {repo} resolves to {}, outside the repository (a symlink?); \
                 Ferret only opens files inside the repository",
                full.display()
            )));
        }
        if !full.is_file() {
            return Err(Error::InvalidInput(format!(
                "{rel_path} in {repo} is not a file"
            )));
        }
        Ok(full)
    }

    /// Up to `before` lines before `line` (1-based), the line itself, and up to `after`
    /// lines after it, read from the file now (so the preview shows unsaved-to-index edits).
    /// Only indexed files ([`Engine::resolve_indexed_file`]): agents read through this.
    /// A line past the end of the file shows the file's last lines.
    pub fn file_context(
        &self,
        repo: &str,
        rel_path: &str,
        line: u32,
        before: u32,
        after: u32,
    ) -> Result<FileContext> {
        let path = self.resolve_indexed_file(repo, rel_path)?;
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            .len();
        if size > MAX_PREVIEW_BYTES {
            return Err(Error::Refused(format!(
                "{rel_path} is {} MiB, too large to preview; open it in the editor",
                size / (1024 * 1024)
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        if all.is_empty() {
            return Ok(FileContext {
                start_line: 1,
                lines: Vec::new(),
            });
        }
        let total = all.len() as u32;
        let line = line.clamp(1, total);
        let first = line.saturating_sub(before.min(MAX_CONTEXT_LINES)).max(1);
        let last = line.saturating_add(after.min(MAX_CONTEXT_LINES)).min(total);
        Ok(FileContext {
            start_line: first,
            lines: all[(first - 1) as usize..last as usize]
                .iter()
                .map(|l| l.to_string())
                .collect(),
        })
    }

    pub fn repos(&self) -> Result<Vec<RepoInfo>> {
        let store = self.store();
        let model_id = active_model(&store)?.id;
        let mut stmt = store
            .conn()
            .prepare_cached(
                "SELECT r.id,
                        (SELECT COUNT(*) FROM files f WHERE f.repo_id = r.id),
                        (SELECT COUNT(*) FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.repo_id = r.id),
                        (SELECT COUNT(*) FROM chunks c JOIN files f ON f.id = c.file_id
                           JOIN embeddings e ON e.model_id = ?1 AND e.content_hash = c.content_hash
                         WHERE f.repo_id = r.id)
                 FROM repos r",
            )
            .map_err(|e| store.err(e))?;
        let counts: BTreeMap<i64, (u64, u64, u64)> = stmt
            .query_map([model_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    (
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ),
                ))
            })
            .map_err(|e| store.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| store.err(e))?;
        Ok(store
            .repos()?
            .into_iter()
            .map(|r| {
                let (files, chunks, embedded_chunks) =
                    counts.get(&r.id).copied().unwrap_or_default();
                RepoInfo {
                    name: r.name,
                    root: r.root,
                    kind: r.kind,
                    added_at: r.added_at,
                    last_indexed_at: r.last_indexed_at,
                    remote: r.remote,
                    branch: r.branch,
                    head: r.head,
                    paused: r.paused,
                    needs_confirmation: r.needs_confirmation,
                    files,
                    chunks,
                    embedded_chunks,
                }
            })
            .collect())
    }

    /// Pauses or resumes one repository. A paused repository is not watched, fetched or
    /// indexed (indexing "all" skips it; naming it is refused with how to resume), and
    /// what it already holds stays searchable. Background work picks the change up on its
    /// next refresh.
    pub fn set_repo_paused(&self, name: &str, paused: bool) -> Result<RepoRow> {
        self.check_writable(if paused {
            "pausing repositories"
        } else {
            "resuming repositories"
        })?;
        let store = self.store();
        let repo = find_repo(&store, name)?;
        store.set_repo_paused(repo.id, paused)?;
        store.audit(
            if paused {
                "repo-paused"
            } else {
                "repo-resumed"
            },
            name,
        )?;
        Ok(RepoRow { paused, ..repo })
    }

    /// Removes a repository and everything indexed from it, and its "always allow" for
    /// links. A local working copy is untouched; a clone Ferret made under the profile's
    /// `repos/` is deleted with it.
    pub fn remove_repo(&self, name: &str) -> Result<u64> {
        self.check_writable("removing repositories")?;
        let _lock = JobLock::acquire(&self.paths)?;
        let mut store = Store::open(&self.paths.meta_db())?;
        let repo = find_repo(&store, name)?;
        // The grant goes first: should the removal fail after it, links only ask again,
        // whereas a grant outliving its repository would pass to the next one given its id.
        self.drop_link_grants(|id| id == repo.id, "link-grant-dropped")?;
        let removed = store.remove_repo(repo.id)?;
        store.audit(
            "repo-removed",
            &format!("{name} ({} chunks)", removed.len()),
        )?;
        if repo.remote.is_some() {
            // Only the clone's own folder under `repos/`, checked on the canonical path: a
            // row that says otherwise (an imported `../..`) loses its index, never a folder.
            match self.clone_dir(&repo) {
                Ok(dir) if dir.symlink_metadata().is_ok() => {
                    std::fs::remove_dir_all(&dir).map_err(|e| {
                        Error::io(format!("cannot delete the clone {}", dir.display()), e)
                    })?;
                }
                Ok(_) => {}
                Err(e) => {
                    log::warn!("{name}: its clone folder is left as it is: {e}");
                    store.audit("repo-clone-kept", &format!("{name}: {e}"))?;
                }
            }
        }
        // An index in memory drops the chunks now; its generation no longer matches, so
        // the next search reads it again unless an indexer here keeps it in step.
        for vectors in self.loaded_vectors() {
            for id in &removed {
                vectors.remove(*id as u64);
            }
        }
        self.clones_changed();
        Ok(removed.len() as u64)
    }

    /// Confirms the folder of a local repository that came with an imported profile (see
    /// [`RepoRow::needs_confirmation`]): from now on it is watched, indexed and read like
    /// one the user added. The filesystem root, the home directory or a folder holding it,
    /// and anything that is not a directory are refused. Confirming twice is harmless.
    pub fn confirm_repo(&self, name: &str) -> Result<RepoRow> {
        self.check_writable("confirming repositories")?;
        let store = self.store();
        let repo = find_repo(&store, name)?;
        if repo.remote.is_some() {
            return Err(Error::InvalidInput(format!(
                "{name:?} is a GitHub clone that Ferret keeps in the profile's own folder; \
                 there is nothing to confirm"
            )));
        }
        if !repo.needs_confirmation {
            return Ok(repo);
        }
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        let root = acceptable_local_root(&repo.root, home.as_deref())?;
        store.set_repo_needs_confirmation(repo.id, &root, false)?;
        store.audit("repo-confirmed", &format!("{name} {}", root.display()))?;
        Ok(RepoRow {
            root,
            needs_confirmation: false,
            ..repo
        })
    }

    /// The folder of clone `repo`: `<profile>/repos/OWNER/NAME`, from its `OWNER/NAME`
    /// checked as GitHub spells them. The stored root must be exactly that, and the folder
    /// (when it exists) must be that on the canonical path too, with no symlink leading
    /// elsewhere: rows may come from an imported file, and this folder gets deleted, cloned
    /// into and read.
    pub(crate) fn clone_dir(&self, repo: &RepoRow) -> Result<PathBuf> {
        let refuse = |why: String| {
            Error::Refused(format!(
                "{:?} {why}; Ferret leaves that folder alone: remove the repository \
                 (`ferret repo remove {}`) and add it again",
                repo.name, repo.name
            ))
        };
        let remote = repo.remote.as_deref().unwrap_or_default();
        let (owner, name) = github::validate_full_name(remote)
            .map_err(|_| refuse(format!("names {remote:?} as its GitHub repository")))?;
        let repos_dir = self.paths.repos_dir();
        let dir = repos_dir.join(&owner).join(&name);
        if repo.root != dir {
            return Err(refuse(format!(
                "is recorded at {}, not at its place in the profile ({})",
                repo.root.display(),
                dir.display()
            )));
        }
        if dir.symlink_metadata().is_ok() {
            let canonical = |p: &Path| {
                std::fs::canonicalize(p)
                    .map_err(|e| Error::io(format!("cannot resolve {}", p.display()), e))
            };
            let expected = canonical(&repos_dir)?.join(&owner).join(&name);
            let actual = canonical(&dir)?;
            if actual != expected {
                return Err(refuse(format!(
                    "has its folder {} lead to {}",
                    dir.display(),
                    actual.display()
                )));
            }
        }
        Ok(dir)
    }

    /// The root files of `repo` may be read from: a clone's checked folder (see
    /// [`Engine::clone_dir`]), or a local folder the user added or confirmed.
    pub(crate) fn checked_root(&self, repo: &RepoRow) -> Result<PathBuf> {
        if repo.remote.is_some() {
            return self.clone_dir(repo);
        }
        refuse_unconfirmed(repo)?;
        Ok(repo.root.clone())
    }

    /// Where clone `repo` is fetched from: the stored URL when it is on the profile's
    /// GitHub, else (an imported profile drops it) the one the profile's GitHub API gives
    /// for its `OWNER/NAME`, which is then stored. A URL on any other host never receives
    /// the token.
    fn clone_url(
        &self,
        repo: &RepoRow,
        (client, token): (&GitHubClient, &Secret),
    ) -> Result<String> {
        if let Some(url) = repo.clone_url.as_deref() {
            match client.check_clone_url(url) {
                Ok(()) => return Ok(url.to_string()),
                Err(e) => log::warn!("{}: stored clone URL not used: {e}", repo.name),
            }
        }
        let (owner, name) = github::validate_full_name(repo.remote.as_deref().unwrap_or_default())?;
        let url = client.repo(token, &owner, &name)?.clone_url;
        client.check_clone_url(&url)?;
        self.store().set_repo_clone_url(repo.id, Some(&url))?;
        Ok(url)
    }
}

/// `root` (a local repository's folder named by an imported profile) resolved, if it is a
/// directory that is neither the filesystem root nor `home` nor a folder holding `home`.
pub(crate) fn acceptable_local_root(root: &Path, home: Option<&Path>) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(root).map_err(|e| {
        Error::io(
            format!(
                "cannot open {} (is the folder on this machine?); restore it, or remove \
                 the repository with `ferret repo remove`",
                root.display()
            ),
            e,
        )
    })?;
    if !canonical.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{} is not a directory; Ferret indexes folders only",
            canonical.display()
        )));
    }
    let home = home.and_then(|h| std::fs::canonicalize(h).ok());
    let holds_home = home.as_deref().is_some_and(|h| h.starts_with(&canonical));
    if canonical.parent().is_none() || holds_home {
        return Err(Error::Refused(format!(
            "{} is {}: Ferret does not index a whole filesystem or home directory from an \
             imported profile; add the project folders you mean with `ferret repo add PATH`",
            canonical.display(),
            if canonical.parent().is_none() {
                "the filesystem root"
            } else {
                "your home directory or a folder holding it"
            }
        )));
    }
    Ok(canonical)
}

/// Repository names appear in results and `repo:` filters; `OWNER/NAME` is allowed.
pub(crate) fn validate_repo_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 200
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::InvalidInput(format!(
            "invalid repository name {name:?}: use a short name without spaces (--name)"
        )));
    }
    Ok(())
}

/// `repo`, unless it is paused: then an error that says how to resume it.
pub(super) fn refuse_paused(repo: RepoRow, what: &str) -> Result<RepoRow> {
    if repo.paused {
        return Err(Error::Refused(format!(
            "{:?} is paused, so Ferret does not {what} it: resume it first \
             (`ferret repo resume {}`, or Resume in the app)",
            repo.name, repo.name
        )));
    }
    Ok(repo)
}

/// An error when `repo` waits for the user to confirm its folder, saying how to.
fn refuse_unconfirmed(repo: &RepoRow) -> Result<()> {
    if repo.needs_confirmation {
        return Err(Error::Refused(format!(
            "{:?} came with an imported profile and its folder {} is not confirmed yet, so \
             Ferret does not read, watch or index it: check the folder, then run \
             `ferret repo confirm {}` (or Confirm in the app)",
            repo.name,
            repo.root.display(),
            repo.name
        )));
    }
    Ok(())
}

pub(super) fn find_repo(store: &Store, name: &str) -> Result<RepoRow> {
    store.repo_by_name(name)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no repository named {name:?}; `ferret repo list` shows the added ones"
        ))
    })
}
