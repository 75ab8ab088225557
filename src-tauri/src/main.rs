//! Ferret's desktop shell: a window, a tray icon and `ferret://` links over the engine.
//! Commands are thin calls into `ferret_engine`; every decision lives there.
//!
//! Closing the window hides it: indexing goes on in the tray until "Quit". Launched with
//! `--minimized` (what "start at login" registers) the window starts hidden.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod links;
mod state;
mod tray;

use ferret_engine::{Profiles, ProfilesOptions};
use tauri::webview::{NewWindowResponse, PageLoadEvent};
use tauri::{AppHandle, Emitter, Manager, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_deep_link::DeepLinkExt;
use tauri_plugin_notification::NotificationExt;
use tauri_plugin_opener::OpenerExt;

use crate::links::PendingLinks;
use crate::state::Shell;
use ferret_engine::contract::ErrorEvent;

/// How long quitting waits for background work to reach a safe point (the current
/// embedding batch) before leaving anyway.
const QUIT_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The flag "start at login" launches the app with.
const MINIMIZED_FLAG: &str = "--minimized";

/// Shows, unminimises and focuses the main window.
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Sends an `error` event the UI shows as a toast, and logs it.
pub fn report_error(app: &AppHandle, message: &str) {
    log::warn!("{message}");
    let _ = app.emit(
        ferret_engine::contract::event::ERROR,
        ErrorEvent {
            message: message.to_string(),
        },
    );
}

/// Errors found while the page could not listen yet (the bundled-model check at start):
/// they wait for `ui_ready` so the toast is not lost; later ones are reported at once.
pub struct EarlyErrors(std::sync::Mutex<Option<Vec<String>>>);

impl EarlyErrors {
    fn new() -> Self {
        EarlyErrors(std::sync::Mutex::new(Some(Vec::new())))
    }

    /// Reports `message` now if the page listens, else when it says it is ready.
    pub fn report(&self, app: &AppHandle, message: String) {
        let mut waiting = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match waiting.as_mut() {
            Some(list) => {
                log::warn!("{message}");
                list.push(message);
            }
            None => {
                drop(waiting);
                report_error(app, &message);
            }
        }
    }

    /// The page listens: report what waited.
    pub fn release(&self, app: &AppHandle) {
        let waiting = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        for message in waiting.unwrap_or_default() {
            let _ = app.emit(
                ferret_engine::contract::event::ERROR,
                ErrorEvent { message },
            );
        }
    }
}

/// A desktop notification; failures (no notification daemon) are only logged.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        log::info!("no notification ({title}): {e}");
    }
}

fn create_window(app: &AppHandle, minimized: bool) -> tauri::Result<()> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .unwrap_or_default();
    let opener = app.clone();
    let loaded = app.clone();
    WebviewWindowBuilder::from_config(app, &config)?
        .visible(!minimized)
        // Links with target="_blank" (the token page on GitHub) open in the browser.
        .on_new_window(move |url, _| {
            if matches!(url.scheme(), "https" | "http") {
                if let Err(e) = opener.opener().open_url(url.as_str(), None::<&str>) {
                    report_error(&opener, &format!("cannot open {url}: {e}"));
                }
            }
            NewWindowResponse::Deny
        })
        // The page never navigates away from the app: a link or script pointing elsewhere is
        // refused (the app's content is served locally; target="_blank" links open in the
        // browser above).
        .on_navigation(|url| {
            let local = matches!(url.scheme(), "tauri" | "asset")
                || matches!(
                    url.host_str(),
                    Some("localhost" | "tauri.localhost" | "127.0.0.1")
                );
            if !local {
                log::warn!("refused to navigate the window to {url}");
            }
            local
        })
        .on_page_load(move |_, payload| {
            // Until the page says it listens (`ui_ready`), links wait.
            if payload.event() == PageLoadEvent::Started {
                loaded.state::<PendingLinks>().hold();
            }
        })
        .build()?;
    Ok(())
}

fn main() {
    ferret_engine::redact::init_logging("warn");
    let profiles = match Profiles::open(ProfilesOptions::default()) {
        Ok(profiles) => profiles,
        Err(e) => {
            eprintln!("Ferret cannot open its data directory: {e}");
            std::process::exit(1);
        }
    };
    let minimized = std::env::args().any(|a| a == MINIMIZED_FLAG);
    tauri::Builder::default()
        // First, so a second launch exits before doing anything else; with the
        // `deep-link` feature its ferret:// argument arrives through on_open_url below.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![MINIMIZED_FLAG]),
        ))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_opener::init())
        .manage(Shell::new(profiles))
        .manage(PendingLinks::new())
        .manage(EarlyErrors::new())
        .setup(move |app| {
            let handle = app.handle().clone();
            create_window(&handle, minimized)?;
            if !tray::create(&handle) && minimized {
                // Hidden with no tray to bring it back would be a ghost: show it.
                show_window(&handle);
            }
            // An installed package registered the handler in its .desktop entry; a per-user
            // one would shadow it and outlive an uninstall. Run from a build, register.
            #[cfg(any(target_os = "linux", windows))]
            if ferret_engine::about::packaged_desktop_entry().is_none() {
                if let Err(e) = app.deep_link().register_all() {
                    log::warn!("cannot register the ferret:// handler: {e}");
                }
            }
            // A damaged install fails now, in a toast naming the file, not at first search.
            let checker = handle.clone();
            std::thread::spawn(move || match ferret_engine::about::verify_bundled_model() {
                Ok(Some(dir)) => log::info!("bundled model verified in {}", dir.display()),
                Ok(None) => {}
                Err(e) => checker
                    .state::<EarlyErrors>()
                    .report(&checker, e.to_string()),
            });
            let links = handle.clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    links::receive(&links, url.to_string());
                }
            });
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    links::receive(&handle, url.to_string());
                }
            }
            // Start the current profile's background work (and the tray's status) now, so
            // indexing resumes even while the window stays hidden.
            // On a first run nobody has chosen a profile yet: the window greets the user
            // and nothing starts until they sign in or pick a local profile.
            let starter = handle.clone();
            std::thread::spawn(move || {
                let shell = starter.state::<Shell>();
                match shell.profiles.chosen() {
                    Ok(Some(_)) => {
                        if let Err(e) = shell.engine(&starter) {
                            report_error(&starter, &e.message);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => report_error(&starter, &e.to_string()),
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" && window.app_handle().tray_by_id("main").is_some() {
                    // Indexing continues in the tray; "Quit" there ends the app.
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::profiles_list,
            commands::profile_login,
            commands::profile_create_local,
            commands::profile_use,
            commands::profile_logout,
            commands::profile_delete,
            commands::profile_stats,
            commands::github_repos,
            commands::repos_list,
            commands::repo_add_local,
            commands::repo_add_github,
            commands::repo_remove,
            commands::repo_set_paused,
            commands::repo_confirm,
            commands::repo_index,
            commands::repo_sync,
            commands::index_pause,
            commands::index_resume,
            commands::index_cancel,
            commands::search,
            commands::file_context,
            commands::open_in_editor,
            commands::copy_link,
            commands::settings_get,
            commands::settings_set,
            commands::security_get,
            commands::security_reset,
            commands::model_status,
            commands::model_use,
            commands::agent_setup,
            commands::profile_export,
            commands::profile_import,
            commands::clipboard_write,
            commands::pick_folder,
            commands::ui_ready,
            commands::about,
            commands::deep_link_follow,
        ])
        .build(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while starting Ferret")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                app.state::<Shell>().shut_down(QUIT_GRACE);
            }
        });
}
