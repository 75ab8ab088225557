//! `ferret://` links handed to the app (first launch argv, a second launch via
//! single-instance, the OS URL handler) and the tray's "Search clipboard".
//!
//! A link naming a profile other than the current one is not followed at once: the window
//! asks ("Switch profile?", a `deep-link-confirm` event) and follows it only if the user says
//! so (`deep_link_follow`). The question lives in the page rather than a native dialog so it
//! looks like the rest of the app and can be driven in tests. An invalid link shows its error
//! and does nothing else.

use std::sync::Mutex;

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

/// Handles a link off the calling thread (opening an editor may take a moment).
pub fn handle(app: &AppHandle, url: &str) {
    let app = app.clone();
    let url = url.to_string();
    std::thread::spawn(move || {
        if let Err(e) = follow(&app, &url, false) {
            crate::show_window(&app);
            crate::report_error(&app, &e.message);
        }
    });
}

/// Follows a link. With `switch_allowed` (the user said yes) a link for another profile
/// switches to it; without, such a link only asks.
pub fn follow(app: &AppHandle, url: &str, switch_allowed: bool) -> Res<()> {
    let link = DeepLink::parse(url).map_err(ErrorReport::from)?;
    let shell = app.state::<Shell>();
    if let Some(wanted) = link.profile() {
        let current = shell.current_id()?;
        if wanted != current {
            let record = shell.profiles.get(wanted).map_err(ErrorReport::from)?;
            if !switch_allowed {
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
                        profile: wanted.to_string(),
                        profile_name: record.name().to_string(),
                        current,
                        current_name,
                    },
                );
                return Ok(());
            }
            shell
                .profiles
                .use_profile(wanted)
                .map_err(ErrorReport::from)?;
            shell.activate(app, wanted)?;
        }
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
