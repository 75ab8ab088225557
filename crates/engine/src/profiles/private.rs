//! Owner-only access to everything Ferret keeps. A profile holds the user's code (chunk text
//! in `meta.sqlite`, clones under `repos/`), its settings and its job state; on a shared
//! machine none of it is anyone else's business. Directories are created (and repaired at
//! every open) with mode 0700 and the files directly in them 0600, whatever the umask; a
//! directory's 0700 already keeps other users out of everything below it. The data root is
//! the exception: it may be a folder of the user's (`--data-dir`), so only what Ferret keeps
//! there is tightened ([`data_root_dir`], [`private_named_files`]).

use std::path::Path;

use crate::{Error, Result};

/// Creates `dir` if needed and makes it 0700.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    restrict(dir, 0o700)
}

/// The data root: created 0700 when missing, and its mode repaired only while it holds
/// nothing but `ours` (names Ferret keeps there). `--data-dir` may name a folder of the
/// user's, with their own files in it; its mode is theirs to choose, and Ferret's data stays
/// private without it (`user_data/` is 0700, the registry files 0600).
pub(crate) fn data_root_dir(dir: &Path, ours: &[&str]) -> Result<()> {
    if !dir.exists() {
        return private_dir(dir);
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    let only_ours = entries.flatten().all(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|n| ours.contains(&n))
    });
    if only_ours {
        restrict(dir, 0o700)?;
    }
    Ok(())
}

/// Makes the regular files among `names` in `dir` 0600, and nothing else in it: for a
/// directory that may hold files that are not Ferret's (the data root).
pub(crate) fn private_named_files(dir: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            restrict(&path, 0o600)?;
        }
    }
    Ok(())
}

/// Makes every regular file directly in `dir` 0600 (databases, their WAL and shared-memory
/// files, config, locks, snapshots): only for directories that are Ferret's alone.
pub(crate) fn private_files_in(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            restrict(&entry.path(), 0o600)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if meta.permissions().mode() & 0o777 == mode {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        Error::io(
            format!(
                "cannot make {} private (mode {mode:o}); check that you own it",
                path.display()
            ),
            e,
        )
    })
}

/// Elsewhere the platform's defaults (per-user profile directories) apply.
#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}
