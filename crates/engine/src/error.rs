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
}

/// Shorthand used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with a sentence saying what the engine was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
