//! The warm process's side: accepts connections on the profile's socket and answers each
//! request line with the engine.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{peer, Op, Request, Response, MAX_REQUEST_BYTES, PROTOCOL_VERSION};
use crate::search::SearchOptions;
use crate::{Engine, Error, ErrorKind, ErrorReport, Result};

/// Answers one request. The engine's is [`engine_handler`]; tests plug in their own.
pub type Handler = Arc<dyn Fn(Op) -> Response + Send + Sync>;

/// Connections served at once; more wait in the kernel's backlog until one ends.
pub(super) const MAX_CONNECTIONS: usize = 32;
/// A connection with no request for this long is closed (clients reconnect cheaply).
const IDLE: Duration = Duration::from_secs(30);
/// How often a connection thread looks at the stop flag while waiting for a request.
const POLL: Duration = Duration::from_millis(250);

/// A running socket server; dropping it stops it and removes its socket file.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// The socket file's inode, so only our own file is removed at the end (a later
    /// process may have replaced a stale one).
    inode: u64,
}

/// Answers requests with `engine`: searches exactly as `Engine::search` runs them.
pub fn engine_handler(engine: Arc<Engine>) -> Handler {
    Arc::new(move |op| match op {
        Op::Ping => Response::Pong {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
        },
        Op::Search { query, mode, limit } => {
            match engine.search(&query, &SearchOptions { limit, mode }) {
                Ok(found) => Response::Hits {
                    hits: found.hits,
                    no_strong_match: found.no_strong_match,
                    evidence: found.evidence,
                },
                Err(e) => Response::Error {
                    error: ErrorReport::from(&e),
                },
            }
        }
    })
}

impl Server {
    /// Serves `engine` at `path` for this user. `Ok(None)` when a live process already
    /// serves it (the app and `ferret daemon` on one profile: the first one answers).
    pub fn start_for_engine(engine: Arc<Engine>, path: &Path) -> Result<Option<Server>> {
        Server::start(path, peer::own_uid(), engine_handler(engine))
    }

    /// Serves `handler` at `path`, answering only peers running as `allowed_uid`.
    pub fn start(path: &Path, allowed_uid: u32, handler: Handler) -> Result<Option<Server>> {
        let io = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                log::info!("{} is served by another process", path.display());
                return Ok(None);
            }
            // Left by a process that ended without cleaning up.
            std::fs::remove_file(path).map_err(|e| io("cannot remove the stale socket", e))?;
        }
        let listener = UnixListener::bind(path).map_err(|e| io("cannot listen on", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io("cannot protect", e))?;
        let inode = inode_of(path).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("ferret-socket".into())
                .spawn(move || accept_loop(listener, allowed_uid, handler, stop))
                .map_err(|e| Error::io("cannot start the socket thread", e))?
        };
        log::info!("answering searches on {}", path.display());
        Ok(Some(Server {
            path: path.to_path_buf(),
            stop,
            accept: Some(accept),
            inode,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        if inode_of(&self.path) == Some(self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn inode_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

fn accept_loop(listener: UnixListener, allowed_uid: u32, handler: Handler, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        while active.load(Ordering::SeqCst) >= MAX_CONNECTIONS && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let slot = ConnectionSlot::take(&active);
        let (handler, stop) = (handler.clone(), stop.clone());
        // A thread that cannot start drops its closure, and the slot with it.
        let _ = std::thread::Builder::new()
            .name("ferret-socket-conn".into())
            .spawn(move || {
                let _slot = slot;
                serve(stream, allowed_uid, &handler, &stop);
            });
    }
}

/// One of the [`MAX_CONNECTIONS`] slots, held by a connection's thread and given back when
/// it is dropped: also when the thread unwinds from a panic in a request, which would
/// otherwise keep the slot forever, and after [`MAX_CONNECTIONS`] such requests the server
/// would accept no connection again.
struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    fn take(active: &Arc<AtomicUsize>) -> ConnectionSlot {
        active.fetch_add(1, Ordering::SeqCst);
        ConnectionSlot(active.clone())
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn error_response(kind: ErrorKind, message: String) -> Response {
    Response::Error {
        error: ErrorReport { kind, message },
    }
}

fn send(stream: &mut UnixStream, response: &Response) -> bool {
    let Ok(mut line) = serde_json::to_vec(response) else {
        return false;
    };
    line.push(b'\n');
    stream.write_all(&line).and_then(|_| stream.flush()).is_ok()
}

/// Ends a connection after a final error so the client reads it: closing a Unix socket
/// with unread input resets it, and the client would see "connection reset" instead of the
/// reason. What is left of the input is discarded, a bounded amount for a moment.
fn close_after_error(mut stream: UnixStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = std::io::copy(&mut (&mut stream).take(1 << 20), &mut std::io::sink());
}

/// One connection: the peer is checked first, then each request line is answered.
fn serve(mut stream: UnixStream, allowed_uid: u32, handler: &Handler, stop: &AtomicBool) {
    match peer::peer_uid(&stream) {
        Ok(uid) if uid == allowed_uid => {}
        Ok(uid) => {
            log::warn!("refused a socket connection from user {uid}");
            send(
                &mut stream,
                &error_response(
                    ErrorKind::Refused,
                    format!("this socket answers only user {allowed_uid}"),
                ),
            );
            close_after_error(stream);
            return;
        }
        Err(e) => {
            log::warn!("cannot identify a socket peer ({e}); closing");
            return;
        }
    }
    let _ = stream.set_read_timeout(Some(POLL));
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut last = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let room = (MAX_REQUEST_BYTES + 1).saturating_sub(line.len()) as u64;
        match (&mut reader).take(room).read_until(b'\n', &mut line) {
            Ok(0) if line.is_empty() => return, // the client closed the connection
            Ok(_) if line.last() == Some(&b'\n') => {
                let (response, fatal) = answer(&line, handler);
                if !send(&mut stream, &response) {
                    return;
                }
                if fatal {
                    close_after_error(stream);
                    return;
                }
                line.clear();
                last = Instant::now();
            }
            Ok(_) if line.len() > MAX_REQUEST_BYTES => {
                send(
                    &mut stream,
                    &error_response(
                        ErrorKind::InvalidInput,
                        format!("request longer than {MAX_REQUEST_BYTES} bytes"),
                    ),
                );
                close_after_error(stream);
                return;
            }
            Ok(_) => return, // end of stream in the middle of a line
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if last.elapsed() > IDLE {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// The response to one request line, and whether the connection ends after it: a line
/// that is not a request of this protocol gets an `invalid_input` error and is the last.
fn answer(line: &[u8], handler: &Handler) -> (Response, bool) {
    let request: Request = match serde_json::from_slice(line) {
        Ok(request) => request,
        Err(e) => {
            let message = format!("malformed request ({e}); expected one JSON object per line");
            return (error_response(ErrorKind::InvalidInput, message), true);
        }
    };
    if request.v != PROTOCOL_VERSION {
        let message = format!(
            "protocol version {} is not supported (this process speaks {PROTOCOL_VERSION})",
            request.v
        );
        return (error_response(ErrorKind::InvalidInput, message), true);
    }
    (handler(request.op), false)
}
