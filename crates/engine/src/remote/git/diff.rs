//! What changed between two commits, for re-indexing only the touched files.

use std::path::Path;

use git2::{Delta, DiffFindOptions, Oid, Repository};

use crate::error::{Error, ErrorKind, Result};

use super::*;

/// The files that differ between commits `old` and `new` (hex ids) of the repository at
/// `repo_dir`, with renames detected. Paths are repository-relative with `/` separators
/// (non-UTF-8 bytes are replaced by U+FFFD).
pub fn changed_paths(repo_dir: &Path, old: &str, new: &str) -> Result<Vec<ChangedPath>> {
    let repo = open(repo_dir)?;
    let parse = |hex: &str| {
        Oid::from_str(hex).map_err(|_| {
            Error::InvalidInput(format!(
                "{hex:?} is not a commit id (expected 40 hex digits)"
            ))
        })
    };
    diff_commits(&repo, parse(old)?, parse(new)?)
}

/// The commit `HEAD` points at in the repository at `repo_dir`, as 40 hex digits.
pub fn head_commit(repo_dir: &Path) -> Result<String> {
    let repo = open(repo_dir)?;
    let commit = repo.head().and_then(|h| h.peel_to_commit()).map_err(|e| {
        Error::git(
            ErrorKind::Git,
            format!(
                "the repository at {} has no commit checked out: {}",
                repo_dir.display(),
                e.message()
            ),
        )
    })?;
    Ok(commit.id().to_string())
}

pub(super) fn diff_commits(repo: &Repository, old: Oid, new: Oid) -> Result<Vec<ChangedPath>> {
    if old == new {
        return Ok(Vec::new());
    }
    let tree = |id: Oid| {
        repo.find_commit(id).and_then(|c| c.tree()).map_err(|e| {
            Error::NotFound(format!(
                "commit {id} is not in the repository at {}: {}",
                repo.path().display(),
                e.message()
            ))
        })
    };
    let (old_tree, new_tree) = (tree(old)?, tree(new)?);
    let git_err = |e: git2::Error| {
        Error::git(
            ErrorKind::Git,
            format!(
                "cannot compare commits {old} and {new} in {}: {}",
                repo.path().display(),
                e.message()
            ),
        )
    };
    let mut diff = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
        .map_err(git_err)?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find)).map_err(git_err)?;
    let path_of = |file: git2::DiffFile<'_>| {
        file.path_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let mut changed = Vec::new();
    for delta in diff.deltas() {
        let status = match delta.status() {
            Delta::Added | Delta::Copied => ChangeStatus::Added,
            Delta::Deleted => ChangeStatus::Deleted,
            Delta::Modified | Delta::Typechange => ChangeStatus::Modified,
            Delta::Renamed => ChangeStatus::Renamed {
                from: path_of(delta.old_file()),
            },
            Delta::Unmodified
            | Delta::Ignored
            | Delta::Untracked
            | Delta::Unreadable
            | Delta::Conflicted => continue,
        };
        let path = match status {
            ChangeStatus::Deleted => path_of(delta.old_file()),
            _ => path_of(delta.new_file()),
        };
        changed.push(ChangedPath { path, status });
    }
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changed)
}
