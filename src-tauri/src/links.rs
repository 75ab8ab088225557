//! `ferret://` links handed to the app (first launch argv, a second launch via
//! single-instance, the OS URL handler) and the tray's "Search clipboard".
//!
//! A link naming a profile other than the current one asks first, with a native dialog;
//! "Stay" drops the link. An invalid link shows its error and does nothing else.

use ferret_engine::deeplink::DeepLink;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use crate::state::Shell;

/// `deep-link-search` payload.
#[derive(Serialize, Clone)]
struct DeepLinkSearchEvent {
    query: String,
    profile: Option<String>,
}

/// Longest query taken from the clipboard.
const MAX_CLIPBOARD_QUERY: usize = 200;

/// Handles a link off the calling thread (the native dialog blocks).
pub fn handle(app: &AppHandle, url: &str) {
    let app = app.clone();
    let url = url.to_string();
    std::thread::spawn(move || {
        if let Err(e) = handle_now(&app, &url) {
            crate::show_window(&app);
            crate::report_error(&app, &e);
        }
    });
}

fn handle_now(app: &AppHandle, url: &str) -> Result<(), String> {
    let link = DeepLink::parse(url).map_err(|e| e.to_string())?;
    let shell = app.state::<Shell>();
    if let Some(wanted) = link.profile() {
        let current = shell.current_id()?;
        if wanted != current {
            let record = shell
                .profiles
                .get(wanted)
                .map_err(|e| format!("the link is for another profile: {e}"))?;
            let name = record.github_login.unwrap_or(record.display_name);
            crate::show_window(app);
            let switch = app
                .dialog()
                .message(format!(
                    "This link belongs to the profile \u{201c}{name}\u{201d} ({wanted}), \
                     not the one you are using ({current}). Switch profiles to follow it?"
                ))
                .title("Switch profile?")
                .kind(MessageDialogKind::Info)
                .buttons(MessageDialogButtons::OkCancelCustom(
                    "Switch".into(),
                    "Stay".into(),
                ))
                .blocking_show();
            if !switch {
                return Ok(());
            }
            shell
                .profiles
                .use_profile(wanted)
                .map_err(|e| e.to_string())?;
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

fn emit_search(app: &AppHandle, query: String, profile: Option<String>) {
    let _ = app.emit("deep-link-search", DeepLinkSearchEvent { query, profile });
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
pub fn switch_profile(app: &AppHandle, id: &str) -> Result<(), String> {
    let shell = app.state::<Shell>();
    shell.profiles.use_profile(id).map_err(|e| e.to_string())?;
    shell.activate(app, id)?;
    if let Some(window) = app.get_webview_window("main") {
        window.reload().map_err(|e| e.to_string())?;
    }
    Ok(())
}
