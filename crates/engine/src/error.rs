//! The engine's one error type. Every variant's message says what went wrong *and* what the
//! user can do about it, because the CLI prints it as is and the desktop app shows it
//! verbatim; every error also has a stable [`ErrorKind`] so a caller can act on the cause
//! (the app shows kind-specific help, scripts read it from `--json` output) without parsing
//! text. Errors from libraries are kept as `#[source]`, so a log or a debugger sees the
//! whole chain.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What kind of failure an [`Error`] is, as the UI and scripts see it (`snake_case` in
/// JSON). Stable: new kinds may be added, existing names never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The disk (or quota) is full: free space and run the same thing again.
    DiskFull,
    /// Not allowed now: a read-only or paused profile, a running job, a refused link.
    Refused,
    /// The user cancelled; nothing half-made was left behind.
    Cancelled,
    /// Stopped early (shutdown, pause); running again continues where it stopped.
    Interrupted,
    /// A repository, profile, job or file that does not exist (or is not visible).
    NotFound,
    /// The request itself is wrong: a bad name, query, path or setting.
    InvalidInput,
    /// A token was rejected or is missing: sign in again with a new one.
    Auth,
    /// GitHub's API rate limit: wait for the reset time the message names.
    RateLimited,
    /// A server could not be reached or answered something unreadable.
    Network,
    /// A file Ferret keeps is damaged; the message says how to recover.
    Corrupt,
    /// Another process holds the database or the profile; try again in a moment.
    Busy,
    /// A profile limit (repositories, chunks, bytes) would be exceeded.
    Limit,
    /// The embedding model's files are missing, wrong, or failed to load.
    Model,
    /// The OS keychain failed.
    Keychain,
    /// A git operation failed for a reason not covered above.
    Git,
    /// Any other I/O or database failure.
    Io,
}

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
    Database {
        path: PathBuf,
        message: String,
        /// [`ErrorKind::Corrupt`], [`ErrorKind::Busy`], [`ErrorKind::Refused`] (a newer
        /// schema) or [`ErrorKind::Io`].
        kind: ErrorKind,
        #[source]
        source: Option<rusqlite::Error>,
    },

    /// A write failed because the file system is full (SQLITE_FULL, ENOSPC). Every batch
    /// committed before it is kept, so running the same command again continues.
    #[error(
        "disk full ({what}): free space and run the same command again; everything indexed \
         so far is kept"
    )]
    DiskFull {
        /// What was being written when the disk filled up.
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    #[error("embedding model: {0}")]
    Model(String),

    #[error("vector index: {0}")]
    VectorIndex(String),

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
    #[error("{message}")]
    GitHub { kind: ErrorKind, message: String },

    /// A git clone, fetch or diff failed; the message says which repository and why.
    #[error("git: {message}")]
    Git { kind: ErrorKind, message: String },

    /// A per-profile limit (repos, chunks, bytes) would be exceeded; names limit and usage.
    #[error("{0}")]
    Limit(String),

    /// The operation is not allowed now (read-only profile, a running job, ...).
    #[error("{0}")]
    Refused(String),

    /// The user cancelled a long operation; nothing half-made was left behind.
    #[error("cancelled; nothing was changed")]
    Cancelled,

    /// An error another Ferret process reported for us (the warm process that answered a
    /// search over the profile's socket, see [`crate::ipc`]): its kind and message as sent.
    #[error("{message}")]
    Reported { kind: ErrorKind, message: String },
}

/// Shorthand used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as the desktop UI receives it from a failed command: the kind to act on and
/// the message to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorReport {
    pub kind: ErrorKind,
    pub message: String,
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> Self {
        ErrorReport {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<Error> for ErrorReport {
    fn from(e: Error) -> Self {
        ErrorReport::from(&e)
    }
}

impl Error {
    /// Wraps an I/O error with a sentence saying what the engine was doing. A full disk
    /// becomes [`Error::DiskFull`], keeping that sentence and the I/O error.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        let context = context.into();
        if is_disk_full(&source) {
            return Error::DiskFull {
                what: context,
                source: Some(Box::new(source)),
            };
        }
        Error::Io { context, source }
    }

    /// A failed GitHub API call of `kind` (auth, rate limit, network, ...).
    pub fn github(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error::GitHub {
            kind,
            message: message.into(),
        }
    }

    /// A failed git operation; `kind` is [`ErrorKind::Git`] unless the cause is known to
    /// be a rejected token, an unreachable server or a missing repository.
    pub fn git(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error::Git {
            kind,
            message: message.into(),
        }
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::Refused,
                _ => ErrorKind::Io,
            },
            Error::Database { kind, .. } => *kind,
            Error::DiskFull { .. } => ErrorKind::DiskFull,
            Error::Model(_) => ErrorKind::Model,
            Error::VectorIndex(_) => ErrorKind::Corrupt,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Interrupted => ErrorKind::Interrupted,
            Error::Keychain(_) => ErrorKind::Keychain,
            Error::GitHub { kind, .. } | Error::Git { kind, .. } => *kind,
            Error::Limit(_) => ErrorKind::Limit,
            Error::Refused(_) => ErrorKind::Refused,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Reported { kind, .. } => *kind,
        }
    }

    /// Whether this is a full disk (the user frees space and runs the command again).
    pub fn is_disk_full(&self) -> bool {
        self.kind() == ErrorKind::DiskFull
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_full_disk_keeps_what_was_written_and_the_os_error() {
        let e = Error::io(
            "cannot write /data/meta.sqlite-wal",
            std::io::Error::from_raw_os_error(28),
        );
        assert_eq!(e.kind(), ErrorKind::DiskFull);
        assert!(
            e.to_string().contains("cannot write /data/meta.sqlite-wal"),
            "{e}"
        );
        assert!(e.source().is_some(), "the OS error stays attached");
    }

    #[test]
    fn kinds_serialize_as_stable_snake_case_names() {
        let report = ErrorReport::from(Error::github(ErrorKind::RateLimited, "wait"));
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"kind":"rate_limited","message":"wait"}"#
        );
        let missing = Error::io("open", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(Error::Cancelled.kind(), ErrorKind::Cancelled);
    }
}
