//! The tray icon: status line, Open, Search clipboard, Pause/Resume, profile switcher, Quit.
//! The icon gets a badge while a job runs. Without a tray host (a bare X server, some
//! desktops) building it fails: that is logged and the app carries on without it.

use std::sync::Mutex;

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::state::Shell;
use ferret_engine::contract::JobsChangedEvent;

const TRAY_ID: &str = "main";
const PROFILE_PREFIX: &str = "profile:";

/// The last status shown, so unchanged progress does not redraw the tray.
#[derive(Default)]
pub struct TrayState {
    status: Mutex<Option<(String, bool)>>,
    status_item: Mutex<Option<MenuItem<tauri::Wry>>>,
}

fn icon(running: bool) -> Option<Image<'static>> {
    let bytes: &'static [u8] = if running {
        include_bytes!("../../icons/tray-indexing.png")
    } else {
        include_bytes!("../../icons/32x32.png")
    };
    Image::from_bytes(bytes)
        .map_err(|e| log::warn!("tray icon: {e}"))
        .ok()
}

/// Creates the tray icon; returns false (and logs why) when there is no tray.
pub fn create(app: &AppHandle) -> bool {
    app.manage(TrayState::default());
    let menu = match build_menu(app) {
        Ok(menu) => menu,
        Err(e) => {
            log::warn!("no tray menu: {e}");
            return false;
        }
    };
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Ferret")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = icon(false) {
        builder = builder.icon(icon);
    }
    match builder.build(app) {
        Ok(_) => true,
        Err(e) => {
            log::warn!("no tray icon (is there a system tray?): {e}");
            false
        }
    }
}

fn build_menu(app: &AppHandle) -> tauri::Result<Menu<tauri::Wry>> {
    let shell = app.state::<Shell>();
    let state = shell.jobs_state();
    let status = MenuItem::with_id(app, "status", &state.summary, false, None::<&str>)?;
    let pause = if shell.paused() {
        MenuItem::with_id(app, "resume", "Resume indexing", true, None::<&str>)?
    } else {
        MenuItem::with_id(app, "pause", "Pause indexing", true, None::<&str>)?
    };
    let current = shell.current_id().unwrap_or_default();
    let profiles = shell.profiles.list().unwrap_or_default();
    let items: Vec<CheckMenuItem<tauri::Wry>> = profiles
        .iter()
        .map(|p| {
            let label = match &p.github_login {
                Some(login) => format!("{login} ({})", p.id),
                None => p.display_name.clone(),
            };
            CheckMenuItem::with_id(
                app,
                format!("{PROFILE_PREFIX}{}", p.id),
                label,
                true,
                p.id == current,
                None::<&str>,
            )
        })
        .collect::<tauri::Result<_>>()?;
    let refs: Vec<&dyn tauri::menu::IsMenuItem<tauri::Wry>> = items
        .iter()
        .map(|i| i as &dyn tauri::menu::IsMenuItem<tauri::Wry>)
        .collect();
    let switcher = Submenu::with_id_and_items(app, "profiles", "Switch profile", true, &refs)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "open", "Open Ferret", true, None::<&str>)?,
            &MenuItem::with_id(
                app,
                "search-clipboard",
                "Search clipboard",
                true,
                None::<&str>,
            )?,
            &pause,
            &switcher,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "quit", "Quit Ferret", true, None::<&str>)?,
        ],
    )?;
    if let Some(tray) = app.try_state::<TrayState>() {
        *tray.status_item.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
    }
    Ok(menu)
}

/// Rebuilds the menu (profiles or pause state changed).
pub fn rebuild(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match build_menu(app) {
        Ok(menu) => {
            if let Err(e) = tray.set_menu(Some(menu)) {
                log::warn!("tray menu: {e}");
            }
        }
        Err(e) => log::warn!("tray menu: {e}"),
    }
}

/// Shows the job status in the menu's first line and the tooltip, and swaps the icon while
/// a job runs.
pub fn set_status(app: &AppHandle, state: &JobsChangedEvent) {
    let (Some(tray), Some(tray_state)) = (app.tray_by_id(TRAY_ID), app.try_state::<TrayState>())
    else {
        return;
    };
    let next = (state.summary.clone(), state.running);
    let previous = {
        let mut last = tray_state.status.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() == Some(&next) {
            return;
        }
        last.replace(next)
    };
    if let Some(item) = tray_state
        .status_item
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        let _ = item.set_text(&state.summary);
    }
    let _ = tray.set_tooltip(Some(format!("Ferret: {}", state.summary)));
    if previous.is_none_or(|(_, running)| running != state.running) {
        let _ = tray.set_icon(icon(state.running));
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        "open" => crate::show_window(app),
        "quit" => app.exit(0),
        "search-clipboard" => match app.clipboard().read_text() {
            Ok(text) => crate::links::search_text(app, &text),
            Err(e) => crate::report_error(app, &format!("cannot read the clipboard: {e}")),
        },
        "pause" | "resume" => {
            let app = app.clone();
            std::thread::spawn(move || {
                let shell = app.state::<Shell>();
                if let Err(e) = crate::commands::set_paused(&app, &shell, id_is_pause(&app)) {
                    crate::report_error(&app, &e.message);
                }
            });
        }
        other => {
            if let Some(profile) = other.strip_prefix(PROFILE_PREFIX) {
                let app = app.clone();
                let profile = profile.to_string();
                std::thread::spawn(move || {
                    if let Err(e) = crate::links::switch_profile(&app, &profile) {
                        crate::report_error(&app, &e.message);
                    }
                });
            }
        }
    }
}

/// Whether the pause item should pause now (the profile is not paused yet).
fn id_is_pause(app: &AppHandle) -> bool {
    !app.state::<Shell>().paused()
}
