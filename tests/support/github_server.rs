//! A local GitHub REST API for tests: std-only HTTP/1.1 on `127.0.0.1:0`, one thread per
//! connection, `Connection: close`. It answers the documented shapes of `GET /user`,
//! `GET /user/repos` (paginated with GitHub's `Link` header) and `GET /repos/{owner}/{name}`,
//! checks `Authorization: Bearer <token>` like GitHub (401 "Bad credentials"), and can be
//! switched into rate-limited mode (403 with `x-ratelimit-remaining: 0`). It stops when the
//! [`GitHubServer`] is dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// One repository the fake API knows.
#[derive(Debug, Clone)]
pub struct FixtureRepo {
    pub owner: String,
    pub name: String,
    pub private: bool,
    pub default_branch: String,
    pub size_kb: u64,
    pub language: Option<String>,
    pub clone_url: String,
}

impl FixtureRepo {
    /// A public repository with plausible defaults and a clone URL on github.com.
    pub fn new(owner: &str, name: &str) -> Self {
        FixtureRepo {
            owner: owner.to_string(),
            name: name.to_string(),
            private: false,
            default_branch: "main".to_string(),
            size_kb: 100,
            language: Some("Rust".to_string()),
            clone_url: format!("https://github.com/{owner}/{name}.git"),
        }
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// What the fake API serves.
#[derive(Debug, Clone)]
pub struct GitHubFixture {
    /// The only token accepted (`Authorization: Bearer <token>`).
    pub token: String,
    /// `(id, login)` of the token's user.
    pub user: (u64, String),
    pub repos: Vec<FixtureRepo>,
    /// Largest `per_page` honoured, so tests can force several pages with few repositories.
    pub per_page_cap: usize,
}

/// Seconds until the reset time announced in rate-limited mode.
pub const RATE_LIMIT_RESET_IN_SECS: u64 = 1800;

struct State {
    fixture: GitHubFixture,
    addr: SocketAddr,
    rate_limited: AtomicBool,
    stop: AtomicBool,
    requests: Mutex<Vec<String>>,
}

/// A running fake GitHub API; dropping it stops the server.
pub struct GitHubServer {
    state: Arc<State>,
    accept_thread: Option<JoinHandle<()>>,
}

impl GitHubServer {
    pub fn start(config: GitHubFixture) -> GitHubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            fixture: config,
            addr,
            rate_limited: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept_thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn_state = Arc::clone(&accept_state);
                std::thread::spawn(move || handle_connection(&conn_state, stream));
            }
        });
        GitHubServer {
            state,
            accept_thread: Some(accept_thread),
        }
    }

    /// `http://127.0.0.1:PORT`, to pass to `GitHubClient::new`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.state.addr)
    }

    /// Every request so far as `"METHOD /path?query"`, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().expect("request log").clone()
    }

    /// In rate-limited mode every authenticated request gets GitHub's 403 rate-limit answer.
    pub fn set_rate_limited(&self, on: bool) {
        self.state.rate_limited.store(on, Ordering::SeqCst);
    }
}

impl Drop for GitHubServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        let _ignored = TcpStream::connect_timeout(&self.state.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ignored = thread.join();
        }
    }
}

/// An `http://127.0.0.1:PORT` URL where nothing listens (the port was just freed).
pub fn free_port_refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}")
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

fn handle_connection(state: &State, stream: TcpStream) {
    if state.stop.load(Ordering::SeqCst) {
        return;
    }
    let _ignored = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    state
        .requests
        .lock()
        .expect("request log")
        .push(format!("{} {}", request.method, request.target));
    let reply = answer(state, &request);
    let _ignored = write_reply(stream, &reply);
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Some(Request {
        method,
        target,
        headers,
    })
}

fn write_reply(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    let body = reply.body.to_string();
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Other",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nX-GitHub-Api-Version-Selected: 2022-11-28\r\n",
        reply.status,
        body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn error(status: u16, message: &str, docs: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: json!({
            "message": message,
            "documentation_url": format!("https://docs.github.com/{docs}"),
            "status": status.to_string(),
        }),
    }
}

fn answer(state: &State, request: &Request) -> Reply {
    let fixture = &state.fixture;
    if request.method != "GET" {
        return error(405, "Method Not Allowed", "rest");
    }
    // GitHub refuses requests without a User-Agent and unknown API versions.
    if request.header("user-agent").is_none_or(str::is_empty) {
        return error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", "rest/using-the-rest-api/getting-started-with-the-rest-api");
    }
    if let Some(version) = request.header("x-github-api-version") {
        if version != "2022-11-28" {
            return error(
                400,
                &format!("API version {version} not supported"),
                "rest/about-the-rest-api/api-versions",
            );
        }
    }
    let expected = format!("Bearer {}", fixture.token);
    if request.header("authorization") != Some(expected.as_str()) {
        return error(401, "Bad credentials", "rest");
    }
    let reset = now_unix() + RATE_LIMIT_RESET_IN_SECS;
    if state.rate_limited.load(Ordering::SeqCst) {
        let mut reply = error(
            403,
            &format!(
                "API rate limit exceeded for user ID {}. If you reach out to GitHub Support for \
                 help, please include the request ID.",
                fixture.user.0
            ),
            "rest/overview/rate-limits-for-the-rest-api",
        );
        reply.headers = rate_headers(0, reset);
        return reply;
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut reply = match segments.as_slice() {
        ["user"] => Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({
                "login": fixture.user.1,
                "id": fixture.user.0,
                "node_id": "MDQ6VXNlcjE=",
                "type": "User",
                "site_admin": false,
                "name": format!("The {}", fixture.user.1),
                "company": null,
                "public_repos": fixture.repos.iter().filter(|r| !r.private).count(),
                "html_url": format!("https://github.com/{}", fixture.user.1),
            }),
        },
        ["user", "repos"] => list_repos(state, path, query),
        ["repos", owner, name] => match fixture
            .repos
            .iter()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name))
        {
            Some(repo) => Reply {
                status: 200,
                headers: Vec::new(),
                body: repo_json(repo),
            },
            None => error(404, "Not Found", "rest/repos/repos#get-a-repository"),
        },
        _ => error(404, "Not Found", "rest"),
    };
    reply.headers.extend(rate_headers(4999, reset));
    reply
}

fn rate_headers(remaining: u64, reset: u64) -> Vec<(String, String)> {
    vec![
        ("x-ratelimit-limit".to_string(), "5000".to_string()),
        ("x-ratelimit-remaining".to_string(), remaining.to_string()),
        (
            "x-ratelimit-used".to_string(),
            (5000 - remaining).to_string(),
        ),
        ("x-ratelimit-reset".to_string(), reset.to_string()),
        ("x-ratelimit-resource".to_string(), "core".to_string()),
    ]
}

/// `GET /user/repos`: sorted by full name, paginated by `page` / `per_page` (default 30, at
/// most `per_page_cap`), with `Link` carrying `first`/`prev`/`next`/`last` like GitHub.
fn list_repos(state: &State, path: &str, query: &str) -> Reply {
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let per_page = param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, state.fixture.per_page_cap.max(1));
    let page = param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let mut repos: Vec<&FixtureRepo> = state.fixture.repos.iter().collect();
    repos.sort_by_key(|r| r.full_name().to_lowercase());
    let last = repos.len().div_ceil(per_page).max(1);
    let body: Vec<Value> = repos
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|r| repo_json(r))
        .collect();

    // GitHub keeps the caller's other parameters and appends `page`.
    let kept: Vec<String> = params
        .iter()
        .filter(|(k, _)| *k != "page")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let url = |p: usize| {
        let mut q = kept.clone();
        q.push(format!("page={p}"));
        format!("http://{}{path}?{}", state.addr, q.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url(1)));
    }
    let headers = if links.is_empty() {
        Vec::new()
    } else {
        vec![("Link".to_string(), links.join(", "))]
    };
    Reply {
        status: 200,
        headers,
        body: Value::Array(body),
    }
}

/// A repository in the shape of GitHub's "repository" schema (the fields clients use).
fn repo_json(repo: &FixtureRepo) -> Value {
    let full_name = repo.full_name();
    json!({
        "id": 1000 + full_name.len(),
        "node_id": "R_kgDOAAAAAA",
        "name": repo.name,
        "full_name": full_name,
        "private": repo.private,
        "owner": {
            "login": repo.owner,
            "id": 7,
            "type": "User",
            "html_url": format!("https://github.com/{}", repo.owner),
        },
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": false,
        "url": format!("https://api.github.com/repos/{full_name}"),
        "clone_url": repo.clone_url,
        "ssh_url": format!("git@github.com:{full_name}.git"),
        "size": repo.size_kb,
        "language": repo.language,
        "default_branch": repo.default_branch,
        "visibility": if repo.private { "private" } else { "public" },
        "archived": false,
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2024-05-01T12:00:00Z",
        "pushed_at": "2024-05-01T12:00:00Z",
        "permissions": { "admin": false, "push": false, "pull": true },
    })
}
