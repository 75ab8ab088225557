//! Owner-only access to everything Ferret keeps. A profile holds the user's code (chunk text
//! in `meta.sqlite`, clones under `repos/`), its settings and its job state; on a shared
//! machine none of it is anyone else's business. Directories are created (and repaired at
//! every open) with mode 0700 and the files directly in them 0600, whatever the umask; a
//! directory's 0700 already keeps other users out of everything below it.

use std::path::Path;

use crate::{Error, Result};

/// Creates `dir` if needed and makes it 0700.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    restrict(dir, 0o700)
}

/// Makes every regular file directly in `dir` 0600 (databases, their WAL and shared-memory
/// files, config, locks, snapshots).
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
