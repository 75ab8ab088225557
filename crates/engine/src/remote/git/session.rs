//! One clone or fetch as libgit2 sees it: the credential callback (the only place the
//! token goes), progress reports, cancellation, and turning libgit2's failures into errors
//! that say what to do.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use git2::build::CheckoutBuilder;
use git2::{AutotagOption, Cred, CredentialType, FetchOptions, ProxyOptions, RemoteCallbacks};

use crate::error::{Error, ErrorKind, Result};

use super::*;
use crate::remote::url::RemoteUrl;

/// What happened in the credential callback, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthState {
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
    /// A redirect led to another host, which asked for credentials: refused.
    OtherHost,
}

/// State shared by the callbacks of one clone or fetch.
pub(super) struct Session<'a> {
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
    pub(super) fn new(
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
    pub(super) fn should_stop(&self) -> bool {
        if self.cancel.load(Ordering::Relaxed) {
            self.cancelled.set(true);
        }
        self.cancelled.get()
    }

    /// Moves to `stage` and reports it.
    pub(super) fn enter(&self, stage: GitStage) {
        self.current.borrow_mut().stage = stage;
        self.emit();
    }

    pub(super) fn emit(&self) {
        self.last_emit.set(Some(Instant::now()));
        let snapshot = self.current.borrow().clone();
        (self.progress)(&snapshot);
    }

    pub(super) fn on_transfer(&self, stats: &git2::Progress<'_>) -> bool {
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

    pub(super) fn on_credentials(
        &self,
        asking_url: &str,
        allowed: CredentialType,
        token: Option<&str>,
    ) -> Result<Cred, git2::Error> {
        // After a redirect libgit2 asks for the URL it was sent to: the token goes only to
        // the host the repository was added from.
        let same_host = parse_remote_url(asking_url)
            .is_ok_and(|asking| asking.host.eq_ignore_ascii_case(&self.remote.host));
        if token.is_some() && !same_host {
            self.auth.set(AuthState::OtherHost);
            return Err(git2::Error::from_str(
                "the server redirected to another host; the token is not sent there",
            ));
        }
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
    pub(super) fn fetch_options<'s>(&'s self, auth: &'s GitAuth<'_>) -> FetchOptions<'s> {
        let mut callbacks = RemoteCallbacks::new();
        let token = auth.token;
        callbacks.credentials(move |url, _user, allowed| self.on_credentials(url, allowed, token));
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
    pub(super) fn checkout<'s>(&'s self) -> CheckoutBuilder<'s> {
        let mut checkout = CheckoutBuilder::new();
        checkout.progress(move |_path, _done, _total| {
            if self.current.borrow().stage != GitStage::CheckingOut {
                self.enter(GitStage::CheckingOut);
            }
        });
        checkout
    }

    /// Turns a libgit2 failure into an error naming the repository and what to do.
    pub(super) fn error(&self, doing: &str, e: &git2::Error) -> Error {
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
            AuthState::OtherHost => {
                return Error::git(
                    ErrorKind::Refused,
                    format!(
                        "{url} redirected to another host that asked for credentials; Ferret \
                         sends the token only to the host the repository was added from"
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
