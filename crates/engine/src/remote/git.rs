//! Clones and updates GitHub repositories for indexing, with git2 over HTTPS.
//!
//! Three rules shape this module:
//! - The token reaches libgit2 only through the credential callback. It is never put in a URL,
//!   the `origin` remote, `.git/config` or any other file, and no error message contains it.
//!   URLs with `user:pass@` are refused so a token cannot sneak in that way either.
//! - A clone is made in a sibling directory (`<dest>.partial-<pid>`) and renamed into place only
//!   when it is complete, so a failed or cancelled clone leaves nothing behind.
//! - Updates only ever fast-forward. When the upstream history was rewritten (force-push), the
//!   update is refused and the user is told to remove the repository and add it again: the
//!   clone is a cache Ferret owns, re-adding it is cheap and explicit, and refusing means a sync
//!   can never silently throw away commits or local files.

use std::cell::{Cell, RefCell};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use git2::build::{CheckoutBuilder, RepoBuilder};
use git2::{
    AutotagOption, Cred, CredentialType, Delta, DiffFindOptions, FetchOptions, Oid, ProxyOptions,
    RemoteCallbacks, Repository,
};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

/// The user name sent with a token; GitHub accepts any, this one documents what it is.
const TOKEN_USER: &str = "x-access-token";

/// Progress reports are sent at most this often, plus once per stage change and at the end of
/// each stage, because libgit2 calls back once per object.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What a clone or fetch is doing now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum GitStage {
    /// Connecting and negotiating with the server.
    #[default]
    Connecting,
    /// Downloading objects.
    Receiving,
    /// Resolving deltas in the downloaded pack.
    Resolving,
    /// Writing files into the working tree.
    CheckingOut,
    /// Finished.
    Done,
}

/// A progress report for a clone or fetch.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitProgress {
    pub stage: GitStage,
    pub received_objects: u64,
    pub total_objects: u64,
    pub indexed_deltas: u64,
    pub total_deltas: u64,
    pub received_bytes: u64,
}

/// Credentials for a clone or fetch. The token is handed to libgit2 only through the
/// credential callback.
#[derive(Clone, Copy, Default)]
pub struct GitAuth<'a> {
    pub token: Option<&'a str>,
}

impl std::fmt::Debug for GitAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = if self.token.is_some() {
            "Some(***)"
        } else {
            "None"
        };
        f.debug_struct("GitAuth").field("token", &token).finish()
    }
}

/// The result of a clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloneOutcome {
    /// The checked-out commit, as 40 hex digits.
    pub head: String,
    /// The checked-out branch (the requested one, or the remote's default).
    pub branch: String,
}

/// The result of a fetch and fast-forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncOutcome {
    pub old_head: String,
    pub new_head: String,
    /// Files that differ between the old and the new commit; empty when nothing changed.
    pub changed: Vec<ChangedPath>,
}

/// One file that differs between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedPath {
    /// Repository-relative path with `/` separators (the new path for a rename).
    pub path: String,
    pub status: ChangeStatus,
}

/// How a file changed between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
    /// Moved from `from` (possibly with edits); the old path no longer exists.
    Renamed {
        from: String,
    },
}

/// The parts of a remote URL this module needs.
struct RemoteUrl {
    /// `host` or `host:port`, for messages.
    host: String,
    /// The host is this machine (plain HTTP is allowed only then).
    loopback: bool,
}

/// Accepts `https://` URLs, and `http://` only for loopback hosts (127.0.0.0/8, `localhost`,
/// `[::1]`), which is what tests use. Everything else, and any URL with `user:pass@`, is refused.
pub fn validate_remote_url(url: &str) -> Result<()> {
    parse_remote_url(url).map(|_| ())
}

fn parse_remote_url(url: &str) -> Result<RemoteUrl> {
    let refuse = |why: &str| {
        Error::InvalidInput(format!(
            "cannot use {url:?} as a repository URL: {why}; Ferret clones over HTTPS only \
             (for example https://github.com/owner/name.git)"
        ))
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("it contains spaces or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(refuse("it is not an https:// URL"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(refuse(&format!("the {scheme}:// scheme is not supported")));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(refuse(
            "it contains a user name or password; give the token separately, never in the URL",
        ));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(refuse("its IPv6 address has no closing ']'"));
        };
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(refuse("its IPv6 address is not valid"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(refuse("it has text after the IPv6 address")),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(refuse("it names no host"));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(refuse("its host name is not valid"));
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(refuse("its port is not a number"));
        }
        if !port.parse::<u16>().is_ok_and(|p| p != 0) {
            return Err(refuse("its port is out of range"));
        }
    }
    if path.trim_matches('/').is_empty() || path.starts_with(['?', '#']) {
        return Err(refuse(
            "it names no repository (expected .../owner/name.git)",
        ));
    }
    let host_lower = host.to_ascii_lowercase();
    let loopback = host_lower == "localhost"
        || host_lower
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host_lower
            .parse::<Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if scheme == "http" && !loopback {
        return Err(refuse(
            "plain http:// would send the token unencrypted (it is allowed only for this machine)",
        ));
    }
    let host = match port {
        Some(port) => format!("{}:{port}", authority_host_display(host, authority)),
        None => authority_host_display(host, authority),
    };
    Ok(RemoteUrl { host, loopback })
}

/// The host as written in the URL (IPv6 keeps its brackets).
fn authority_host_display(host: &str, authority: &str) -> String {
    if authority.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// What happened in the credential callback, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthState {
    /// The server never asked.
    NotAsked,
    /// The token was sent once.
    Sent,
    /// The server asked again after the token was sent: it rejected it.
    Rejected,
    /// The server asked and there is no token.
    NeedsToken,
    /// The server asked for something other than a user name and password.
    Unsupported,
}

/// State shared by the callbacks of one clone or fetch.
struct Session<'a> {
    url: &'a str,
    remote: RemoteUrl,
    cancel: &'a AtomicBool,
    progress: &'a dyn Fn(&GitProgress),
    auth: Cell<AuthState>,
    cancelled: Cell<bool>,
    current: RefCell<GitProgress>,
    last_emit: Cell<Option<Instant>>,
}

impl<'a> Session<'a> {
    fn new(
        url: &'a str,
        cancel: &'a AtomicBool,
        progress: &'a dyn Fn(&GitProgress),
    ) -> Result<Self> {
        Ok(Session {
            url,
            remote: parse_remote_url(url)?,
            cancel,
            progress,
            auth: Cell::new(AuthState::NotAsked),
            cancelled: Cell::new(false),
            current: RefCell::new(GitProgress::default()),
            last_emit: Cell::new(None),
        })
    }

    /// True when the caller asked to stop; remembers it so the libgit2 error becomes
    /// [`Error::Cancelled`].
    fn should_stop(&self) -> bool {
        if self.cancel.load(Ordering::Relaxed) {
            self.cancelled.set(true);
        }
        self.cancelled.get()
    }

    /// Moves to `stage` and reports it.
    fn enter(&self, stage: GitStage) {
        self.current.borrow_mut().stage = stage;
        self.emit();
    }

    fn emit(&self) {
        self.last_emit.set(Some(Instant::now()));
        let snapshot = self.current.borrow().clone();
        (self.progress)(&snapshot);
    }

    fn on_transfer(&self, stats: &git2::Progress<'_>) -> bool {
        if self.should_stop() {
            return false;
        }
        let (received, total) = (
            stats.received_objects() as u64,
            stats.total_objects() as u64,
        );
        let (indexed, deltas) = (stats.indexed_deltas() as u64, stats.total_deltas() as u64);
        let stage = if received < total || total == 0 || deltas == 0 {
            GitStage::Receiving
        } else {
            GitStage::Resolving
        };
        let stage_finished = match stage {
            GitStage::Receiving => total > 0 && received == total,
            _ => indexed == deltas,
        };
        let due = self
            .last_emit
            .get()
            .is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL);
        let changed = {
            let mut current = self.current.borrow_mut();
            let changed = current.stage != stage
                || (stage_finished
                    && (current.received_objects != received || current.indexed_deltas != indexed));
            *current = GitProgress {
                stage,
                received_objects: received,
                total_objects: total,
                indexed_deltas: indexed,
                total_deltas: deltas,
                received_bytes: stats.received_bytes() as u64,
            };
            changed
        };
        if changed || due {
            self.emit();
        }
        true
    }

    fn on_credentials(
        &self,
        allowed: CredentialType,
        token: Option<&str>,
    ) -> Result<Cred, git2::Error> {
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            self.auth.set(AuthState::Unsupported);
            return Err(git2::Error::from_str(
                "the server asks for an authentication method other than a token",
            ));
        }
        match (self.auth.get(), token) {
            (_, None) => {
                self.auth.set(AuthState::NeedsToken);
                Err(git2::Error::from_str("this repository needs a token"))
            }
            (AuthState::NotAsked, Some(token)) => {
                self.auth.set(AuthState::Sent);
                Cred::userpass_plaintext(TOKEN_USER, token)
            }
            (_, Some(_)) => {
                self.auth.set(AuthState::Rejected);
                Err(git2::Error::from_str("the git server rejected the token"))
            }
        }
    }

    /// Callbacks for a fetch (clone or update) bound to this session.
    fn fetch_options<'s>(&'s self, auth: &'s GitAuth<'_>) -> FetchOptions<'s> {
        let mut callbacks = RemoteCallbacks::new();
        let token = auth.token;
        callbacks.credentials(move |_url, _user, allowed| self.on_credentials(allowed, token));
        callbacks.transfer_progress(move |stats| self.on_transfer(&stats));
        callbacks.sideband_progress(move |_| !self.should_stop());
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks);
        options.download_tags(AutotagOption::Auto);
        if !self.remote.loopback {
            // Honour http.proxy and the proxy environment variables for real hosts; never route
            // loopback test servers through a proxy.
            let mut proxy = ProxyOptions::new();
            proxy.auto();
            options.proxy_options(proxy);
        }
        options
    }

    /// A checkout that reports the CheckingOut stage once.
    fn checkout<'s>(&'s self) -> CheckoutBuilder<'s> {
        let mut checkout = CheckoutBuilder::new();
        checkout.progress(move |_path, _done, _total| {
            if self.current.borrow().stage != GitStage::CheckingOut {
                self.enter(GitStage::CheckingOut);
            }
        });
        checkout
    }

    /// Turns a libgit2 failure into an error naming the repository and what to do.
    fn error(&self, doing: &str, e: &git2::Error) -> Error {
        if self.cancelled.get() || self.cancel.load(Ordering::Relaxed) {
            return Error::Cancelled;
        }
        let url = self.url;
        let message = e.message();
        let lower = message.to_ascii_lowercase();
        match self.auth.get() {
            AuthState::Rejected => {
                return Error::git(
                    ErrorKind::Auth,
                    format!(
                        "the git server rejected the token (401) for {url}: check the token can \
                     read this repository (Contents: read) and has not expired"
                    ),
                )
            }
            AuthState::NeedsToken => {
                return Error::git(
                    ErrorKind::Auth,
                    format!(
                    "{url}: this repository needs a token; add a GitHub token that can read it \
                     (a fine-grained token with Contents: read is enough)"
                ),
                )
            }
            AuthState::Unsupported => {
                return Error::git(
                    ErrorKind::Git,
                    format!(
                        "{url}: the server asks for an authentication method Ferret does not \
                     support; use an https:// URL that accepts a token"
                    ),
                )
            }
            AuthState::Sent if lower.contains("401") || lower.contains("authentication") => {
                return Error::git(
                    ErrorKind::Auth,
                    format!(
                        "the git server rejected the token (401) for {url}: check the token can \
                     read this repository (Contents: read) and has not expired"
                    ),
                )
            }
            AuthState::NotAsked | AuthState::Sent => {}
        }
        const UNREACHABLE: [&str; 9] = [
            "failed to resolve",
            "could not resolve",
            "name or service not known",
            "temporary failure in name resolution",
            "connection refused",
            "failed to connect",
            "network is unreachable",
            "no route to host",
            "timed out",
        ];
        if UNREACHABLE.iter().any(|needle| lower.contains(needle)) {
            return Error::git(
                ErrorKind::Network,
                format!(
                "cannot reach {} (offline?) while trying to {doing} {url}: {message}; check the \
                 network connection and try again",
                self.remote.host
            ),
            );
        }
        if lower.contains("404") || lower.contains("not found") {
            return Error::git(
                ErrorKind::NotFound,
                format!(
                    "repository {url} was not found: check the owner and name, and that the token \
                 can read it (private repositories need a token with Contents: read)"
                ),
            );
        }
        Error::git(
            ErrorKind::Git,
            format!("could not {doing} {url}: {message}"),
        )
    }
}

/// Clones `url` into `dest` and checks out `branch` (or the remote's default branch).
///
/// `dest` must not exist; its parent directories are created. The clone is made in
/// `<dest>.partial-<pid>` and renamed into place when complete; on any error, or when `cancel`
/// is set (→ [`Error::Cancelled`]), the partial directory and any parent directories this call
/// created are removed. The `origin` remote holds the plain URL, never credentials.
pub fn clone_repo(
    url: &str,
    dest: &Path,
    branch: Option<&str>,
    auth: &GitAuth,
    cancel: &AtomicBool,
    progress: &dyn Fn(&GitProgress),
) -> Result<CloneOutcome> {
    let session = Session::new(url, cancel, progress)?;
    if let Some(branch) = branch {
        check_branch_name(branch)?;
    }
    if dest.symlink_metadata().is_ok() {
        return Err(Error::Refused(format!(
            "cannot clone {url} into {}: it already exists; remove it or choose another directory",
            dest.display()
        )));
    }
    let Some(name) = dest.file_name() else {
        return Err(Error::InvalidInput(format!(
            "cannot clone into {}: the path has no final directory name",
            dest.display()
        )));
    };
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let created_parents = create_parents(&parent)?;
    let partial = parent.join(format!(
        "{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if partial.symlink_metadata().is_ok() {
        // A leftover from an earlier run of a process with the same id.
        remove_dir(&partial)?;
    }

    let result = clone_into(&session, url, &partial, dest, branch, auth);
    match result {
        Ok(outcome) => {
            session.enter(GitStage::Done);
            Ok(outcome)
        }
        Err(e) => {
            if let Err(cleanup) = remove_dir(&partial) {
                log::warn!("could not remove the partial clone: {cleanup}");
            }
            remove_empty_parents(&created_parents);
            Err(e)
        }
    }
}

fn clone_into(
    session: &Session<'_>,
    url: &str,
    partial: &Path,
    dest: &Path,
    branch: Option<&str>,
    auth: &GitAuth,
) -> Result<CloneOutcome> {
    session.enter(GitStage::Connecting);
    let mut builder = RepoBuilder::new();
    builder.fetch_options(session.fetch_options(auth));
    builder.with_checkout(session.checkout());
    if let Some(branch) = branch {
        builder.branch(branch);
    }
    let repo = builder.clone(url, partial).map_err(|e| {
        if branch.is_some() && e.class() == git2::ErrorClass::Reference {
            Error::NotFound(format!(
                "{url} has no branch {:?}: check the branch name, or leave it out to use the \
                 default branch",
                branch.unwrap_or_default()
            ))
        } else {
            session.error("clone", &e)
        }
    })?;
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let head = repo.head().map_err(|e| {
        Error::git(
            ErrorKind::Git,
            format!("the clone of {url} has no HEAD: {}", e.message()),
        )
    })?;
    let branch = head.shorthand().unwrap_or_default().to_string();
    let commit = head
        .peel_to_commit()
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!("the clone of {url} has no commit: {}", e.message()),
            )
        })?
        .id()
        .to_string();
    drop(head);
    drop(repo);
    std::fs::rename(partial, dest).map_err(|e| {
        Error::io(
            format!(
                "moving the finished clone of {url} to {} (is it on the same disk?)",
                dest.display()
            ),
            e,
        )
    })?;
    Ok(CloneOutcome {
        head: commit,
        branch,
    })
}

/// Fetches `origin` and fast-forwards the local `branch` and the working tree to
/// `origin/<branch>`.
///
/// A non-fast-forward (rewritten upstream history) is refused with a message telling the user
/// to remove the repository and add it again; local modifications that the update would
/// overwrite are refused too. `changed` lists the files that differ between the old and the new
/// commit; a fetch that brings nothing returns `old_head == new_head` and no changes.
/// When `cancel` is set the working tree is left as it was and [`Error::Cancelled`] is returned.
pub fn fetch_fast_forward(
    repo_dir: &Path,
    branch: &str,
    auth: &GitAuth,
    cancel: &AtomicBool,
    progress: &dyn Fn(&GitProgress),
) -> Result<SyncOutcome> {
    check_branch_name(branch)?;
    let repo = open(repo_dir)?;
    let url = {
        let remote = repo.find_remote("origin").map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                "the clone at {} has no 'origin' remote ({}); remove the repository and add it \
                 again",
                repo_dir.display(),
                e.message()
            ),
            )
        })?;
        remote.url().map(str::to_string).ok_or_else(|| {
            Error::git(
                ErrorKind::Git,
                format!(
                "the 'origin' URL of the clone at {} is not UTF-8; remove the repository and add \
                 it again",
                repo_dir.display()
            ),
            )
        })?
    };
    let session = Session::new(&url, cancel, progress)?;
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let local_ref = format!("refs/heads/{branch}");
    let head_name = repo.head().ok().and_then(|h| h.name().map(str::to_string));
    if head_name.as_deref() != Some(local_ref.as_str()) {
        return Err(Error::Refused(format!(
            "the clone of {url} at {} has {} checked out, not {branch:?}; remove the repository \
             and add it again with the branch you want",
            repo_dir.display(),
            head_name
                .as_deref()
                .map_or("no branch", |n| n.trim_start_matches("refs/heads/"))
        )));
    }

    let old = repo
        .find_reference(&local_ref)
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| {
            Error::NotFound(format!(
                "the clone of {url} at {} has no branch {branch:?} ({}); remove the repository \
                 and add it again with that branch",
                repo_dir.display(),
                e.message()
            ))
        })?
        .id();

    session.enter(GitStage::Connecting);
    let tracking_ref = format!("refs/remotes/origin/{branch}");
    {
        let mut remote = repo
            .find_remote("origin")
            .map_err(|e| session.error("fetch", &e))?;
        let mut options = session.fetch_options(auth);
        remote
            .fetch(
                &[format!("+{local_ref}:{tracking_ref}")],
                Some(&mut options),
                Some("ferret: fetch"),
            )
            .map_err(|e| session.error("fetch", &e))?;
        let advertised = remote
            .list()
            .map_err(|e| session.error("fetch", &e))?
            .iter()
            .any(|head| head.name() == local_ref);
        if !advertised {
            return Err(Error::NotFound(format!(
                "branch {branch:?} no longer exists on {url}; remove the repository and add it \
                 again with another branch"
            )));
        }
    }
    if session.should_stop() {
        return Err(Error::Cancelled);
    }
    let new_commit = repo
        .find_reference(&tracking_ref)
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                    "fetched {url} but origin/{branch} is missing ({}); try again",
                    e.message()
                ),
            )
        })?;
    let new = new_commit.id();
    if new == old {
        session.enter(GitStage::Done);
        return Ok(SyncOutcome {
            old_head: old.to_string(),
            new_head: new.to_string(),
            changed: Vec::new(),
        });
    }
    let fast_forward = repo.graph_descendant_of(new, old).map_err(|e| {
        Error::git(
            ErrorKind::Git,
            format!("cannot compare the history of {url}: {}", e.message()),
        )
    })?;
    if !fast_forward {
        return Err(Error::git(
            ErrorKind::Git,
            format!(
                "the history of branch {branch:?} on {url} was rewritten (force-pushed), so the \
             clone cannot be fast-forwarded; remove the repository from Ferret and add it again"
            ),
        ));
    }
    let changed = diff_commits(&repo, old, new)?;

    let mut checkout = session.checkout();
    checkout.safe();
    repo.checkout_tree(new_commit.as_object(), Some(&mut checkout))
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                "cannot update the files of the clone of {url} at {}: {}; it has local changes \
                 in the way: remove the repository and add it again",
                repo_dir.display(),
                e.message()
            ),
            )
        })?;
    repo.find_reference(&local_ref)
        .and_then(|mut r| r.set_target(new, "ferret: fast-forward").map(|_| ()))
        .map_err(|e| {
            Error::git(
                ErrorKind::Git,
                format!(
                    "updated the files of {} but could not move branch {branch:?}: {}; sync again",
                    repo_dir.display(),
                    e.message()
                ),
            )
        })?;
    session.enter(GitStage::Done);
    Ok(SyncOutcome {
        old_head: old.to_string(),
        new_head: new.to_string(),
        changed,
    })
}

/// The files that differ between commits `old` and `new` (hex ids) of the repository at
/// `repo_dir`, with renames detected. Paths are repository-relative with `/` separators
/// (non-UTF-8 bytes are replaced by U+FFFD).
pub fn changed_paths(repo_dir: &Path, old: &str, new: &str) -> Result<Vec<ChangedPath>> {
    let repo = open(repo_dir)?;
    let parse = |hex: &str| {
        Oid::from_str(hex).map_err(|_| {
            Error::InvalidInput(format!(
                "{hex:?} is not a commit id (expected 40 hex digits)"
            ))
        })
    };
    diff_commits(&repo, parse(old)?, parse(new)?)
}

/// The commit `HEAD` points at in the repository at `repo_dir`, as 40 hex digits.
pub fn head_commit(repo_dir: &Path) -> Result<String> {
    let repo = open(repo_dir)?;
    let commit = repo.head().and_then(|h| h.peel_to_commit()).map_err(|e| {
        Error::git(
            ErrorKind::Git,
            format!(
                "the repository at {} has no commit checked out: {}",
                repo_dir.display(),
                e.message()
            ),
        )
    })?;
    Ok(commit.id().to_string())
}

fn diff_commits(repo: &Repository, old: Oid, new: Oid) -> Result<Vec<ChangedPath>> {
    if old == new {
        return Ok(Vec::new());
    }
    let tree = |id: Oid| {
        repo.find_commit(id).and_then(|c| c.tree()).map_err(|e| {
            Error::NotFound(format!(
                "commit {id} is not in the repository at {}: {}",
                repo.path().display(),
                e.message()
            ))
        })
    };
    let (old_tree, new_tree) = (tree(old)?, tree(new)?);
    let git_err = |e: git2::Error| {
        Error::git(
            ErrorKind::Git,
            format!(
                "cannot compare commits {old} and {new} in {}: {}",
                repo.path().display(),
                e.message()
            ),
        )
    };
    let mut diff = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
        .map_err(git_err)?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find)).map_err(git_err)?;
    let path_of = |file: git2::DiffFile<'_>| {
        file.path_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let mut changed = Vec::new();
    for delta in diff.deltas() {
        let status = match delta.status() {
            Delta::Added | Delta::Copied => ChangeStatus::Added,
            Delta::Deleted => ChangeStatus::Deleted,
            Delta::Modified | Delta::Typechange => ChangeStatus::Modified,
            Delta::Renamed => ChangeStatus::Renamed {
                from: path_of(delta.old_file()),
            },
            Delta::Unmodified
            | Delta::Ignored
            | Delta::Untracked
            | Delta::Unreadable
            | Delta::Conflicted => continue,
        };
        let path = match status {
            ChangeStatus::Deleted => path_of(delta.old_file()),
            _ => path_of(delta.new_file()),
        };
        changed.push(ChangedPath { path, status });
    }
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changed)
}

fn open(repo_dir: &Path) -> Result<Repository> {
    Repository::open(repo_dir).map_err(|e| {
        if e.code() == git2::ErrorCode::NotFound {
            Error::NotFound(format!(
                "no git repository at {}; add the repository again",
                repo_dir.display()
            ))
        } else {
            Error::git(
                ErrorKind::Git,
                format!(
                    "cannot open the repository at {}: {}",
                    repo_dir.display(),
                    e.message()
                ),
            )
        }
    })
}

fn check_branch_name(branch: &str) -> Result<()> {
    if git2::Branch::name_is_valid(branch).unwrap_or(false) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{branch:?} is not a valid branch name"
        )))
    }
}

/// Creates `dir` and its missing ancestors; returns the ones it created, outermost first.
fn create_parents(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cursor = d.parent();
    }
    missing.reverse();
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating directory {}", dir.display()), e))?;
    Ok(missing)
}

/// Removes the directories `create_parents` made, innermost first, if they are still empty.
fn remove_empty_parents(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", dir.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::build::TreeUpdateBuilder;
    use git2::{FileMode, Signature};

    /// Adds a commit to `repo` on `HEAD`: `Some` writes a file, `None` deletes it.
    fn commit(repo: &Repository, files: &[(&str, Option<&str>)]) -> Oid {
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let base = match &parent {
            Some(c) => c.tree().unwrap(),
            None => {
                let empty = repo.treebuilder(None).unwrap().write().unwrap();
                repo.find_tree(empty).unwrap()
            }
        };
        let mut update = TreeUpdateBuilder::new();
        for (path, content) in files {
            match content {
                Some(text) => {
                    let blob = repo.blob(text.as_bytes()).unwrap();
                    update.upsert(*path, blob, FileMode::Blob);
                }
                None => {
                    update.remove(*path);
                }
            }
        }
        let tree = repo
            .find_tree(update.create_updated(repo, &base).unwrap())
            .unwrap();
        let sig = Signature::now("Test", "test@example.com").unwrap();
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "change", &tree, &parents)
            .unwrap()
    }

    fn is_valid(url: &str) -> bool {
        validate_remote_url(url).is_ok()
    }

    #[test]
    fn accepts_https_urls() {
        for url in [
            "https://github.com/owner/name.git",
            "https://github.com/owner/name",
            "HTTPS://GitHub.com/owner/name.git",
            "https://github.example.com:8443/owner/name.git",
            "https://[2001:db8::1]/owner/name.git",
            "https://[2001:db8::1]:443/owner/name.git",
            "https://10.0.0.1/owner/name.git",
        ] {
            assert!(is_valid(url), "{url} should be accepted");
        }
    }

    #[test]
    fn accepts_plain_http_only_for_loopback() {
        for url in [
            "http://127.0.0.1:8080/owner/name.git",
            "http://127.1.2.3/owner/name.git",
            "http://localhost:9000/owner/name.git",
            "http://LOCALHOST/owner/name.git",
            "http://[::1]:9000/owner/name.git",
        ] {
            assert!(is_valid(url), "{url} should be accepted");
        }
        for url in [
            "http://github.com/owner/name.git",
            "http://10.0.0.1/owner/name.git",
            "http://128.0.0.1/owner/name.git",
            "http://localhost.evil.com/owner/name.git",
            "http://127.0.0.1.evil.com/owner/name.git",
            "http://[::2]/owner/name.git",
            "http://[::ffff:127.0.0.1]/owner/name.git",
        ] {
            let err = validate_remote_url(url).expect_err(url).to_string();
            assert!(err.contains("HTTPS only"), "{url}: {err}");
            assert!(err.contains("unencrypted"), "{url}: {err}");
        }
    }

    #[test]
    fn refuses_other_schemes_credentials_and_malformed_urls() {
        for url in [
            "ssh://git@github.com/owner/name.git",
            "git@github.com:owner/name.git",
            "git://github.com/owner/name.git",
            "file:///tmp/repo",
            "/tmp/repo",
            "ftp://example.com/owner/name.git",
            "https://user:secret@github.com/owner/name.git",
            "https://ghp_abc@github.com/owner/name.git",
            "http://user:pw@127.0.0.1/owner/name.git",
            "https://github.com",
            "https://github.com/",
            "https:///owner/name.git",
            "https://github.com:/owner/name.git",
            "https://github.com:99999/owner/name.git",
            "https://github.com:0/owner/name.git",
            "https://github.com:abc/owner/name.git",
            "https://[::1/owner/name.git",
            "https://[nope]/owner/name.git",
            "https://git hub.com/owner/name.git",
            "https://github.com/owner/name.git\n",
            "https://gith\u{fc}b.com/owner/name.git",
            "",
        ] {
            let err = validate_remote_url(url).expect_err(url);
            assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
            assert!(err.to_string().contains("HTTPS only"), "{url}: {err}");
        }
        let err = validate_remote_url("https://me:ghp_secret@github.com/o/n.git").unwrap_err();
        assert!(err.to_string().contains("never in the URL"), "{err}");
    }

    #[test]
    fn auth_debug_hides_the_token() {
        let auth = GitAuth {
            token: Some("ghp_supersecret"),
        };
        let shown = format!("{auth:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }

    #[test]
    fn changed_paths_reports_adds_edits_deletes_and_renames() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(tmp.path()).unwrap();
        let moved = "fn moved() {\n    println!(\"a body long enough to be similar\");\n}\n";
        let old = commit(
            &repo,
            &[
                ("src/keep.rs", Some("fn keep() {}\n")),
                ("src/edit.rs", Some("fn edit() {}\n")),
                ("src/gone.rs", Some("fn gone() {}\n")),
                ("src/old_name.rs", Some(moved)),
            ],
        );
        let new = commit(
            &repo,
            &[
                ("src/edit.rs", Some("fn edit() { changed() }\n")),
                ("src/gone.rs", None),
                ("src/old_name.rs", None),
                ("lib/new_name.rs", Some(moved)),
                ("docs/new.md", Some("# New\n")),
            ],
        );
        let changed = changed_paths(tmp.path(), &old.to_string(), &new.to_string()).unwrap();
        let expected = vec![
            ChangedPath {
                path: "docs/new.md".into(),
                status: ChangeStatus::Added,
            },
            ChangedPath {
                path: "lib/new_name.rs".into(),
                status: ChangeStatus::Renamed {
                    from: "src/old_name.rs".into(),
                },
            },
            ChangedPath {
                path: "src/edit.rs".into(),
                status: ChangeStatus::Modified,
            },
            ChangedPath {
                path: "src/gone.rs".into(),
                status: ChangeStatus::Deleted,
            },
        ];
        assert_eq!(changed, expected);
        assert!(
            changed_paths(tmp.path(), &new.to_string(), &new.to_string())
                .unwrap()
                .is_empty()
        );
        // Reversed, the rename goes the other way.
        let back = changed_paths(tmp.path(), &new.to_string(), &old.to_string()).unwrap();
        assert!(back.contains(&ChangedPath {
            path: "src/old_name.rs".into(),
            status: ChangeStatus::Renamed {
                from: "lib/new_name.rs".into()
            },
        }));
        assert_eq!(head_commit(tmp.path()).unwrap(), new.to_string());
    }

    #[test]
    fn changed_paths_rejects_bad_ids_and_missing_repos() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(tmp.path()).unwrap();
        let one = commit(&repo, &[("a.txt", Some("a\n"))]).to_string();
        let err = changed_paths(tmp.path(), "nothex", &one).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        let missing = "0123456789012345678901234567890123456789";
        let err = changed_paths(tmp.path(), missing, &one).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        let empty = tempfile::tempdir().unwrap();
        let err = head_commit(empty.path()).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    }

    /// A loopback port with nothing listening on it.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[test]
    fn failed_clone_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("repos/owner/name");
        let url = format!("http://127.0.0.1:{}/owner/name.git", closed_port());
        let stages = RefCell::new(Vec::new());
        let err = clone_repo(
            &url,
            &dest,
            None,
            &GitAuth::default(),
            &AtomicBool::new(false),
            &|p| stages.borrow_mut().push(p.stage),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("cannot reach 127.0.0.1:"), "{message}");
        assert!(message.contains("(offline?)"), "{message}");
        assert!(message.contains(&url), "{message}");
        assert_eq!(stages.borrow().first(), Some(&GitStage::Connecting));
        // The partial clone and the parent directories this call made are all gone.
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn failed_clone_keeps_existing_parents_and_stale_partials_are_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("name");
        let stale = tmp
            .path()
            .join(format!("name.partial-{}", std::process::id()));
        std::fs::create_dir_all(stale.join("junk")).unwrap();
        let url = format!("http://127.0.0.1:{}/owner/name.git", closed_port());
        let cancel = AtomicBool::new(false);
        clone_repo(&url, &dest, None, &GitAuth::default(), &cancel, &|_| {}).unwrap_err();
        assert!(tmp.path().exists());
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn clone_refuses_existing_dest_bad_urls_and_a_set_cancel_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let url = "https://github.com/owner/name.git";
        let no = AtomicBool::new(false);
        let auth = GitAuth::default();
        let err = clone_repo(url, tmp.path(), None, &auth, &no, &|_| {}).unwrap_err();
        assert!(matches!(err, Error::Refused(_)), "{err:?}");
        assert!(err.to_string().contains("already exists"), "{err}");

        let dest = tmp.path().join("clone");
        let err =
            clone_repo("git://github.com/o/n.git", &dest, None, &auth, &no, &|_| {}).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        let err = clone_repo(url, &dest, Some("bad..name"), &auth, &no, &|_| {}).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");

        let yes = AtomicBool::new(true);
        let err = clone_repo(url, &dest, None, &auth, &yes, &|_| {}).unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
