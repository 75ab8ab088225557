//! Ferret's engine: everything that indexes and searches code, with no GUI dependency.
//!
//! The pipeline is a chain of small modules, one per stage (see `DESIGN.md` section 4):
//! [`walk`] finds the files worth indexing, [`chunk`] cuts them into definitions with
//! tree-sitter, [`store`] keeps everything in SQLite (the source of truth, with FTS5 for
//! lexical search), [`embed`] turns chunks into vectors locally with a model version from
//! [`models`] (the catalogue a profile switches between), [`vectors`] keeps the derived
//! usearch index, [`index`] drives the whole run and [`search`] answers queries by fusing
//! the lexical and semantic rankings. [`profiles`] keeps users apart: one registry of
//! profiles, each with its own directory, limits and status, and an LRU pool of open ones;
//! [`secrets`] keeps tokens in the OS keychain; [`github`] and [`git`] list and clone a
//! user's GitHub repositories.

pub mod background;
pub mod bench;
pub mod chunk;
pub mod deeplink;
pub mod editor;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod git;
pub mod github;
pub mod index;
pub mod jobs;
pub mod models;
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

pub use engine::{
    Engine, EngineOptions, FileContext, ModelInfo, ModelStatus, ModelSwitch, RepoInfo, Stats,
    SyncReport,
};
pub use error::{Error, Result};
pub use index::{IndexReport, Phase, Progress};
pub use profiles::manager::{
    AllStats, DeleteReport, LoginOutcome, ProfileStats, Profiles, ProfilesOptions,
};
pub use profiles::registry::{ProfileKind, ProfileRecord, ProfileStatus};
pub use search::{Highlight, SearchHit, SearchMode, SearchOptions};
