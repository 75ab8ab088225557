//! A real smart-HTTP git server for tests: git's own `git http-backend` (CGI) behind a small
//! std-only HTTP/1.1 server on `127.0.0.1:0`, with HTTP Basic auth on a token, plus helpers to
//! make bare repositories and push commits to them.
//!
//! The server answers every request without credentials, or with the wrong password, with
//! `401` and `WWW-Authenticate: Basic`, which is what makes libgit2 call the credential
//! callback. It runs one thread per connection, supports keep-alive and chunked request
//! bodies, passes gzip bodies through to the CGI, and stops when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, RepositoryInitOptions, Signature};

/// A running git server; stops when dropped.
pub struct GitServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    root: PathBuf,
    token: String,
    backend: PathBuf,
    requests: AtomicUsize,
    stop: AtomicBool,
}

impl GitServer {
    /// Serves the bare repositories under `root` (`<root>/<owner>/<name>.git`); clients must
    /// send HTTP Basic auth with any user name and `token` as the password.
    pub fn start(root: &Path, token: &str) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the git test server");
        let addr = listener.local_addr().expect("server address");
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            token: token.to_string(),
            backend: http_backend().to_path_buf(),
            requests: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn_shared = Arc::clone(&accept_shared);
                std::thread::spawn(move || {
                    if let Err(e) = serve_connection(stream, &conn_shared) {
                        if e.kind() != std::io::ErrorKind::WouldBlock
                            && e.kind() != std::io::ErrorKind::TimedOut
                            && !conn_shared.stop.load(Ordering::SeqCst)
                        {
                            eprintln!("git test server: connection error: {e}");
                        }
                    }
                });
            }
        });
        GitServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// The clone URL of `repo` (`"owner/name"`), e.g. `http://127.0.0.1:PORT/owner/name.git`.
    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}.git", self.addr)
    }

    /// How many HTTP requests the server has received (including rejected ones).
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// The `git-http-backend` of the first git (on PATH, /usr/local, /usr) whose exec path has it.
fn http_backend() -> &'static Path {
    static BACKEND: OnceLock<PathBuf> = OnceLock::new();
    BACKEND.get_or_init(|| {
        for git in ["git", "/usr/local/bin/git", "/usr/bin/git"] {
            let Ok(out) = Command::new(git).arg("--exec-path").output() else {
                continue;
            };
            if !out.status.success() {
                continue;
            }
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let backend = Path::new(&dir).join("git-http-backend");
            if backend.is_file() {
                return backend;
            }
        }
        panic!("no git-http-backend found (install git, which ships it in `git --exec-path`)");
    })
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let peer = stream.peer_addr()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let Some(request) = read_request(&mut reader)? else {
            return Ok(());
        };
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let close = request
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        match authorized_user(&request, &shared.token) {
            Some(user) => {
                let response = run_backend(shared, &request, &user, &peer);
                writer.write_all(&response)?;
            }
            None => {
                let body = b"authentication required\n";
                write!(
                    writer,
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ferret-test\"\r\n\
                     Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )?;
                writer.write_all(body)?;
            }
        }
        writer.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// Reads one request; `None` at end of stream.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(bad_request("malformed request line"));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut request = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: HashMap::new(),
        body: Vec::new(),
    };
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Err(bad_request("connection closed inside the headers"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            request
                .headers
                .insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        request.body = read_chunked(reader)?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| bad_request("bad Content-Length"))?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(Some(request))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| bad_request("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn bad_request(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

/// The user name when the request carries Basic auth with the right token as password.
fn authorized_user(request: &Request, token: &str) -> Option<String> {
    let value = request.header("authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (password == token).then(|| user.to_string())
}

/// Standard base64 (with optional padding); `None` on any invalid character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Runs `git http-backend` for one request and returns the whole HTTP response.
fn run_backend(shared: &Shared, request: &Request, user: &str, peer: &SocketAddr) -> Vec<u8> {
    let mut command = Command::new(&shared.backend);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_TYPE", request.header("content-type").unwrap_or(""))
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", peer.ip().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(protocol) = request.header("git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    if let Some(encoding) = request.header("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return plain_response(500, &format!("cannot run git-http-backend: {e}")),
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let body = request.body.clone();
    // Feed the body from another thread so a large body and a large reply cannot deadlock.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = match child.wait_with_output() {
        Ok(output) => output,
        Err(e) => return plain_response(500, &format!("git-http-backend failed: {e}")),
    };
    let _ = feeder.join();
    cgi_to_http(&output.stdout).unwrap_or_else(|| {
        plain_response(
            500,
            &format!(
                "git-http-backend gave no valid reply: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    })
}

/// Turns CGI output (headers, blank line, body) into an HTTP/1.1 response.
fn cgi_to_http(output: &[u8]) -> Option<Vec<u8>> {
    let (head_end, body_start) = find(output, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(output, b"\n\n").map(|i| (i, i + 2)))?;
    let head = std::str::from_utf8(&output[..head_end]).ok()?;
    let body = &output[body_start..];
    let mut status = "200 OK".to_string();
    let mut headers = String::new();
    for line in head.lines() {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            status = value.to_string();
        } else if !name.eq_ignore_ascii_case("content-length") {
            headers.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let mut response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    Some(response)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn plain_response(code: u16, message: &str) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {code} Error\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        message.len()
    )
    .into_bytes();
    response.extend_from_slice(message.as_bytes());
    response
}

/// Creates `<root>/<owner>/<name>.git`, a bare repository with one commit on `main` holding
/// `files` (`(path, content)`, paths may contain `/`). Returns its path.
pub fn make_bare_repo(root: &Path, owner: &str, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let bare = root.join(owner).join(format!("{name}.git"));
    let mut options = RepositoryInitOptions::new();
    options.bare(true).initial_head("main");
    Repository::init_opts(&bare, &options).expect("init bare repository");
    let files: Vec<(&str, Option<&str>)> = files.iter().map(|(p, c)| (*p, Some(*c))).collect();
    commit_on(&bare, "main", &files, "initial commit", false);
    bare
}

/// Adds a commit on `main` of the bare repository: `Some` writes a file, `None` deletes it.
/// Returns the new commit id (hex).
pub fn push_commit(bare: &Path, files: &[(&str, Option<&str>)], message: &str) -> String {
    commit_on(bare, "main", files, message, false)
}

/// Adds a commit on `branch` (created from `main` when it does not exist yet).
pub fn push_commit_to(
    bare: &Path,
    branch: &str,
    files: &[(&str, Option<&str>)],
    message: &str,
) -> String {
    commit_on(bare, branch, files, message, false)
}

/// Replaces the history of `main` with a single new root commit holding `files`, as a
/// force-push would.
pub fn force_push(bare: &Path, files: &[(&str, &str)], message: &str) -> String {
    let files: Vec<(&str, Option<&str>)> = files.iter().map(|(p, c)| (*p, Some(*c))).collect();
    commit_on(bare, "main", &files, message, true)
}

fn commit_on(
    bare: &Path,
    branch: &str,
    files: &[(&str, Option<&str>)],
    message: &str,
    new_root: bool,
) -> String {
    let repo = Repository::open_bare(bare).expect("open bare repository");
    let refname = format!("refs/heads/{branch}");
    let tip = |name: &str| {
        repo.find_reference(name)
            .ok()
            .and_then(|r| r.peel_to_commit().ok())
    };
    let parent = if new_root {
        None
    } else {
        tip(&refname).or_else(|| tip("refs/heads/main"))
    };
    let base = match &parent {
        Some(commit) => commit.tree().expect("parent tree"),
        None => {
            let empty = repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .expect("empty tree");
            repo.find_tree(empty).expect("empty tree")
        }
    };
    let mut update = TreeUpdateBuilder::new();
    for (path, content) in files {
        match content {
            Some(text) => {
                let blob = repo.blob(text.as_bytes()).expect("write blob");
                update.upsert(*path, blob, FileMode::Blob);
            }
            None => {
                update.remove(*path);
            }
        }
    }
    let tree_id = update.create_updated(&repo, &base).expect("build tree");
    let tree = repo.find_tree(tree_id).expect("tree");
    let signature = Signature::now("Ferret Test", "test@ferret.invalid").expect("signature");
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let id: Oid = repo
        .commit(None, &signature, &signature, message, &tree, &parents)
        .expect("commit");
    repo.reference(&refname, id, true, message)
        .expect("update branch");
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(base64_decode("eDpzZWNyZXQ=").unwrap(), b"x:secret");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn reads_chunked_bodies() {
        let raw = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n";
        let request = read_request(&mut &raw[..]).unwrap().unwrap();
        assert_eq!(request.body, b"abcdefg");
        assert_eq!(request.method, "POST");
    }
}
