//! A small blocking client for the GitHub REST API: who the token belongs to, which
//! repositories it can read, and one repository's metadata.
//!
//! The API base is configurable so GitHub Enterprise Server works (`https://HOST/api/v3`).
//! HTTPS is required except for loopback addresses, which the test server uses. Every error is
//! an [`Error::GitHub`] (or [`Error::NotFound`] for a missing repository) with a complete
//! sentence that says what to do, and no error or log line ever contains the token.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use ureq::http::{Response, Uri};
use ureq::Body;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
use crate::profiles::secrets::Secret;
use crate::redact::redact_tokens;

/// The public GitHub API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The REST API version we speak (sent as `X-GitHub-Api-Version`).
pub const API_VERSION: &str = "2022-11-28";
/// `/user/repos` is followed across at most this many pages of 100 (10,000 repositories).
pub const MAX_PAGES: usize = 100;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const GLOBAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest JSON body we read (a page of 100 repositories is about 600 KiB).
const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// The account a token belongs to (`GET /user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
}

/// One repository as Ferret needs it.
///
/// Deserialises from GitHub's repository JSON (`owner.login`, `size`, …) and also from its own
/// serialised form (`owner` as a string, `size_kb`), so it can be cached as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(from = "RawRepo")]
pub struct GitHubRepo {
    pub full_name: String,
    pub owner: String,
    pub name: String,
    pub private: bool,
    pub default_branch: String,
    /// GitHub's `size`: the repository's size on GitHub's disk in KiB (packed, with history).
    pub size_kb: u64,
    pub language: Option<String>,
    pub clone_url: String,
    pub html_url: String,
    pub pushed_at: Option<String>,
}

/// A repository the user may add: what GitHub says about it, whether the profile holds
/// it already, and a guess at the work indexing it takes. The CLI's `github repos` and the
/// app's repository picker show exactly this.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitHubRepoChoice {
    #[serde(flatten)]
    pub repo: GitHubRepo,
    pub estimated_files: u64,
    pub estimated_chunks: u64,
    /// The profile already has it (as `OWNER/NAME`).
    pub added: bool,
}

/// A rough idea of the work indexing a repository will take, before cloning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoEstimate {
    pub files: u64,
    pub chunks: u64,
}

/// KiB of GitHub's reported (packed) size per indexable file, on typical source repositories.
const KIB_PER_FILE: u64 = 6;
/// Chunks per source file (definitions plus fallback windows), on typical source files.
const CHUNKS_PER_FILE: u64 = 4;

impl GitHubRepo {
    /// A rough estimate of files and chunks from GitHub's `size` alone: about one indexable
    /// file per 6 KiB of packed size and about 4 chunks per file. It is only meant to set
    /// expectations (minutes vs. hours) before a clone: `size` includes the whole history
    /// and binary assets, so old or asset-heavy repositories come out too large, and young
    /// ones with big generated files too small. The indexer reports exact counts afterwards.
    pub fn estimate(&self) -> RepoEstimate {
        let files = self.size_kb.div_ceil(KIB_PER_FILE);
        RepoEstimate {
            files,
            chunks: files.saturating_mul(CHUNKS_PER_FILE),
        }
    }
}

/// GitHub's repository JSON (or our own serialised form), reduced to what we keep.
#[derive(Deserialize)]
struct RawRepo {
    full_name: String,
    owner: RawOwner,
    name: String,
    private: bool,
    default_branch: String,
    #[serde(alias = "size_kb")]
    size: u64,
    language: Option<String>,
    clone_url: String,
    html_url: String,
    #[serde(default)]
    pushed_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawOwner {
    Object { login: String },
    Login(String),
}

impl From<RawRepo> for GitHubRepo {
    fn from(raw: RawRepo) -> Self {
        GitHubRepo {
            full_name: raw.full_name,
            owner: match raw.owner {
                RawOwner::Object { login } | RawOwner::Login(login) => login,
            },
            name: raw.name,
            private: raw.private,
            default_branch: raw.default_branch,
            size_kb: raw.size,
            language: raw.language,
            clone_url: raw.clone_url,
            html_url: raw.html_url,
            pushed_at: raw.pushed_at,
        }
    }
}

/// Checks `OWNER/NAME` and returns its two parts.
///
/// Owner: 1-39 of `[A-Za-z0-9-]`, not starting with `-`. Name: 1-100 of `[A-Za-z0-9._-]`,
/// not `.` or `..`. These are GitHub's rules, and they also keep the parts safe as URL path
/// segments and directory names.
pub fn validate_full_name(s: &str) -> Result<(String, String)> {
    let invalid = || {
        Error::InvalidInput(format!(
            "invalid repository {s:?}: expected OWNER/NAME, where OWNER is 1-39 letters, digits \
             or '-' (not starting with '-') and NAME is 1-100 letters, digits, '.', '_' or '-' \
             (not '.' or '..'), e.g. rust-lang/rust"
        ))
    };
    let (owner, name) = s.split_once('/').ok_or_else(invalid)?;
    let owner_ok = (1..=39).contains(&owner.len())
        && !owner.starts_with('-')
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let name_ok = (1..=100).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if owner_ok && name_ok {
        Ok((owner.to_string(), name.to_string()))
    } else {
        Err(invalid())
    }
}

/// A blocking GitHub REST client bound to one API base URL.
#[derive(Debug, Clone)]
pub struct GitHubClient {
    agent: ureq::Agent,
    /// Normalised base, no trailing slash: `https://api.github.com`, `https://h/api/v3`.
    api_url: String,
    /// `scheme://authority` of the API, to check that pagination links stay on it.
    origin: String,
    /// The web UI base: `https://github.com` for the public API, else `scheme://HOST`.
    web_url: String,
}

impl GitHubClient {
    /// A client for `api_url` ([`DEFAULT_API_URL`], or `https://HOST/api/v3` for Enterprise).
    ///
    /// The URL must be `https://…`; `http://…` is accepted only for loopback hosts
    /// (`localhost`, `127.0.0.0/8`, `[::1]`), for local test servers.
    pub fn new(api_url: &str) -> Result<Self> {
        let api_url = api_url.trim().trim_end_matches('/').to_string();
        let bad = |why: &str| {
            Error::InvalidInput(format!(
                "invalid GitHub API URL {api_url:?}: {why} (expected {DEFAULT_API_URL} or \
                 https://HOST/api/v3 for GitHub Enterprise)"
            ))
        };
        let uri: Uri = api_url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri.scheme_str().ok_or_else(|| bad("no scheme"))?;
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not allowed"));
        }
        if uri.query().is_some() || api_url.contains('#') {
            return Err(bad("a query or fragment is not allowed"));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(bad(
                    "HTTPS is required (plain http:// is accepted only for localhost)",
                ))
            }
            _ => return Err(bad("HTTPS is required")),
        }
        let origin = format!("{}://{}", scheme.to_ascii_lowercase(), authority.as_str())
            .to_ascii_lowercase();
        let web_url = if origin == DEFAULT_API_URL {
            "https://github.com".to_string()
        } else {
            // Enterprise serves its web UI on the same host (and port) as `/api/v3`.
            format!("{}://{}", scheme.to_ascii_lowercase(), authority.as_str())
        };
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(GLOBAL_TIMEOUT))
            .http_status_as_error(false)
            .user_agent(format!("ferret/{}", env!("CARGO_PKG_VERSION")))
            // GitHub answers 301 for renamed repositories; keep the token on the same host only.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            // The OS trust store, so a GitHub Enterprise behind a company CA works.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .new_agent();
        Ok(GitHubClient {
            agent,
            api_url,
            origin,
            web_url,
        })
    }

    /// The normalised API base URL.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The web UI base (`https://github.com`, or `https://HOST[:PORT]` for Enterprise).
    pub fn web_url(&self) -> &str {
        &self.web_url
    }

    /// Refuses a clone URL that is not on this client's GitHub: the host of its web UI
    /// (`github.com` for the public API, the Enterprise host itself), over HTTPS. Local test
    /// servers (plain HTTP on loopback) may differ in port only. The token goes along with
    /// every clone and fetch, so a URL from anywhere else (an imported profile's database,
    /// an edited row) must never be used.
    pub fn check_clone_url(&self, url: &str) -> Result<()> {
        let remote = crate::remote::url::parse_remote_url(url)?;
        let web = self
            .web_url
            .split_once("://")
            .map_or(self.web_url.as_str(), |(_, authority)| authority)
            .to_ascii_lowercase();
        let web_loopback = crate::remote::url::parse_remote_url(&format!("{}/x", self.web_url))
            .is_ok_and(|w| w.loopback);
        let same_host =
            remote.host.to_ascii_lowercase() == web || (remote.loopback && web_loopback);
        if same_host {
            return Ok(());
        }
        Err(Error::Refused(format!(
            "will not clone or fetch from {url:?}: it is not on this profile's GitHub ({}), \
             so the token must not go there; remove the repository and add it again",
            self.web_url
        )))
    }

    /// Where to create a suitable token in the web UI.
    pub fn token_settings_url(&self) -> String {
        format!("{}/settings/personal-access-tokens/new", self.web_url)
    }

    /// The account `token` belongs to (`GET /user`).
    pub fn user(&self, token: &Secret) -> Result<GitHubUser> {
        let path = "/user";
        let response = self.get(token, &format!("{}{path}", self.api_url), path)?;
        let response = self.check(response, path)?;
        read_json(response, path)
    }

    /// Every repository the token can read (`GET /user/repos`), following `Link: rel="next"`
    /// across all pages, sorted by full name as GitHub returns them.
    pub fn repos(&self, token: &Secret) -> Result<Vec<GitHubRepo>> {
        let path = "/user/repos";
        let mut url = format!("{}{path}?per_page=100&sort=full_name", self.api_url);
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let what = format!("{path} (page {page})");
            let response = self.check(self.get(token, &url, &what)?, &what)?;
            let link = response
                .headers()
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(", ");
            let repos: Vec<GitHubRepo> = read_json(response, &what)?;
            all.extend(repos);
            match next_link(&link) {
                None => return Ok(all),
                Some(next) => {
                    self.check_same_origin(&next)?;
                    url = next;
                }
            }
        }
        Err(Error::github(
            ErrorKind::Refused,
            format!(
            "GitHub listed more than {MAX_PAGES} pages of repositories for {path} ({} so far); \
             stopped there. Use a fine-grained token limited to the repositories you want to \
             index",
            all.len()
        ),
        ))
    }

    /// One repository (`GET /repos/{owner}/{name}`). A 404 is [`Error::NotFound`]: GitHub
    /// answers 404 both for missing repositories and for private ones the token cannot see.
    pub fn repo(&self, token: &Secret, owner: &str, name: &str) -> Result<GitHubRepo> {
        let (owner, name) = validate_full_name(&format!("{owner}/{name}"))?;
        let path = format!("/repos/{owner}/{name}");
        let response = self.get(token, &format!("{}{path}", self.api_url), &path)?;
        if response.status().as_u16() == 404 {
            return Err(Error::NotFound(format!(
                "repository {owner}/{name} not found, or the token cannot read it: check the \
                 spelling, and for a private repository give the token access to it (Contents: \
                 read and Metadata: read) at {}",
                self.token_settings_url()
            )));
        }
        let response = self.check(response, &path)?;
        read_json(response, &path)
    }

    /// Sends one authenticated GET; only transport failures are errors here.
    fn get(&self, token: &Secret, url: &str, what: &str) -> Result<Response<Body>> {
        let authorization = Zeroizing::new(format!("Bearer {}", token.expose()));
        log::debug!("GET {}", redact_tokens(url));
        self.agent
            .get(url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header("Authorization", authorization.as_str())
            .call()
            .map_err(|e| self.transport_error(&e, what))
    }

    fn transport_error(&self, err: &ureq::Error, what: &str) -> Error {
        let cause = redact_tokens(&err.to_string()).into_owned();
        match err {
            ureq::Error::Json(_) | ureq::Error::BodyExceedsLimit(_) => Error::github(
                ErrorKind::Network,
                format!("GitHub's answer for {what} could not be read: {cause}"),
            ),
            ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => Error::github(
                ErrorKind::Network,
                format!("GitHub redirected {what} in a way we cannot follow: {cause}"),
            ),
            _ => Error::github(
                ErrorKind::Network,
                format!(
                "cannot reach GitHub at {} (offline?): {cause}; check your network or --api-url",
                self.api_url
            ),
            ),
        }
    }

    /// Passes 2xx responses through and turns every other status into a complete message.
    fn check(&self, response: Response<Body>, what: &str) -> Result<Response<Body>> {
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset");
        let retry_after = header("retry-after");
        let reason = response
            .status()
            .canonical_reason()
            .unwrap_or("")
            .to_string();
        let message = error_message(response);
        let message = message.as_deref().unwrap_or(reason.as_str());
        let (kind, text) = match status {
            401 => (
                ErrorKind::Auth,
                format!(
                    "token rejected by GitHub (401): create a fine-grained read-only token at \
                     {} with Contents: read and Metadata: read",
                    self.token_settings_url()
                ),
            ),
            403 | 429 if remaining.as_deref() == Some("0") => (
                ErrorKind::RateLimited,
                rate_limit_message(
                    reset.as_deref().and_then(|r| r.trim().parse().ok()),
                    now_unix(),
                ),
            ),
            403 | 429 if retry_after.is_some() || status == 429 => (
                ErrorKind::RateLimited,
                format!(
                    "GitHub's secondary rate limit was hit for {what}; wait {} seconds and try \
                     again ({message})",
                    retry_after.as_deref().unwrap_or("60")
                ),
            ),
            403 => (
                ErrorKind::Auth,
                format!(
                    "GitHub refused {what} (403 Forbidden): {message}. Check that the token has \
                 Contents: read and Metadata: read for this repository, and if the organisation \
                 uses SAML single sign-on, authorise the token for it at {}/settings/tokens",
                    self.web_url
                ),
            ),
            _ => (
                ErrorKind::Network,
                format!("GitHub answered {status} {reason} for {what}: {message}"),
            ),
        };
        Err(Error::github(kind, redact_tokens(&text)))
    }

    /// Pagination links must stay on the API's own scheme and host, so the token is never
    /// sent anywhere else.
    fn check_same_origin(&self, url: &str) -> Result<()> {
        let same = url
            .parse::<Uri>()
            .ok()
            .and_then(|u| Some((u.scheme_str()?.to_string(), u.authority()?.to_string())))
            .map(|(scheme, authority)| {
                format!("{scheme}://{authority}").to_ascii_lowercase() == self.origin
            })
            .unwrap_or(false);
        if same {
            Ok(())
        } else {
            Err(Error::github(
                ErrorKind::Refused,
                format!(
                    "GitHub's next-page link {} points away from {}; refusing to send the token \
                 there",
                    redact_tokens(url),
                    self.api_url
                ),
            ))
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// "rate limit reached; it resets at HH:MM:SS UTC (in N min)".
fn rate_limit_message(reset: Option<u64>, now: u64) -> String {
    match reset {
        Some(reset) => {
            let secs = reset % 86_400;
            let minutes = reset.saturating_sub(now).div_ceil(60);
            format!(
                "GitHub API rate limit reached; it resets at {:02}:{:02}:{:02} UTC (in {minutes} \
                 min)",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
        None => "GitHub API rate limit reached; try again in an hour".to_string(),
    }
}

/// GitHub's `message` field of an error body, if there is one.
fn error_message(response: Response<Body>) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    let text = response
        .into_body()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .ok()?;
    serde_json::from_str::<ErrorBody>(&text)
        .ok()
        .map(|b| b.message)
        .filter(|m| !m.is_empty())
}

fn read_json<T: serde::de::DeserializeOwned>(response: Response<Body>, what: &str) -> Result<T> {
    let text = response
        .into_body()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .map_err(|e| {
            Error::github(
                ErrorKind::Network,
                format!(
                    "GitHub's answer for {what} could not be read: {}",
                    redact_tokens(&e.to_string())
                ),
            )
        })?;
    parse_json(&text, what)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::github(
            ErrorKind::Network,
            format!(
                "GitHub answered {what} with JSON we do not understand ({}); is the API URL right?",
                redact_tokens(&e.to_string())
            ),
        )
    })
}

/// The `rel="next"` target of an RFC 8288 `Link` header value, as GitHub sends it:
/// `<https://api.github.com/user/repos?page=2>; rel="next", <…?page=5>; rel="last"`.
pub fn next_link(header: &str) -> Option<String> {
    parse_link_header(header)
        .into_iter()
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(url, _)| url)
}

/// Every `<url>; rel="a b"` of a `Link` header as (url, rels). Malformed parts are skipped.
pub fn parse_link_header(header: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return links;
        }
        let Some(after_lt) = rest.strip_prefix('<') else {
            // Not a link: skip to the next top-level comma.
            rest = &rest[param_end(rest, true)..];
            continue;
        };
        let Some(gt) = after_lt.find('>') else {
            return links;
        };
        let url = after_lt[..gt].trim().to_string();
        rest = &after_lt[gt + 1..];
        let mut rels = Vec::new();
        // Parameters: `; key=value` or `; key="quoted, value"` until a top-level comma.
        while let Some(after_semi) = rest.trim_start().strip_prefix(';') {
            let end = param_end(after_semi, false);
            let param = &after_semi[..end];
            rest = &after_semi[end..];
            if let Some((key, value)) = param.split_once('=') {
                if key.trim().eq_ignore_ascii_case("rel") {
                    let value = value.trim().trim_matches('"');
                    rels.extend(value.split_whitespace().map(str::to_string));
                }
            }
        }
        links.push((url, rels));
    }
}

/// End of one parameter: the first `;` or `,` outside quotes (or only `,` when `comma_only`).
fn param_end(s: &str, comma_only: bool) -> usize {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => return i,
            ';' if !quoted && !comma_only => return i,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests;
