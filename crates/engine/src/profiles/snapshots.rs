//! Daily snapshots of a profile's database, and restoring the newest one when the database
//! is found damaged (instead of telling the user to delete it).
//!
//! After an index run completes, if the newest snapshot is a day old (or there is none), a
//! consistent copy is made with `VACUUM INTO` into `snapshots/meta-<unix time>.sqlite`, and
//! only the newest `snapshots_kept` are kept (profile config; 0 turns snapshots off). On
//! battery they wait for mains power unless `snapshots_on_battery` is set. When opening
//! finds the database damaged, the damaged file is moved aside (`meta.sqlite.damaged-<t>`,
//! never deleted) and the newest snapshot takes its place; the next index run brings it up
//! to date, embedding only text the snapshot had no vector for.

use std::path::{Path, PathBuf};

use super::private::{private_dir, private_files_in};
use super::ProfilePaths;
use crate::store::Store;
use crate::{Error, Result};

/// How old the newest snapshot may get before another is taken.
const SNAPSHOT_EVERY_SECS: i64 = 24 * 3600;

/// Snapshots of `paths`'s database, oldest first, with their times.
pub(crate) fn list(paths: &ProfilePaths) -> Vec<(i64, PathBuf)> {
    let mut found: Vec<(i64, PathBuf)> = std::fs::read_dir(paths.snapshots_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let t = name
                .to_str()?
                .strip_prefix("meta-")?
                .strip_suffix(".sqlite")?
                .parse::<i64>()
                .ok()?;
            Some((t, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// Takes a snapshot of `store` if one is due at `now` (see the module doc); returns it.
pub(crate) fn take_if_due(
    store: &Store,
    paths: &ProfilePaths,
    kept: u32,
    on_battery_allowed: bool,
    now: i64,
) -> Result<Option<PathBuf>> {
    if kept == 0 || (!on_battery_allowed && on_battery()) {
        return Ok(None);
    }
    let existing = list(paths);
    if existing
        .last()
        .is_some_and(|(t, _)| now - t < SNAPSHOT_EVERY_SECS)
    {
        return Ok(None);
    }
    let dir = paths.snapshots_dir();
    private_dir(&dir)?;
    let partial = dir.join(format!("meta-{now}.sqlite.partial"));
    let _ = std::fs::remove_file(&partial);
    let done = dir.join(format!("meta-{now}.sqlite"));
    let made = store.vacuum_into(&partial).and_then(|()| {
        std::fs::rename(&partial, &done)
            .map_err(|e| Error::io(format!("cannot write {}", done.display()), e))
    });
    if let Err(e) = made {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    private_files_in(&dir)?;
    let all = list(paths);
    for (_, old) in all.iter().take(all.len().saturating_sub(kept as usize)) {
        let _ = std::fs::remove_file(old);
    }
    Ok(Some(done))
}

/// Moves the damaged database aside and puts the newest snapshot in its place. Returns
/// the snapshot used and where the damaged file went; `None` when there is no snapshot.
pub(crate) fn restore_newest(paths: &ProfilePaths, now: i64) -> Result<Option<(PathBuf, PathBuf)>> {
    let Some((_, snapshot)) = list(paths).pop() else {
        return Ok(None);
    };
    let db = paths.meta_db();
    let aside = db.with_file_name(format!("meta.sqlite.damaged-{now}"));
    let rename = |from: &Path, to: &Path| {
        std::fs::rename(from, to)
            .map_err(|e| Error::io(format!("cannot move {} aside", from.display()), e))
    };
    rename(&db, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        if side.exists() {
            rename(
                &side,
                &PathBuf::from(format!("{}{suffix}", aside.display())),
            )?;
        }
    }
    std::fs::copy(&snapshot, &db)
        .map_err(|e| Error::io(format!("cannot restore {}", snapshot.display()), e))?;
    private_files_in(&paths.root)?;
    Ok(Some((snapshot, aside)))
}

/// Whether the machine runs on battery now (Linux: a power supply reports discharging).
fn on_battery() -> bool {
    std::fs::read_dir("/sys/class/power_supply")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            std::fs::read_to_string(e.path().join("status"))
                .is_ok_and(|s| s.trim() == "Discharging")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_daily_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ProfilePaths::new(dir.path(), "p").unwrap();
        paths.ensure_dirs().unwrap();
        let store = Store::open(&paths.meta_db()).unwrap();
        let day = SNAPSHOT_EVERY_SECS;
        assert!(
            take_if_due(&store, &paths, 0, true, 1000)
                .unwrap()
                .is_none(),
            "off"
        );
        assert!(take_if_due(&store, &paths, 2, true, 1000)
            .unwrap()
            .is_some());
        assert!(take_if_due(&store, &paths, 2, true, 1000 + day / 2)
            .unwrap()
            .is_none());
        assert!(take_if_due(&store, &paths, 2, true, 1000 + day)
            .unwrap()
            .is_some());
        assert!(take_if_due(&store, &paths, 2, true, 1000 + 2 * day)
            .unwrap()
            .is_some());
        let kept: Vec<i64> = list(&paths).into_iter().map(|(t, _)| t).collect();
        assert_eq!(kept, [1000 + day, 1000 + 2 * day]);
        Store::open(&list(&paths)[1].1)
            .unwrap()
            .check_integrity()
            .unwrap();
    }
}
