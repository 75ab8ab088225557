//! `ferret://` links handed to the app (first launch argv, a second launch via
//! single-instance, the OS URL handler) and the tray's "Search clipboard".
//!
//! A link is not always followed at once: one naming a profile other than the current one,
//! and every link that opens a file in the editor, makes the window ask (a
//! `deep-link-confirm` event) and is followed only if the user says so (`deep_link_follow`,
//! optionally "always allow" opening files of that repository). A web page can fire
//! `ferret://` links; an editor then acts on the file it opens (modelines,
//! `.dir-locals.el`), so opening is the user's decision, limited to indexed files, and links
//! are rate-limited. The question lives in the page rather than a native dialog so it looks
//! like the rest of the app and can be driven in tests. An invalid link shows its error and
//! does nothing else.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferret_engine::contract::{event, DeepLinkConfirmEvent, DeepLinkSearchEvent};
use ferret_engine::links::deeplink::DeepLink;
use ferret_engine::ErrorReport;
use tauri::{AppHandle, Emitter, Manager};

use crate::state::{shell_failure, Res, Shell};

/// Links that arrive while the page cannot listen (starting up, reloading) wait here until
/// it says it is ready (`ui_ready`), so a link that launched the app is never lost.
pub struct PendingLinks(Mutex<Option<Vec<String>>>);

impl PendingLinks {
    /// Holding links from the start: the page is not loaded yet.
    pub fn new() -> Self {
        PendingLinks(Mutex::new(Some(Vec::new())))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<String>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The page is (re)loading: hold links until it is ready again.
    pub fn hold(&self) {
        self.lock().get_or_insert_with(Vec::new);
    }

    /// The page listens now: handle what waited, and every later link at once.
    pub fn release(&self, app: &AppHandle) {
        let waiting = self.lock().take();
        for url in waiting.unwrap_or_default() {
            handle(app, &url);
        }
    }
}

/// Handles a link now if the page is listening, else keeps it for when it is.
pub fn receive(app: &AppHandle, url: String) {
    let pending = app.state::<PendingLinks>();
    let mut waiting = pending.lock();
    match waiting.as_mut() {
        Some(list) => list.push(url),
        None => {
            drop(waiting);
            handle(app, &url)
        }
    }
}

/// Longest query taken from the clipboard.
const MAX_CLIPBOARD_QUERY: usize = 200;

/// At most this many links from outside the app are taken per [`LINK_WINDOW`]; more are a
/// page firing links in a loop, and are dropped with one message.
const LINKS_PER_WINDOW: usize = 5;
const LINK_WINDOW: Duration = Duration::from_secs(10);

/// When the latest links arrived (see [`LINKS_PER_WINDOW`]).
static RECENT_LINKS: Mutex<VecDeque<Instant>> = Mutex::new(VecDeque::new());

/// Whether one more link may be taken now.
fn within_rate(now: Instant) -> bool {
    let mut recent = RECENT_LINKS.lock().unwrap_or_else(|p| p.into_inner());
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) > LINK_WINDOW)
    {
        recent.pop_front();
    }
    if recent.len() >= LINKS_PER_WINDOW {
        return false;
    }
    recent.push_back(now);
    true
}

/// Handles a link off the calling thread (opening an editor may take a moment).
pub fn handle(app: &AppHandle, url: &str) {
    if !within_rate(Instant::now()) {
        log::warn!("dropped a ferret:// link: more than {LINKS_PER_WINDOW} in {LINK_WINDOW:?}");
        crate::report_error(
            app,
            "too many ferret:// links at once: the extra ones were ignored (a web page may be \
             firing them)",
        );
        return;
    }
    let app = app.clone();
    let url = url.to_string();
    std::thread::spawn(move || {
        if let Err(e) = follow(&app, &url, false, false) {
            crate::show_window(&app);
            crate::report_error(&app, &e.message);
        }
    });
}

/// Follows a link. With `consent` (the user said yes in the window) a link for another
/// profile switches to it and a link that opens a file opens it; without, such a link only
/// asks. `always_allow` (with consent) lets links open files of that repository without
/// asking from now on.
pub fn follow(app: &AppHandle, url: &str, consent: bool, always_allow: bool) -> Res<()> {
    let link = DeepLink::parse(url).map_err(ErrorReport::from)?;
    let shell = app.state::<Shell>();
    let current = shell.current_id()?;
    let target = link.profile().unwrap_or(&current).to_string();
    let record = shell.profiles.get(&target).map_err(ErrorReport::from)?;
    let opens_in = match &link {
        DeepLink::Open { repo, path, .. } => {
            // Refused before anything is asked: only indexed files of the profile's
            // repositories can be opened by a link.
            shell
                .profiles
                .engine(&target)
                .and_then(|engine| engine.resolve_indexed_file(repo, path))
                .map_err(ErrorReport::from)?;
            Some(repo.clone())
        }
        DeepLink::Search { .. } => None,
    };
    let allowed = |repo: &str| {
        shell
            .profiles
            .engine(&target)
            .and_then(|engine| engine.link_open_allowed(repo))
            .unwrap_or(false)
    };
    let must_ask = target != current || opens_in.as_deref().is_some_and(|r| !allowed(r));
    if must_ask && !consent {
        let current_name = shell
            .profiles
            .get(&current)
            .map(|r| r.name().to_string())
            .unwrap_or_else(|_| current.clone());
        crate::show_window(app);
        let _ = app.emit(
            event::DEEP_LINK_CONFIRM,
            DeepLinkConfirmEvent {
                url: url.to_string(),
                action: describe(&link),
                opens_in,
                profile: target,
                profile_name: record.name().to_string(),
                current,
                current_name,
            },
        );
        return Ok(());
    }
    if target != current {
        shell
            .profiles
            .use_profile(&target)
            .map_err(ErrorReport::from)?;
        shell.activate(app, &target)?;
    }
    if let (true, Some(repo)) = (always_allow, &opens_in) {
        shell
            .profiles
            .engine(&target)
            .and_then(|engine| engine.allow_link_open(repo))
            .map_err(ErrorReport::from)?;
    }
    match &link {
        DeepLink::Search { profile, .. } => {
            crate::show_window(app);
            emit_search(
                app,
                link.search_query().unwrap_or_default(),
                profile.clone(),
            );
            Ok(())
        }
        DeepLink::Open {
            repo, path, line, ..
        } => crate::commands::open_file(app, &shell, repo, path, *line),
    }
}

fn describe(link: &DeepLink) -> String {
    match link {
        DeepLink::Search { .. } => format!(
            "search for \u{201c}{}\u{201d}",
            link.search_query().unwrap_or_default()
        ),
        DeepLink::Open {
            repo, path, line, ..
        } => format!("open {repo}/{path}:{line}"),
    }
}

fn emit_search(app: &AppHandle, query: String, profile: Option<String>) {
    log::info!("link: showing the search {query:?}");
    let _ = app.emit(
        event::DEEP_LINK_SEARCH,
        DeepLinkSearchEvent { query, profile },
    );
}

/// Searches for the first line of `text` (the tray's "Search clipboard").
pub fn search_text(app: &AppHandle, text: &str) {
    let query: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(MAX_CLIPBOARD_QUERY)
        .collect();
    if query.is_empty() {
        crate::report_error(app, "the clipboard holds no text to search for");
        return;
    }
    crate::show_window(app);
    emit_search(app, query, None);
}

/// Switches to another profile from the tray; the page reloads so every screen shows the
/// new profile.
pub fn switch_profile(app: &AppHandle, id: &str) -> Res<()> {
    let shell = app.state::<Shell>();
    shell.profiles.use_profile(id).map_err(ErrorReport::from)?;
    shell.activate(app, id)?;
    if let Some(window) = app.get_webview_window("main") {
        window
            .reload()
            .map_err(|e| shell_failure(&format!("cannot reload the window: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_rate_limited_per_window() {
        let start = Instant::now();
        for _ in 0..LINKS_PER_WINDOW {
            assert!(within_rate(start));
        }
        assert!(
            !within_rate(start),
            "a page firing links in a loop is cut off"
        );
        assert!(within_rate(start + LINK_WINDOW + Duration::from_millis(1)));
    }
}
