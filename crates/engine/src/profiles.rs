//! Where a profile lives on disk, and what it is configured to do.
//!
//! Layout (DESIGN.md section 1):
//! ```text
//! <data root>/                 $FERRET_DATA_DIR, else ~/.local/share/ferret on Linux
//!   user_data/<profile_id>/
//!     meta.sqlite              source of truth: repos, files, chunks, FTS, embeddings
//!     vectors/<model>.usearch  derived vector index, rebuildable from meta.sqlite
//!     config.json              per-profile settings
//!     repos/                   clones of remote repositories
//! ```
//! Profile ids are validated before they ever become a path component, so no user-supplied
//! string can point outside the data root.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The profile used until sign-in (a later issue) creates per-user ones.
pub const DEFAULT_PROFILE: &str = "default";

/// The directory holding all of Ferret's data: `$FERRET_DATA_DIR` if set (tests always set
/// it), else the platform data dir (`~/.local/share/ferret` on Linux).
pub fn data_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("FERRET_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "ferret")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::InvalidInput(
                "cannot find a home directory for Ferret's data; set FERRET_DATA_DIR".into(),
            )
        })
}

/// Accepts only `[a-z0-9_-]{1,64}`: profile ids become directory names.
pub fn validate_profile_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid profile id {id:?}: use 1-64 characters from a-z, 0-9, '_' and '-'"
        )))
    }
}

/// The files and directories of one profile.
#[derive(Debug, Clone)]
pub struct ProfilePaths {
    pub id: String,
    pub root: PathBuf,
}

impl ProfilePaths {
    /// Paths of profile `id` under `data_root`; fails on an invalid id.
    pub fn new(data_root: &Path, id: &str) -> Result<Self> {
        validate_profile_id(id)?;
        Ok(ProfilePaths {
            id: id.to_string(),
            root: data_root.join("user_data").join(id),
        })
    }

    pub fn meta_db(&self) -> PathBuf {
        self.root.join("meta.sqlite")
    }

    pub fn vectors_dir(&self) -> PathBuf {
        self.root.join("vectors")
    }

    /// The usearch file for one embedding model. Model ids are our own constants, but they
    /// are checked anyway since they become file names.
    pub fn vector_file(&self, model_id: &str) -> Result<PathBuf> {
        validate_profile_id(model_id)
            .map_err(|_| Error::InvalidInput(format!("invalid model id {model_id:?}")))?;
        Ok(self.vectors_dir().join(format!("{model_id}.usearch")))
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.json")
    }

    pub fn repos_dir(&self) -> PathBuf {
        self.root.join("repos")
    }

    /// Creates the profile's directories if they are missing.
    pub fn ensure_dirs(&self) -> Result<()> {
        for dir in [self.root.clone(), self.vectors_dir()] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        Ok(())
    }
}

/// Per-profile settings, stored as `config.json`. Unknown fields are ignored and missing
/// ones take their defaults, so older and newer versions can share a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProfileConfig {
    /// Extra gitignore-style patterns excluded from every repository.
    pub excludes: Vec<String>,
    /// Files larger than this are skipped (reason "too-large").
    pub max_file_bytes: u64,
    /// Indexing threads; 0 means half the cores (at least one), leaving room for searches.
    pub index_threads: usize,
    /// Model directory override; `None` uses `$FERRET_MODEL_DIR` or the default locations.
    pub model_dir: Option<PathBuf>,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            excludes: Vec::new(),
            max_file_bytes: 1024 * 1024,
            index_threads: 0,
            model_dir: None,
        }
    }
}

impl ProfileConfig {
    /// Reads the config, or returns defaults when the file does not exist yet. A malformed
    /// file is an error naming the file, never silently replaced.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidInput(format!(
                    "{} is not valid JSON ({e}); fix or delete it to use defaults",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// The number of indexing threads to use on this machine.
    pub fn effective_threads(&self) -> usize {
        if self.index_threads > 0 {
            return self.index_threads;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        (cores / 2).max(1)
    }
}

#[cfg(test)]
mod tests {
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
        assert!(paths.vector_file("../x").is_err());
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
        assert_eq!(ProfileConfig::load(&file).unwrap().max_file_bytes, 10);
        std::fs::write(&file, "{oops").unwrap();
        let err = ProfileConfig::load(&file).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
    }
}
