//! The asking side: `ferret search` tries the profile's socket first and runs the search
//! in-process only when nobody answers.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::{Op, Request, Response, PROTOCOL_VERSION};
use crate::search::{SearchOptions, SearchResults};
use crate::{Error, Result};

/// How long to wait for an answer before giving up on the warm process (it may be stuck)
/// and searching in-process instead.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one request and reads its response; `None` when no process answers at `socket`
/// (no file, nobody listening, a closed connection, a garbled or late reply).
pub fn ask(socket: &Path, op: Op) -> Option<Response> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).ok()?;
    let mut line = serde_json::to_vec(&Request {
        v: PROTOCOL_VERSION,
        op,
    })
    .ok()?;
    line.push(b'\n');
    stream.write_all(&line).ok()?;
    let mut reply = Vec::new();
    BufReader::new(stream)
        .read_until(b'\n', &mut reply)
        .map_err(|e| log::warn!("no answer on {} ({e}); searching here", socket.display()))
        .ok()?;
    serde_json::from_slice(&reply)
        .map_err(|e| log::warn!("garbled answer on {} ({e})", socket.display()))
        .ok()
}

/// The search answered by the warm process serving `socket`: `None` when there is none
/// (search in-process), else exactly what `Engine::search` returns there, errors included.
pub fn search(socket: &Path, query: &str, opts: &SearchOptions) -> Option<Result<SearchResults>> {
    let op = Op::Search {
        query: query.to_string(),
        mode: opts.mode,
        limit: opts.limit,
    };
    match ask(socket, op)? {
        Response::Hits {
            hits,
            no_strong_match,
            evidence,
        } => Some(Ok(SearchResults {
            hits,
            no_strong_match,
            evidence,
        })),
        Response::Error { error } => Some(Err(Error::Reported {
            kind: error.kind,
            message: error.message,
        })),
        Response::Pong { .. } => None,
    }
}
