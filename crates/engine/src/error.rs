//! The engine's one error type. Every variant's message says what went wrong *and* what the
//! user can do about it, because the CLI prints it as is and the desktop app shows it verbatim.

use std::path::PathBuf;

/// Errors the engine reports to its callers (CLI, desktop shell).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("database {path}: {message}")]
    Database { path: PathBuf, message: String },

    /// A write failed because the file system is full (SQLITE_FULL, ENOSPC). Every batch
    /// committed before it is kept, so running the same command again continues.
    #[error(
        "disk full while writing {what}: free space and run the same command again; \
         everything indexed so far is kept"
    )]
    DiskFull { what: String },

    #[error("embedding model: {0}")]
    Model(String),

    #[error("vector index {path}: {message}")]
    VectorIndex { path: PathBuf, message: String },

    #[error("{0}")]
    InvalidInput(String),

    #[error("{0}")]
    NotFound(String),

    #[error("interrupted; run the same command again to continue where it stopped")]
    Interrupted,

    /// The OS keychain (Secret Service on Linux) failed; the message says how to fix it.
    #[error("keychain: {0}")]
    Keychain(String),

    /// A GitHub API call failed; the message is complete (status, reason, what to do).
    #[error("{0}")]
    GitHub(String),

    /// A git clone, fetch or diff failed; the message says which repository and why.
    #[error("git: {0}")]
    Git(String),

    /// A per-profile limit (repos, chunks, bytes) would be exceeded; names limit and usage.
    #[error("{0}")]
    Limit(String),

    /// The operation is not allowed now (read-only profile, a running job, ...).
    #[error("{0}")]
    Refused(String),

    /// The user cancelled a long operation; nothing half-made was left behind.
    #[error("cancelled; nothing was changed")]
    Cancelled,
}

/// Shorthand used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with a sentence saying what the engine was doing. A full disk
    /// becomes [`Error::DiskFull`], naming what was being written.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        let context = context.into();
        if is_disk_full(&source) {
            let what = [
                "cannot write ",
                "cannot replace ",
                "cannot create ",
                "cannot sync ",
            ]
            .iter()
            .find_map(|prefix| context.strip_prefix(prefix))
            .unwrap_or(&context)
            .to_string();
            return Error::DiskFull { what };
        }
        Error::Io { context, source }
    }

    /// Whether this is a full disk (the user frees space and runs the command again).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::DiskFull { .. })
    }
}

/// ENOSPC (and EDQUOT, a full quota, which the user resolves the same way).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(ENOSPC) | Some(EDQUOT))
}
