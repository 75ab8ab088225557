//! Ferret's engine: everything that indexes and searches code, with no GUI dependency.
//! The desktop shell (`src-tauri`) and the `ferret` CLI only translate arguments and render
//! results; every use case is one call on [`Engine`] (one open profile) or [`Profiles`]
//! (all of them).
//!
//! A map of the folders, in the order data flows through them (see `DESIGN.md` section 4):
//!
//! - [`pipeline`]: indexing, one module per stage. `walk` finds the files worth indexing,
//!   `chunk` cuts them into definitions with tree-sitter, `tokens` makes code-aware tokens
//!   for the lexical index, `embed` turns chunks into vectors (the model's graph is edited
//!   as it loads, `embed::onnx_graph`: lookup tables kept int8, `embed::gather_first`, and
//!   matmuls in int8 for the default version, `embed::int8_matmul`), `source` reads a chunk's
//!   text back from its file (checked against its hash), `run` drives a whole run, and
//!   `priority` runs background indexing at low CPU priority so searches come first.
//! - `store`: the profile's SQLite database, the source of truth (schema, repositories,
//!   chunks as byte ranges with FTS5, embeddings at 4 bits, jobs). Private to the engine.
//! - [`vectors`]: the vector index, built in memory from the stored embeddings.
//! - [`models`]: the catalogue of embedding model versions a profile switches between.
//! - [`search`]: a query is parsed (`search::query`), answered by both rankings, fused
//!   (`search::fusion`), filtered and given snippets (`search::snippet`).
//! - [`background`]: the job queue and its runner, and the watcher that turns saved files
//!   into index jobs (`background::watch`).
//! - [`remote`]: GitHub's REST API and git clones/fetches over smart HTTP.
//! - [`profiles`]: one isolated profile per user: registry, directories, limits, the pool of
//!   open profiles and the keychain (`profiles::secrets`).
//! - [`links`]: `ferret://` deep links and opening a hit in the user's editor.
//! - [`engine`]: the facade over all of the above for one profile.
//! - [`ipc`]: the profile's socket, over which a warm process (the app, `ferret daemon`)
//!   answers `ferret search`.
//! - `dev` (feature `dev`): `ferret bench` and `ferret eval`.
//! - [`about`]: the version, model and directories this build uses; [`memory`]: how the
//!   allocator is told to keep the footprint small.
//! - [`error`]: one error type whose kinds the UI can act on; [`redact`]: logging that never
//!   prints a token.

pub mod about;
pub mod background;
pub mod contract;
#[cfg(feature = "dev")]
pub mod dev;
pub mod engine;
pub mod error;
pub mod ipc;
pub mod links;
pub mod memory;
pub mod models;
pub mod pipeline;
pub mod profiles;
pub mod redact;
pub mod remote;
pub mod search;
pub(crate) mod store;
pub mod vectors;

pub use engine::{
    DiskBreakdown, Engine, EngineOptions, FileContext, ModelInfo, ModelStatus, ModelSwitch,
    RepoInfo, Stats, SyncReport, SyncRun, VectorIndexInfo,
};
pub use error::{Error, ErrorKind, ErrorReport, Result};
pub use pipeline::run::{IndexReport, Phase, Progress};
pub use profiles::manager::{
    AllStats, DeleteReport, LoginOutcome, ProfileStats, Profiles, ProfilesOptions,
};
pub use profiles::registry::{ProfileKind, ProfileRecord, ProfileStatus};
pub use search::{Highlight, SearchHit, SearchMode, SearchOptions, SearchResults};
