//! Answers from a warm process: a local socket in the profile directory over which
//! `ferret search` asks the desktop app or `ferret daemon`, when one of them is running for
//! the profile, instead of opening the index and loading the model itself.
//!
//! A whole-process `ferret search` spends almost all its time getting ready: opening the
//! database and the vector file, starting ONNX Runtime and loading the model (about 250 ms
//! for a hybrid search on a small repository, 400 ms on a big one), against 5-15 ms for the
//! search itself. A process that already holds all of that answers in the time of the search.
//!
//! The socket (`<profile dir>/ferret.sock`, mode 0600 in a 0700 directory) speaks one JSON
//! object per line each way ([`Request`], [`Response`]), several requests per connection.
//! The server checks the peer's user id (`SO_PEERCRED`) before reading a byte: only the
//! profile's owner is answered. A malformed or oversized request gets an error response and
//! the connection is closed. Unix only; elsewhere every search runs in-process.

#[cfg(unix)]
pub mod client;
#[cfg(unix)]
pub(crate) mod peer;
#[cfg(unix)]
pub mod server;
#[cfg(all(test, unix))]
mod tests;

use serde::{Deserialize, Serialize};

use crate::search::confidence::Evidence;
use crate::search::{SearchHit, SearchMode};
use crate::ErrorReport;

/// The protocol's version; a request from another version is refused with a clear error.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request line the server reads; a query is short, so anything longer is a
/// mistake or an attack and is refused.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The socket's file name in the profile directory.
pub const SOCKET_FILE: &str = "ferret.sock";

/// One request line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// [`PROTOCOL_VERSION`] of the client.
    pub v: u32,
    #[serde(flatten)]
    pub op: Op,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Is anyone there, and which version?
    Ping,
    /// The same search `Engine::search` runs.
    Search {
        query: String,
        #[serde(default)]
        mode: SearchMode,
        #[serde(default = "default_limit")]
        limit: usize,
    },
}

fn default_limit() -> usize {
    20
}

/// One response line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Pong {
        version: String,
        pid: u32,
    },
    Hits {
        hits: Vec<SearchHit>,
        /// `Engine::search`'s "no strong match" flag. An older daemon's answer has only the
        /// hits: read as false (it never said so).
        #[serde(default)]
        no_strong_match: bool,
        /// What that decision read (`ferret search --explain`); absent from an older
        /// daemon's answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<Evidence>,
    },
    Error {
        error: ErrorReport,
    },
}
