//! Ferret's engine: everything that indexes and searches code, with no GUI dependency.
//!
//! The pipeline is a chain of small modules, one per stage (see `DESIGN.md` section 4):
//! [`walk`] finds the files worth indexing, [`chunk`] cuts them into definitions with
//! tree-sitter, [`store`] keeps everything in SQLite (the source of truth, with FTS5 for
//! lexical search), [`embed`] turns chunks into vectors locally, [`vectors`] keeps the derived
//! usearch index, [`index`] drives the whole run and [`search`] answers queries by fusing
//! the lexical and semantic rankings. [`profiles`] decides where a profile lives on disk.

pub mod bench;
pub mod chunk;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod git;
pub mod github;
pub mod index;
pub mod profiles;
pub mod query;
pub mod redact;
pub mod search;
pub mod secrets;
pub mod store;
pub mod tokens;
pub mod vectors;
pub mod walk;
pub mod watch;

pub use engine::{Engine, EngineOptions, RepoInfo, Stats};
pub use error::{Error, Result};
pub use index::{IndexReport, Phase, Progress};
pub use search::{Highlight, SearchHit, SearchMode, SearchOptions};
