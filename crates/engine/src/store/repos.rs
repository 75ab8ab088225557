//! Repositories and their files: registering, listing, pausing and removing them.
use rusqlite::params;

use super::*;

impl Store {
    pub fn add_repo(&self, name: &str, root: &Path, kind: &str) -> Result<RepoRow> {
        self.add_repo_with(name, root, kind, None)
    }

    /// Registers a repository cloned from a remote.
    pub fn add_remote_repo(&self, name: &str, root: &Path, remote: &RemoteInfo) -> Result<RepoRow> {
        self.add_repo_with(name, root, "github", Some(remote))
    }

    fn add_repo_with(
        &self,
        name: &str,
        root: &Path,
        kind: &str,
        remote: Option<&RemoteInfo>,
    ) -> Result<RepoRow> {
        let root_str = root.to_string_lossy();
        if let Some(existing) = self.repo_by_root(&root_str)? {
            return Err(Error::InvalidInput(format!(
                "{} is already added as {:?}",
                root.display(),
                existing.name
            )));
        }
        if self.repo_by_name(name)?.is_some() {
            return Err(Error::InvalidInput(format!(
                "a repository named {name:?} already exists; remove it first or rename this one"
            )));
        }
        self.conn
            .execute(
                "INSERT INTO repos (name, root, kind, added_at, remote, clone_url, branch, head)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    name,
                    root_str,
                    kind,
                    now(),
                    remote.map(|r| r.full_name),
                    remote.map(|r| r.clone_url),
                    remote.map(|r| r.branch),
                    remote.map(|r| r.head),
                ],
            )
            .map_err(|e| self.err(e))?;
        self.repo_by_name(name)?
            .ok_or_else(|| Error::NotFound(format!("repository {name} vanished")))
    }

    pub fn repos(&self) -> Result<Vec<RepoRow>> {
        self.query_repos("ORDER BY name", params![])
    }

    pub fn repo_by_name(&self, name: &str) -> Result<Option<RepoRow>> {
        Ok(self
            .query_repos("WHERE name = ?1", params![name])?
            .into_iter()
            .next())
    }

    /// The repository cloned from `OWNER/NAME`, if added.
    pub fn repo_by_remote(&self, full_name: &str) -> Result<Option<RepoRow>> {
        Ok(self
            .query_repos("WHERE remote = ?1", params![full_name])?
            .into_iter()
            .next())
    }

    /// Pauses or resumes one repository.
    pub fn set_repo_paused(&self, repo_id: i64, paused: bool) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET paused = ?2 WHERE id = ?1",
                params![repo_id, paused as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records where a clone is fetched from (asked from the profile's GitHub API).
    pub fn set_repo_clone_url(&self, repo_id: i64, clone_url: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET clone_url = ?2 WHERE id = ?1",
                params![repo_id, clone_url],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Marks a local repository as waiting for the user to confirm its folder (an imported
    /// one), or confirms it at `root` (see [`RepoRow::needs_confirmation`]).
    pub fn set_repo_needs_confirmation(
        &self,
        repo_id: i64,
        root: &Path,
        needs_confirmation: bool,
    ) -> Result<()> {
        if !needs_confirmation {
            if let Some(other) = self
                .repo_by_root(&root.to_string_lossy())?
                .filter(|r| r.id != repo_id)
            {
                return Err(Error::InvalidInput(format!(
                    "{} is already added as {:?}",
                    root.display(),
                    other.name
                )));
            }
        }
        self.conn
            .execute(
                "UPDATE repos SET root = ?2, needs_confirmation = ?3 WHERE id = ?1",
                params![repo_id, root.to_string_lossy(), needs_confirmation as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Rewrites an imported repository's row (see `profiles::archive::settle`): its root,
    /// kind, checked branch and head, no stored clone URL, and whether its folder waits for
    /// the user's confirmation.
    pub(crate) fn settle_imported_repo(
        &self,
        repo_id: i64,
        root: &Path,
        kind: &str,
        branch: Option<&str>,
        head: Option<&str>,
        needs_confirmation: bool,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET root = ?2, kind = ?3, branch = ?4, head = ?5, clone_url = NULL,
                                  needs_confirmation = ?6
                 WHERE id = ?1",
                params![
                    repo_id,
                    root.to_string_lossy(),
                    kind,
                    branch,
                    head,
                    needs_confirmation as i64
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The first indexed file (repository name, path) whose path is not a plain relative
    /// path (empty, absolute, or with a `..` component), if any.
    pub(crate) fn first_path_outside_its_repo(&self) -> Result<Option<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT r.name, f.path FROM files f JOIN repos r ON r.id = f.repo_id")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let path: String = row.get(1).map_err(|e| self.err(e))?;
            if !is_plain_relative(&path) {
                return Ok(Some((row.get(0).map_err(|e| self.err(e))?, path)));
            }
        }
        Ok(None)
    }

    /// Records the commit a clone now sits at.
    pub fn set_repo_head(&self, repo_id: i64, head: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET head = ?2 WHERE id = ?1",
                params![repo_id, head],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Moves a repository's root (an imported profile's clones live in its own directory).
    pub fn set_repo_root(&self, repo_id: i64, root: &Path) -> Result<()> {
        self.conn
            .execute(
                "UPDATE repos SET root = ?2 WHERE id = ?1",
                params![repo_id, root.to_string_lossy()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn repo_by_root(&self, root: &str) -> Result<Option<RepoRow>> {
        Ok(self
            .query_repos("WHERE root = ?1", params![root])?
            .into_iter()
            .next())
    }

    fn query_repos(&self, tail: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<RepoRow>> {
        let sql =
            format!("SELECT id, name, root, kind, added_at, last_indexed_at, remote, clone_url, branch, head, paused, needs_confirmation FROM repos {tail}");
        self.query_all(&sql, args, |r| {
            Ok(RepoRow {
                id: r.get(0)?,
                name: r.get(1)?,
                root: PathBuf::from(r.get::<_, String>(2)?),
                kind: r.get(3)?,
                added_at: r.get(4)?,
                last_indexed_at: r.get(5)?,
                remote: r.get(6)?,
                clone_url: r.get(7)?,
                branch: r.get(8)?,
                head: r.get(9)?,
                paused: r.get::<_, i64>(10)? != 0,
                needs_confirmation: r.get::<_, i64>(11)? != 0,
            })
        })
    }

    /// Removes a repository and everything indexed from it. Returns the removed chunk ids so
    /// the caller can drop them from the vector index.
    pub fn remove_repo(&mut self, repo_id: i64) -> Result<Vec<i64>> {
        self.transaction(|tx| {
            let file_ids = tx.file_ids_of_repo(repo_id)?;
            let mut removed = Vec::new();
            for file_id in file_ids {
                removed.extend(tx.delete_file(file_id)?);
            }
            tx.exec("DELETE FROM repos WHERE id = ?1", params![repo_id])?;
            tx.bump_generation()?;
            Ok(removed)
        })
    }

    /// path -> what the last run recorded, for one repository.
    pub fn files_of_repo(
        &self,
        repo_id: i64,
    ) -> Result<std::collections::HashMap<String, FileRow>> {
        self.query_all(
            "SELECT id, path, size, mtime_ns, hash FROM files WHERE repo_id = ?1",
            params![repo_id],
            |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    FileRow {
                        id: r.get(0)?,
                        size: r.get(2)?,
                        mtime_ns: r.get(3)?,
                        hash: r.get(4)?,
                    },
                ))
            },
        )
    }

    /// Whether repository `repo` has an indexed file at `path`.
    pub fn has_file(&self, repo: &str, path: &str) -> Result<bool> {
        let found: Vec<i64> = self.query_all(
            "SELECT f.id FROM files f JOIN repos r ON r.id = f.repo_id
             WHERE r.name = ?1 AND f.path = ?2",
            params![repo, path],
            |r| r.get(0),
        )?;
        Ok(!found.is_empty())
    }
}
