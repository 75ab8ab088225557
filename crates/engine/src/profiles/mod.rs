//! Where a profile lives on disk, and what it is configured to do.
//!
//! Layout (DESIGN.md section 1):
//! ```text
//! <data root>/                 $FERRET_DATA_DIR, else ~/.local/share/ferret on Linux
//!   user_data/<profile_id>/
//!     meta.sqlite              source of truth: repos, files, chunks, FTS, embeddings
//!                              (the vector index is built from it in memory)
//!     config.json              per-profile settings
//!     repos/                   clones of remote repositories
//! ```
//! Profile ids are validated before they ever become a path component, so no user-supplied
//! string can point outside the data root.
//!
//! Submodules: [`registry`] (which profiles exist, `profiles.sqlite`), [`pool`] (open
//! profiles, LRU with idle TTL), [`limits`] (per-profile caps), [`manager`] (sign-in,
//! switching, deletion: the operations over all profiles), [`security`] (the settings that
//! let Ferret run, load or open things unasked, and resetting them).

pub mod archive;
pub mod limits;
pub mod manager;
pub mod pool;
pub(crate) mod private;
pub mod registry;
pub mod secrets;
pub mod security;
pub(crate) mod snapshots;

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::links::editor::EditorKind;
use crate::{Error, Result};

/// The built-in local profile: used until someone signs in, and by local-only setups.
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

    /// Where earlier versions kept a usearch file per model (see
    /// [`crate::vectors::remove_legacy_files`]).
    pub fn legacy_vectors_dir(&self) -> PathBuf {
        self.root.join("vectors")
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.json")
    }

    pub fn repos_dir(&self) -> PathBuf {
        self.root.join("repos")
    }

    /// The lock file held while the profile runs a job (index, clone, sync).
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("job.lock")
    }

    /// Daily copies of the database (see [`snapshots`]).
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// Where a warm process answers this profile's searches ([`crate::ipc`]).
    pub fn socket_file(&self) -> PathBuf {
        self.root.join(crate::ipc::SOCKET_FILE)
    }

    /// Held by the one process whose job runner works this profile's queue.
    pub fn runner_lock_file(&self) -> PathBuf {
        self.root.join("runner.lock")
    }

    /// Creates the profile's directories if they are missing.
    /// Creates the profile's directories, owner-only, and repairs the modes of what an
    /// older version left readable to others (see [`private`]).
    pub fn ensure_dirs(&self) -> Result<()> {
        if let Some(user_data) = self.root.parent() {
            private::private_dir(user_data)?;
        }
        private::private_dir(&self.root)?;
        private::private_files_in(&self.root)?;
        Ok(())
    }
}

/// The version of `config.json` this build writes. Bump it when a field changes meaning
/// (adding a field with a default does not need it): an older Ferret then refuses the file
/// instead of misreading it. 1: every file so far (files without `format_version` are 1).
pub const CONFIG_FORMAT: u32 = 1;

/// `format_version` of a file written before the field existed.
fn unversioned_config() -> u32 {
    1
}

/// Per-profile settings, stored as `config.json`. Unknown fields are ignored and missing
/// ones take their defaults, so older and newer versions can share a file; a file whose
/// `format_version` is newer than [`CONFIG_FORMAT`] is refused, never rewritten.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProfileConfig {
    /// The file's format (see [`CONFIG_FORMAT`]); [`ProfileConfig::save`] writes the current one.
    #[serde(default = "unversioned_config")]
    pub format_version: u32,
    /// Extra gitignore-style patterns excluded from every repository.
    pub excludes: Vec<String>,
    /// Files larger than this are skipped (reason "too-large").
    pub max_file_bytes: u64,
    /// Indexing threads; 0 means half the cores (at least one), leaving room for searches.
    pub index_threads: usize,
    /// Model directory override; `None` uses `$FERRET_MODEL_DIR` or the default locations.
    pub model_dir: Option<PathBuf>,
    /// Caps on repositories, chunks and bytes on disk.
    pub limits: limits::ProfileLimits,
    /// How often background work fetches cloned GitHub repositories; 0 turns it off.
    pub fetch_interval_mins: u64,
    /// Quiet time after the last file change before a watched repository is re-indexed.
    pub watch_debounce_ms: u64,
    /// The editor results open in.
    pub editor: EditorKind,
    /// The command template (`{path}`, `{line}`) used when `editor` is custom.
    pub editor_command: Option<String>,
    /// Index files that usually hold credentials (`.env`, private keys, `.npmrc`, …);
    /// off by default, when they are skipped with the reason "secret".
    pub index_secret_files: bool,
    /// Repositories, by id, whose files `ferret://open` links may open without asking (the
    /// user ticked "always allow" once). Keyed by id rather than name so a grant cannot pass
    /// to another repository that later takes the name; removing the repository drops its
    /// grant (see `Engine::link_grants`).
    pub link_open_repo_ids: Vec<i64>,
    /// The grants of files written before they were keyed by id: repository names, under
    /// their old key `link_open_repos`. Read but never written back: opening the profile
    /// maps each name to its repository's id and drops names no repository has; a name
    /// grants nothing by itself.
    #[serde(rename = "link_open_repos", skip_serializing)]
    pub(crate) legacy_link_open_repos: Vec<String>,
    /// Daily snapshots of the database kept (0 turns them off); a damaged database is
    /// restored from the newest.
    pub snapshots_kept: u32,
    /// Take snapshots on battery power too.
    pub snapshots_on_battery: bool,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            format_version: CONFIG_FORMAT,
            excludes: Vec::new(),
            max_file_bytes: 1024 * 1024,
            index_threads: 0,
            model_dir: None,
            limits: limits::ProfileLimits::default(),
            fetch_interval_mins: 15,
            watch_debounce_ms: 300,
            editor: EditorKind::default(),
            editor_command: None,
            index_secret_files: false,
            link_open_repo_ids: Vec::new(),
            legacy_link_open_repos: Vec::new(),
            snapshots_kept: 2,
            snapshots_on_battery: false,
        }
    }
}

impl ProfileConfig {
    /// Reads the config, or returns defaults when the file does not exist yet. A malformed
    /// file is an error naming the file, never silently replaced; so is a file written by a
    /// newer Ferret (a `format_version` above [`CONFIG_FORMAT`]), refused as
    /// [`crate::ErrorKind::Refused`].
    pub fn load(path: &Path) -> Result<Self> {
        let config: Self = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                // A newer format may have changed a field's type: say so rather than
                // calling the file broken.
                if let Some(newer) = newer_format(&bytes) {
                    return refuse_newer(path, newer);
                }
                Error::InvalidInput(format!(
                    "{} is not valid JSON ({e}); fix or delete it to use defaults",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        if config.format_version > CONFIG_FORMAT {
            return Err(refuse_newer(path, config.format_version));
        }
        Ok(config)
    }

    /// Writes the config atomically (temp file, fsync, rename): a crash leaves the old file
    /// or the new one, never half of each. The file is written in the current format.
    pub fn save(&self, path: &Path) -> Result<()> {
        let current = ProfileConfig {
            format_version: CONFIG_FORMAT,
            ..self.clone()
        };
        let json = serde_json::to_vec_pretty(&current)
            .map_err(|e| Error::InvalidInput(format!("cannot serialise config: {e}")))?;
        let tmp = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// Checks every setting as `profile set` and the Settings page do: the first problem
    /// is an [`Error::InvalidInput`] naming the setting and what it accepts.
    pub fn validate(&self) -> Result<()> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(Error::InvalidInput(problem.message)),
            None => Ok(()),
        }
    }

    /// Every setting whose value cannot be used, with why.
    fn problems(&self) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let mut out_of_range = |setting: &'static str, value: u64, max: u64, unit: &str| {
            problems.push(SettingProblem {
                setting,
                message: format!("{setting} is {value}{unit}; it accepts at most {max}{unit}"),
            })
        };
        if self.max_file_bytes > MAX_FILE_BYTES {
            out_of_range(
                "max_file_bytes",
                self.max_file_bytes,
                MAX_FILE_BYTES,
                " bytes",
            );
        }
        if self.index_threads > MAX_INDEX_THREADS {
            out_of_range(
                "index_threads",
                self.index_threads as u64,
                MAX_INDEX_THREADS as u64,
                "",
            );
        }
        if self.fetch_interval_mins > MAX_FETCH_INTERVAL_MINS {
            out_of_range(
                "fetch_interval_mins",
                self.fetch_interval_mins,
                MAX_FETCH_INTERVAL_MINS,
                " minutes",
            );
        }
        if self.watch_debounce_ms > MAX_WATCH_DEBOUNCE_MS {
            out_of_range(
                "watch_debounce_ms",
                self.watch_debounce_ms,
                MAX_WATCH_DEBOUNCE_MS,
                " ms",
            );
        }
        if u64::from(self.snapshots_kept) > MAX_SNAPSHOTS_KEPT {
            out_of_range(
                "snapshots_kept",
                self.snapshots_kept.into(),
                MAX_SNAPSHOTS_KEPT,
                "",
            );
        }
        if self.excludes.len() > MAX_EXCLUDES {
            problems.push(SettingProblem {
                setting: "excludes",
                message: format!(
                    "excludes has {} patterns; it accepts at most {MAX_EXCLUDES}",
                    self.excludes.len()
                ),
            });
        }
        for pattern in &self.excludes {
            if let Err(why) = check_exclude(pattern) {
                problems.push(SettingProblem {
                    setting: "excludes",
                    message: format!("exclude pattern {pattern:?} is not usable: {why}"),
                });
            }
        }
        if self.editor == EditorKind::Custom {
            // A template that could never work is refused now rather than at the first Enter.
            if let Err(e) = crate::links::editor::command_line(
                self.editor,
                self.editor_command.as_deref(),
                Path::new("x"),
                1,
            ) {
                problems.push(SettingProblem {
                    setting: "editor_command",
                    message: e.to_string(),
                });
            }
        }
        problems
    }

    /// The settings an imported profile keeps from its `config.json`. A backup is a file
    /// anyone could have written, so only settings that can neither run a program
    /// (`editor_command`), load a library (`model_dir`), open files without asking (link
    /// grants) nor index credentials (`index_secret_files`) are taken over, each checked as
    /// [`ProfileConfig::validate`] does; an unusable value falls back to its default. It is
    /// a list of what to keep, so a setting added later stays at its default on import
    /// until it is listed here.
    pub(crate) fn from_import(imported: &ProfileConfig) -> ImportedSettings {
        let defaults = ProfileConfig::default();
        let mut config = ProfileConfig {
            excludes: imported.excludes.clone(),
            max_file_bytes: imported.max_file_bytes,
            index_threads: imported.index_threads,
            limits: imported.limits,
            fetch_interval_mins: imported.fetch_interval_mins,
            watch_debounce_ms: imported.watch_debounce_ms,
            // The named editors run a fixed program; a custom one runs the file's command.
            editor: match imported.editor {
                EditorKind::Custom => defaults.editor,
                preset => preset,
            },
            snapshots_kept: imported.snapshots_kept,
            snapshots_on_battery: imported.snapshots_on_battery,
            ..defaults.clone()
        };
        let mut reset_for_safety = changed_settings(imported, &config);
        // Grants in the name-keyed form of earlier releases are read but never written, so
        // the comparison above cannot see them: name them too.
        if !imported.legacy_link_open_repos.is_empty() {
            reset_for_safety.push("link_open_repos".to_string());
        }
        let mut reset_as_invalid = Vec::new();
        for problem in config.problems() {
            reset_as_invalid.push(problem.message);
            match problem.setting {
                "excludes" => {
                    config.excludes.retain(|p| check_exclude(p).is_ok());
                    config.excludes.truncate(MAX_EXCLUDES);
                }
                "max_file_bytes" => config.max_file_bytes = defaults.max_file_bytes,
                "index_threads" => config.index_threads = defaults.index_threads,
                "fetch_interval_mins" => config.fetch_interval_mins = defaults.fetch_interval_mins,
                "watch_debounce_ms" => config.watch_debounce_ms = defaults.watch_debounce_ms,
                "snapshots_kept" => config.snapshots_kept = defaults.snapshots_kept,
                // Everything else was never taken over (see above).
                _ => {}
            }
        }
        ImportedSettings {
            config,
            reset_for_safety,
            reset_as_invalid,
        }
    }

    /// Threads for indexing the user waits for (`ferret index`, `ferret repo add` in a
    /// terminal): `index_threads` if set, else every core.
    pub fn foreground_threads(&self) -> usize {
        if self.index_threads > 0 {
            return self.index_threads;
        }
        std::thread::available_parallelism().map_or(2, |n| n.get())
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

/// Largest `max_file_bytes`: files are read whole to be chunked.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;
/// Largest `index_threads`.
pub const MAX_INDEX_THREADS: usize = 1024;
/// Largest `fetch_interval_mins`: a year.
pub const MAX_FETCH_INTERVAL_MINS: u64 = 365 * 24 * 60;
/// Largest `watch_debounce_ms`: ten minutes.
pub const MAX_WATCH_DEBOUNCE_MS: u64 = 10 * 60 * 1000;
/// Largest `snapshots_kept`: a year of daily copies.
pub const MAX_SNAPSHOTS_KEPT: u64 = 365;
/// Most `excludes` patterns.
pub const MAX_EXCLUDES: usize = 10_000;

/// One setting that cannot be used, and why (a message naming it).
struct SettingProblem {
    setting: &'static str,
    message: String,
}

/// What [`ProfileConfig::from_import`] kept and what it did not.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImportedSettings {
    pub config: ProfileConfig,
    /// Settings the file set that an import never takes over, by their `config.json` name.
    pub reset_for_safety: Vec<String>,
    /// Settings whose value could not be used, each a message naming it.
    pub reset_as_invalid: Vec<String>,
}

/// The names of the top-level `config.json` settings whose value differs between `a` and `b`.
fn changed_settings(a: &ProfileConfig, b: &ProfileConfig) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(name, value)| *name != "format_version" && b.get(*name) != Some(value))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Whether `pattern` works as one gitignore-style exclude line.
fn check_exclude(pattern: &str) -> std::result::Result<(), String> {
    if pattern.len() > 4096 || pattern.contains(['\n', '\r', '\0']) {
        return Err("it must be one line of at most 4096 bytes".into());
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
    builder.add_line(None, pattern).map_err(|e| e.to_string())?;
    builder.build().map(|_| ()).map_err(|e| e.to_string())
}

/// The `format_version` of a config file that does not parse as this build's config, when
/// it is newer than this build knows.
fn newer_format(bytes: &[u8]) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let version = u32::try_from(value.get("format_version")?.as_u64()?).ok()?;
    (version > CONFIG_FORMAT).then_some(version)
}

fn refuse_newer(path: &Path, version: u32) -> Error {
    Error::Refused(format!(
        "{} was written by a newer Ferret (config format {version}; this one reads up to \
         {CONFIG_FORMAT}); upgrade Ferret to open this profile (the file is left as it is)",
        path.display()
    ))
}

/// Whether process `pid` exists (Linux: `/proc/<pid>`; elsewhere assumed alive, so nothing
/// that belongs to it is cleaned up by mistake).
pub(crate) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Marks this process as having the profile open (`open-<pid>-<n>.marker`), so the next open
/// can tell a clean close (marker removed) from a crash (marker of a dead process left).
pub(crate) struct OpenMarker {
    path: PathBuf,
}

impl OpenMarker {
    /// Places this process's marker; returns it and whether a process that had the
    /// profile open died without closing it (its markers are removed).
    pub(crate) fn place(paths: &ProfilePaths) -> Result<(OpenMarker, bool)> {
        let mut unclean = false;
        for entry in std::fs::read_dir(&paths.root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| {
                let rest = n.strip_prefix("open-")?.strip_suffix(".marker")?;
                rest.split('-').next()?.parse::<u32>().ok()
            });
            if let Some(pid) = pid {
                if pid != std::process::id() && !process_alive(pid) {
                    unclean = true;
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        // One marker per open engine: a process may hold one profile open twice.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = paths
            .root
            .join(format!("open-{}-{seq}.marker", std::process::id()));
        std::fs::write(&path, b"")
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok((OpenMarker { path }, unclean))
    }
}

impl Drop for OpenMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An exclusive claim on a profile for one job (index, clone, sync), held as an OS file lock
/// so it is released even when the process is killed. Two jobs on one profile would fight
/// over its vector file; deleting a profile mid-job would pull the floor from under it.
pub struct JobLock {
    _file: File,
}

impl JobLock {
    /// Takes the lock or fails at once, saying what holds it.
    pub fn acquire(paths: &ProfilePaths) -> Result<Self> {
        let path = paths.lock_file();
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(JobLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Refused(format!(
                "profile {:?} is busy: another Ferret process is indexing or syncing it; \
                 wait for it to finish (or stop it) and try again",
                paths.id
            ))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }

    /// True when some process holds the profile's job lock right now.
    pub fn is_held(paths: &ProfilePaths) -> bool {
        lock_is_held(&paths.lock_file())
    }
}

/// True when a process runs the profile's background jobs right now (the desktop app or
/// `ferret daemon` holds its runner lock, see `background::runner`).
pub fn runner_is_held(paths: &ProfilePaths) -> bool {
    lock_is_held(&paths.runner_lock_file())
}

/// Whether another open file description holds the OS lock on `path`.
fn lock_is_held(path: &Path) -> bool {
    let Ok(file) = File::options().write(true).open(path) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests;
