use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::server::{Handler, Server};
use super::*;
use crate::search::{SearchMode, SearchOptions};
use crate::ErrorKind;

fn hit(path: &str) -> SearchHit {
    serde_json::from_value(serde_json::json!({
        "repo": "r", "path": path, "language": "rust", "start_line": 1, "end_line": 3,
        "symbol": "f", "kind": "function", "score": 0.5, "snippet": "fn f() {}",
        "snippet_start_line": 1, "highlights": [], "lexical_rank": 1,
        "semantic_rank": null, "chunk_id": 9
    }))
    .expect("a SearchHit from JSON")
}

/// A handler that answers a search with one hit named after the query, and counts calls.
fn counting_handler() -> (Handler, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let handler: Handler = Arc::new(move |op| {
        counter.fetch_add(1, Ordering::SeqCst);
        match op {
            Op::Ping => Response::Pong {
                version: "test".into(),
                pid: 1,
            },
            Op::Search { query, .. } if query == "bad(" => Response::Error {
                error: ErrorReport {
                    kind: ErrorKind::InvalidInput,
                    message: "unbalanced".into(),
                },
            },
            Op::Search { query, limit, .. } => Response::Hits {
                hits: vec![hit(&format!("{query}-{limit}.rs"))],
                no_strong_match: query == "nowhere",
                evidence: None,
            },
        }
    });
    (handler, calls)
}

/// Writes raw lines and reads every response line until the server closes.
fn exchange(path: &Path, raw: &[u8]) -> Vec<serde_json::Value> {
    let mut stream = UnixStream::connect(path).unwrap();
    stream.write_all(raw).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    BufReader::new(stream)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

#[test]
fn searches_round_trip_over_one_connection_and_the_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SOCKET_FILE);
    let (handler, calls) = counting_handler();
    let server = Server::start(&path, peer::own_uid(), handler)
        .unwrap()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let opts = SearchOptions {
        limit: 7,
        mode: SearchMode::Lexical,
    };
    let found = client::search(&path, "parse", &opts).unwrap().unwrap();
    assert_eq!(found.hits[0].path, "parse-7.rs");
    assert!(!found.no_strong_match);
    let found = client::search(&path, "nowhere", &opts).unwrap().unwrap();
    assert!(found.no_strong_match, "the flag comes over the socket");
    // An error the handler reports comes back as that error, not as "no server".
    let err = client::search(&path, "bad(", &opts).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "unbalanced");

    // Several requests on one connection, answered in order.
    let replies = exchange(
        &path,
        b"{\"v\":1,\"op\":\"ping\"}\n{\"v\":1,\"op\":\"search\",\"query\":\"a\"}\n",
    );
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["type"], "pong");
    assert_eq!(replies[1]["hits"][0]["path"], "a-20.rs");
    assert_eq!(replies[1]["no_strong_match"], false);
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    drop(server);
    assert!(!path.exists(), "the socket file is removed at the end");
    assert!(client::search(&path, "parse", &opts).is_none());
}

#[test]
fn malformed_oversized_and_foreign_version_requests_get_an_error_and_the_door() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SOCKET_FILE);
    let (handler, calls) = counting_handler();
    let _server = Server::start(&path, peer::own_uid(), handler)
        .unwrap()
        .unwrap();

    // Not JSON: one error, then the connection closes (the second line is never read).
    let replies = exchange(&path, b"GET / HTTP/1.1\n{\"v\":1,\"op\":\"ping\"}\n");
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["type"], "error");
    assert_eq!(replies[0]["error"]["kind"], "invalid_input");
    assert!(replies[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("malformed request"));

    // JSON, but not a request this protocol knows.
    let replies = exchange(&path, b"{\"v\":1,\"op\":\"delete_everything\"}\n");
    assert_eq!(replies[0]["error"]["kind"], "invalid_input");
    let replies = exchange(&path, b"{\"v\":99,\"op\":\"ping\"}\n");
    assert!(replies[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("protocol version 99"));

    // A line longer than the limit is refused without reading it all into memory.
    let mut huge = b"{\"v\":1,\"op\":\"search\",\"query\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', MAX_REQUEST_BYTES + 10));
    huge.extend(b"\"}\n");
    let replies = exchange(&path, &huge);
    assert!(replies[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("longer than"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no bad request reached the handler"
    );
}

#[test]
fn another_users_connection_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SOCKET_FILE);
    let (handler, calls) = counting_handler();
    // The server answers only a user this test is not.
    let other = peer::own_uid().wrapping_add(1);
    let _server = Server::start(&path, other, handler).unwrap().unwrap();
    let replies = exchange(&path, b"{\"v\":1,\"op\":\"ping\"}\n");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["error"]["kind"], "refused");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_live_server_is_left_alone_and_a_stale_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SOCKET_FILE);
    let (handler, _) = counting_handler();
    let first = Server::start(&path, peer::own_uid(), handler.clone())
        .unwrap()
        .unwrap();
    assert!(
        Server::start(&path, peer::own_uid(), handler.clone())
            .unwrap()
            .is_none(),
        "a second process does not steal a live socket"
    );
    drop(first);

    // A crashed process leaves its socket file behind; nobody listens on it.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert!(client::search(&path, "q", &SearchOptions::default()).is_none());
    let _second = Server::start(&path, peer::own_uid(), handler)
        .unwrap()
        .unwrap();
    let found = client::search(&path, "q", &SearchOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(found.hits.len(), 1);
}

/// A daemon of an earlier version answers with the hits only: they are read, and the
/// flag it never sent reads as false.
#[test]
fn an_older_daemons_answer_without_the_flag_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SOCKET_FILE);
    let listener = UnixListener::bind(&path).unwrap();
    let old = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut request = String::new();
        BufReader::new(&stream).read_line(&mut request).unwrap();
        let answer = serde_json::json!({"type": "hits", "hits": [hit("old.rs")]});
        (&stream)
            .write_all(format!("{answer}\n").as_bytes())
            .unwrap();
        request
    });
    let found = client::search(&path, "q", &SearchOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(found.hits[0].path, "old.rs");
    assert!(!found.no_strong_match);
    assert!(found.evidence.is_none());
    assert!(old.join().unwrap().contains("\"op\":\"search\""));
}

/// A request that panics in the handler ends its connection, and its connection slot is
/// given back: more such requests than there are slots leave the server answering.
#[test]
fn a_panicking_request_gives_its_connection_slot_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SOCKET_FILE);
    let handler: Handler = Arc::new(|op| match op {
        Op::Search { .. } => panic!("a bug in a search"),
        Op::Ping => Response::Pong {
            version: "test".into(),
            pid: 1,
        },
    });
    let _server = Server::start(&path, peer::own_uid(), handler)
        .unwrap()
        .unwrap();
    let ask = |line: &[u8]| {
        let mut stream = UnixStream::connect(&path).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(line).unwrap();
        let mut reply = String::new();
        let read = BufReader::new(stream).read_line(&mut reply);
        (read.is_ok(), reply)
    };
    for _ in 0..server::MAX_CONNECTIONS + 2 {
        let (closed, reply) = ask(b"{\"v\":1,\"op\":\"search\",\"query\":\"x\"}\n");
        assert!(
            closed && reply.is_empty(),
            "the connection just ends: {reply:?}"
        );
    }
    let (answered, reply) = ask(b"{\"v\":1,\"op\":\"ping\"}\n");
    assert!(answered && reply.contains("pong"), "no answer: {reply:?}");
}
