//! Putting inotify watches on a repository's directories: one non-recursive watch per
//! directory the indexer would descend into, and the reason (with the fix) when the kernel
//! refuses one.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::pipeline::ignore_rules::IgnoreRules;

/// Watches `dir` (not recursively). `Ok(false)` when it vanished meanwhile.
pub(super) fn watch_dir(
    watcher: &mut RecommendedWatcher,
    dir: &Path,
) -> std::result::Result<bool, String> {
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Ok(true),
        Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => Err(error_reason(&err)),
        Err(err) => {
            log::debug!("cannot watch {}: {err}", dir.display());
            Ok(false)
        }
    }
}

/// Watches `dir` and every directory below it that is not ignored. With `files`, also
/// records (relative to `root`) the files found, which may have been written before the
/// watch was in place.
pub(super) fn watch_tree(
    watcher: &mut RecommendedWatcher,
    rules: &mut IgnoreRules,
    root: &Path,
    dir: &Path,
    mut files: Option<&mut BTreeSet<PathBuf>>,
) -> std::result::Result<(), String> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // Watch first, then list: a file created in between is seen twice, never missed.
        if !watch_dir(watcher, &dir)? {
            continue;
        }
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if file_type.is_dir() {
                let vcs = matches!(entry.file_name().to_str(), Some(".git" | ".hg" | ".svn"));
                if !vcs && !rules.is_dropped(&path, true) {
                    stack.push(path);
                }
            } else if let Some(files) = files.as_deref_mut() {
                if file_type.is_file() && !rules.is_dropped(&path, false) {
                    if let Ok(rel) = path.strip_prefix(root) {
                        files.insert(rel.to_path_buf());
                    }
                }
            }
        }
    }
    Ok(())
}

/// The reason (cause and fix) to poll after a notify error.
pub(super) fn error_reason(err: &notify::Error) -> String {
    match &err.kind {
        notify::ErrorKind::MaxFilesWatch => {
            let current = fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
                .map(|s| format!(" (now {})", s.trim()))
                .unwrap_or_default();
            format!(
                "the inotify watch limit fs.inotify.max_user_watches{current} was reached; \
                 raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (and persist it \
                 in /etc/sysctl.d/)"
            )
        }
        notify::ErrorKind::Io(io)
            if io.raw_os_error() == Some(24) || io.raw_os_error() == Some(23) =>
        {
            format!(
                "cannot create an inotify instance ({io}); raise the limit with \
                 `sudo sysctl fs.inotify.max_user_instances=512`"
            )
        }
        _ => format!("file watching failed: {err}"),
    }
}
