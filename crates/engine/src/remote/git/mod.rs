//! Clones and updates GitHub repositories for indexing, with git2 over HTTPS.
//!
//! Three rules shape this module:
//! - The token reaches libgit2 only through the credential callback. It is never put in a URL,
//!   the `origin` remote, `.git/config` or any other file, and no error message contains it.
//!   URLs with `user:pass@` are refused so a token cannot sneak in that way either.
//! - A clone is made in a sibling directory (`<dest>.partial-<pid>`) and renamed into place only
//!   when it is complete, so a failed or cancelled clone leaves nothing behind.
//! - Updates only ever fast-forward. When the upstream history was rewritten (force-push), the
//!   update is refused and the user is told to remove the repository and add it again: the
//!   clone is a cache Ferret owns, re-adding it is cheap and explicit, and refusing means a sync
//!   can never silently throw away commits or local files.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use git2::build::RepoBuilder;
use git2::Repository;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

mod diff;
mod session;

use crate::remote::url::parse_remote_url;
pub use crate::remote::url::validate_remote_url;
use diff::diff_commits;
pub use diff::{changed_paths, head_commit};
use session::Session;

/// The user name sent with a token; GitHub accepts any, this one documents what it is.
const TOKEN_USER: &str = "x-access-token";

/// Progress reports are sent at most this often, plus once per stage change and at the end of
/// each stage, because libgit2 calls back once per object.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What a clone or fetch is doing now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum GitStage {
    /// Connecting and negotiating with the server.
    #[default]
    Connecting,
    /// Downloading objects.
    Receiving,
    /// Resolving deltas in the downloaded pack.
    Resolving,
    /// Writing files into the working tree.
    CheckingOut,
    /// Finished.
    Done,
}

/// A progress report for a clone or fetch.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitProgress {
    pub stage: GitStage,
    pub received_objects: u64,
    pub total_objects: u64,
    pub indexed_deltas: u64,
    pub total_deltas: u64,
    pub received_bytes: u64,
}

/// Credentials for a clone or fetch. The token is handed to libgit2 only through the
/// credential callback.
#[derive(Clone, Copy, Default)]
pub struct GitAuth<'a> {
    pub token: Option<&'a str>,
}

impl std::fmt::Debug for GitAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = if self.token.is_some() {
            "Some(***)"
        } else {
            "None"
        };
        f.debug_struct("GitAuth").field("token", &token).finish()
    }
}

/// The result of a clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloneOutcome {
    /// The checked-out commit, as 40 hex digits.
    pub head: String,
    /// The checked-out branch (the requested one, or the remote's default).
    pub branch: String,
}

/// The result of a fetch and fast-forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncOutcome {
    pub old_head: String,
    pub new_head: String,
    /// Files that differ between the old and the new commit; empty when nothing changed.
    pub changed: Vec<ChangedPath>,
}

/// One file that differs between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedPath {
    /// Repository-relative path with `/` separators (the new path for a rename).
    pub path: String,
    pub status: ChangeStatus,
}

/// How a file changed between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
    /// Moved from `from` (possibly with edits); the old path no longer exists.
    Renamed {
        from: String,
    },
}

/// Clones `url` into `dest` and checks out `branch` (or the remote's default branch).
///
/// `dest` must not exist; its parent directories are created. The clone is made in
/// `<dest>.partial-<pid>` and renamed into place when complete; on any error, or when `cancel`
/// is set (→ [`Error::Cancelled`]), the partial directory and any parent directories this call
/// created are removed. The `origin` remote holds the plain URL, never credentials.
pub fn clone_repo(
    url: &str,
    dest: &Path,
    branch: Option<&str>,
    auth: &GitAuth,
    cancel: &AtomicBool,
    progress: &dyn Fn(&GitProgress),
) -> Result<CloneOutcome> {
    let session = Session::new(url, cancel, progress)?;
    if let Some(branch) = branch {
        check_branch_name(branch)?;
    }
    if dest.symlink_metadata().is_ok() {
        return Err(Error::Refused(format!(
            "cannot clone {url} into {}: it already exists; remove it or choose another directory",
            dest.display()
        )));
    }
    let Some(name) = dest.file_name() else {
        return Err(Error::InvalidInput(format!(
            "cannot clone into {}: the path has no final directory name",
            dest.display()
        )));
    };
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let created_parents = create_parents(&parent)?;
    let partial = parent.join(format!(
        "{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if partial.symlink_metadata().is_ok() {
        // A leftover from an earlier run of a process with the same id.
        remove_dir(&partial)?;
    }

    let result = clone_into(&session, url, &partial, dest, branch, auth);
    match result {
        Ok(outcome) => {
            session.enter(GitStage::Done);
            Ok(outcome)
        }
        Err(e) => {
            if let Err(cleanup) = remove_dir(&partial) {
                log::warn!("could not remove the partial clone: {cleanup}");
            }
            remove_empty_parents(&created_parents);
            Err(e)
        }
    }
}

/// Removes the partial clones (`OWNER/NAME.partial-<pid>` under `repos_dir`) of processes
/// that are gone: a clone killed mid-way (power loss, kill -9) must not leave hundreds of
/// megabytes behind forever. Returns how many were removed; partial clones of live
/// processes are left alone.
pub(crate) fn sweep_abandoned_clones(repos_dir: &Path) -> usize {
    let mut removed = 0;
    let owners = std::fs::read_dir(repos_dir).into_iter().flatten().flatten();
    for owner in owners.filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
        for entry in std::fs::read_dir(owner.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.rsplit_once(".partial-"))
                .and_then(|(_, pid)| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if crate::profiles::process_alive(pid) {
                continue;
            }
            match remove_dir(&entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => log::warn!("cannot remove an abandoned partial clone: {e}"),
            }
        }
    }
    removed
}

fn clone_into(
    session: &Session<'_>,
    url: &str,
    partial: &Path,
    dest: &Path,
    branch: Option<&str>,
    auth: &GitAuth,
) -> Result<CloneOutcome> {
    session.enter(GitStage::Connecting);
    let mut builder = RepoBuilder::new();
    builder.fetch_options(session.fetch_options(auth));
    builder.with_checkout(session.checkout());
    if let Some(branch) = branch {
        builder.branch(branch);
    }
    let repo = builder.clone(url, partial).map_err(|e| {
        if branch.is_some() && e.class() == git2::ErrorClass::Reference {
            Error::NotFound(format!(
                "{url} has no branch {:?}: check the branch name, or leave it out to use the \
                 default branch",
                branch.unwrap_or_default()
            ))
        } else {
            session.error("clone", &e)
        }
    })?;
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let head = repo.head().map_err(|e| {
        Error::git(
            ErrorKind::Git,
            format!("the clone of {url} has no HEAD: {}", e.message()),
        )
    })?;
    let branch = head.shorthand().unwrap_or_default().to_string();
    let commit = head
        .peel_to_commit()
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!("the clone of {url} has no commit: {}", e.message()),
            )
        })?
        .id()
        .to_string();
    drop(head);
    drop(repo);
    std::fs::rename(partial, dest).map_err(|e| {
        Error::io(
            format!(
                "moving the finished clone of {url} to {} (is it on the same disk?)",
                dest.display()
            ),
            e,
        )
    })?;
    Ok(CloneOutcome {
        head: commit,
        branch,
    })
}

/// Fetches `origin` and fast-forwards the local `branch` and the working tree to
/// `origin/<branch>`.
///
/// A non-fast-forward (rewritten upstream history) is refused with a message telling the user
/// to remove the repository and add it again; local modifications that the update would
/// overwrite are refused too. `changed` lists the files that differ between the old and the new
/// commit; a fetch that brings nothing returns `old_head == new_head` and no changes.
/// When `cancel` is set the working tree is left as it was and [`Error::Cancelled`] is returned.
pub fn fetch_fast_forward(
    repo_dir: &Path,
    branch: &str,
    auth: &GitAuth,
    cancel: &AtomicBool,
    progress: &dyn Fn(&GitProgress),
) -> Result<SyncOutcome> {
    fetch_fast_forward_from(repo_dir, None, branch, auth, cancel, progress)
}

/// [`fetch_fast_forward`] from `url` when given: the URL Ferret cloned from, as stored in
/// the profile. The clone's own `origin` (in `.git/config`, which anything on the machine
/// can edit) then plays no part, so the token is only ever offered to the host the user
/// chose.
pub fn fetch_fast_forward_from(
    repo_dir: &Path,
    url: Option<&str>,
    branch: &str,
    auth: &GitAuth,
    cancel: &AtomicBool,
    progress: &dyn Fn(&GitProgress),
) -> Result<SyncOutcome> {
    check_branch_name(branch)?;
    let repo = open(repo_dir)?;
    let url = if let Some(url) = url {
        url.to_string()
    } else {
        let remote = repo.find_remote("origin").map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                "the clone at {} has no 'origin' remote ({}); remove the repository and add it \
                 again",
                repo_dir.display(),
                e.message()
            ),
            )
        })?;
        remote.url().map(str::to_string).ok_or_else(|| {
            Error::git(
                ErrorKind::Git,
                format!(
                "the 'origin' URL of the clone at {} is not UTF-8; remove the repository and add \
                 it again",
                repo_dir.display()
            ),
            )
        })?
    };
    let session = Session::new(&url, cancel, progress)?;
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let local_ref = format!("refs/heads/{branch}");
    let head_name = repo.head().ok().and_then(|h| h.name().map(str::to_string));
    if head_name.as_deref() != Some(local_ref.as_str()) {
        return Err(Error::Refused(format!(
            "the clone of {url} at {} has {} checked out, not {branch:?}; remove the repository \
             and add it again with the branch you want",
            repo_dir.display(),
            head_name
                .as_deref()
                .map_or("no branch", |n| n.trim_start_matches("refs/heads/"))
        )));
    }

    let old = repo
        .find_reference(&local_ref)
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| {
            Error::NotFound(format!(
                "the clone of {url} at {} has no branch {branch:?} ({}); remove the repository \
                 and add it again with that branch",
                repo_dir.display(),
                e.message()
            ))
        })?
        .id();

    session.enter(GitStage::Connecting);
    let tracking_ref = format!("refs/remotes/origin/{branch}");
    {
        let mut remote = repo
            .remote_anonymous(&url)
            .map_err(|e| session.error("fetch", &e))?;
        let mut options = session.fetch_options(auth);
        remote
            .fetch(
                &[format!("+{local_ref}:{tracking_ref}")],
                Some(&mut options),
                Some("ferret: fetch"),
            )
            .map_err(|e| session.error("fetch", &e))?;
        let advertised = remote
            .list()
            .map_err(|e| session.error("fetch", &e))?
            .iter()
            .any(|head| head.name() == local_ref);
        if !advertised {
            return Err(Error::NotFound(format!(
                "branch {branch:?} no longer exists on {url}; remove the repository and add it \
                 again with another branch"
            )));
        }
    }
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let new_commit = repo
        .find_reference(&tracking_ref)
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                    "fetched {url} but origin/{branch} is missing ({}); try again",
                    e.message()
                ),
            )
        })?;
    let new = new_commit.id();
    if new == old {
        session.enter(GitStage::Done);
        return Ok(SyncOutcome {
            old_head: old.to_string(),
            new_head: new.to_string(),
            changed: Vec::new(),
        });
    }
    let fast_forward = repo.graph_descendant_of(new, old).map_err(|e| {
        Error::git(
            ErrorKind::Git,
            format!("cannot compare the history of {url}: {}", e.message()),
        )
    })?;
    if !fast_forward {
        return Err(Error::git(
            ErrorKind::Git,
            format!(
                "the history of branch {branch:?} on {url} was rewritten (force-pushed), so the \
             clone cannot be fast-forwarded; remove the repository from Ferret and add it again"
            ),
        ));
    }
    let changed = diff_commits(&repo, old, new)?;

    let mut checkout = session.checkout();
    checkout.safe();
    repo.checkout_tree(new_commit.as_object(), Some(&mut checkout))
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                "cannot update the files of the clone of {url} at {}: {}; it has local changes \
                 in the way: remove the repository and add it again",
                repo_dir.display(),
                e.message()
            ),
            )
        })?;
    repo.find_reference(&local_ref)
        .and_then(|mut r| r.set_target(new, "ferret: fast-forward").map(|_| ()))
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                    "updated the files of {} but could not move branch {branch:?}: {}; sync again",
                    repo_dir.display(),
                    e.message()
                ),
            )
        })?;
    session.enter(GitStage::Done);
    Ok(SyncOutcome {
        old_head: old.to_string(),
        new_head: new.to_string(),
        changed,
    })
}

fn open(repo_dir: &Path) -> Result<Repository> {
    Repository::open(repo_dir).map_err(|e| {
        if e.code() == git2::ErrorCode::NotFound {
            Error::NotFound(format!(
                "no git repository at {}; add the repository again",
                repo_dir.display()
            ))
        } else {
            Error::git(
                ErrorKind::Git,
                format!(
                    "cannot open the repository at {}: {}",
                    repo_dir.display(),
                    e.message()
                ),
            )
        }
    })
}

/// Whether `branch` is a name git allows for a branch.
pub(crate) fn branch_name_is_valid(branch: &str) -> bool {
    git2::Branch::name_is_valid(branch).unwrap_or(false)
}

fn check_branch_name(branch: &str) -> Result<()> {
    if branch_name_is_valid(branch) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{branch:?} is not a valid branch name"
        )))
    }
}

/// Creates `dir` and its missing ancestors; returns the ones it created, outermost first.
fn create_parents(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cursor = d.parent();
    }
    missing.reverse();
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating directory {}", dir.display()), e))?;
    Ok(missing)
}

/// Removes the directories `create_parents` made, innermost first, if they are still empty.
fn remove_empty_parents(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", dir.display()), e)),
    }
}

#[cfg(test)]
mod tests;
