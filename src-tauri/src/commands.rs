//! The commands of `ui/src/api.ts`, each a thin call into the engine. Blocking engine calls
//! run on the blocking pool; a failure reaches the UI as `{kind, message}` (`ErrorReport`),
//! its kind intact, so the UI can offer the help that fits.

use std::path::Path;
use std::sync::atomic::Ordering;

use ferret_engine::background::JobKind;
use ferret_engine::contract::{event, GitProgressEvent, ProfilesList, Settings};
use ferret_engine::links::agents::{self, AgentSetup};
use ferret_engine::links::deeplink::DeepLink;
use ferret_engine::links::editor::{self};
use ferret_engine::profiles::archive::{ExportReport, ImportReport};
use ferret_engine::profiles::manager::{DeleteReport, LoginOutcome};
use ferret_engine::profiles::secrets::Secret;
use ferret_engine::profiles::security::{SecurityReset, SecuritySettings};
use ferret_engine::remote::github::GitHubRepoChoice;
use ferret_engine::{ErrorKind, ErrorReport};
use ferret_engine::{
    FileContext, ModelStatus, ProfileRecord, ProfileStats, RepoInfo, SearchMode, SearchOptions,
    SearchResults,
};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_dialog::DialogExt;

use crate::state::{err, shell_failure, Res, Shell};

/// Runs `f` on the blocking pool with the shell's state.
async fn blocking<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&AppHandle, &Shell) -> Res<T> + Send + 'static,
) -> Res<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app, &app.state::<Shell>()))
        .await
        .map_err(|e| shell_failure(&format!("a command's worker thread failed: {e}")))?
}

#[tauri::command]
pub async fn profiles_list(app: AppHandle) -> Res<ProfilesList> {
    blocking(app, |_, shell| {
        Ok(ProfilesList {
            profiles: shell.profiles.list().map_err(err)?,
            // The window's own profile; on a first run (nothing chosen yet) empty, and the
            // UI greets the user with the sign-in screen.
            current: match shell.active_id() {
                Some(id) => id,
                None => shell.profiles.chosen().map_err(err)?.unwrap_or_default(),
            },
        })
    })
    .await
}

#[tauri::command]
pub async fn profile_login(
    app: AppHandle,
    api_url: Option<String>,
    token: String,
) -> Res<LoginOutcome> {
    let token = Secret::new(token).map_err(err)?;
    blocking(app, move |app, shell| {
        let outcome = shell
            .profiles
            .login(api_url.as_deref().filter(|u| !u.trim().is_empty()), &token)
            .map_err(err)?;
        shell.activate(app, &outcome.profile.id)?;
        Ok(outcome)
    })
    .await
}

#[tauri::command]
pub async fn profile_create_local(app: AppHandle, id: String) -> Res<ProfileRecord> {
    blocking(app, move |app, shell| {
        let record = shell.profiles.create_local(&id).map_err(err)?;
        shell.activate(app, &record.id)?;
        Ok(record)
    })
    .await
}

#[tauri::command]
pub async fn profile_use(app: AppHandle, id: String) -> Res<ProfileRecord> {
    blocking(app, move |app, shell| {
        let record = shell.profiles.use_profile(&id).map_err(err)?;
        shell.activate(app, &record.id)?;
        Ok(record)
    })
    .await
}

#[tauri::command]
pub async fn profile_logout(app: AppHandle) -> Res<bool> {
    blocking(app, |_, shell| {
        shell.profiles.logout(&shell.current_id()?).map_err(err)
    })
    .await
}

#[tauri::command]
pub async fn profile_delete(app: AppHandle, id: String) -> Res<DeleteReport> {
    blocking(app, move |app, shell| {
        // Unknown ids fail here, before the current profile's work is stopped.
        shell.profiles.get(&id).map_err(err)?;
        let was_current = shell.current_id()? == id;
        if was_current {
            shell.deactivate();
        }
        let deleted = shell.profiles.delete(&id, false);
        // Whatever happened, run the (possibly new) current profile's background work.
        let restarted = shell.current_id().and_then(|cur| shell.activate(app, &cur));
        let report = deleted.map_err(err)?;
        restarted?;
        crate::tray::rebuild(app);
        Ok(report)
    })
    .await
}

#[tauri::command]
pub async fn profile_stats(app: AppHandle, id: Option<String>) -> Res<ProfileStats> {
    blocking(app, move |_, shell| {
        let id = match id {
            Some(id) => id,
            None => shell.current_id()?,
        };
        shell.profiles.stats_of(&id).map_err(err)
    })
    .await
}

#[tauri::command]
pub async fn github_repos(app: AppHandle) -> Res<Vec<GitHubRepoChoice>> {
    blocking(app, |_, shell| {
        shell
            .profiles
            .github_repos(&shell.current_id()?)
            .map_err(err)
    })
    .await
}

#[tauri::command]
pub async fn repos_list(app: AppHandle) -> Res<Vec<RepoInfo>> {
    blocking(app, |app, shell| shell.engine(app)?.repos().map_err(err)).await
}

fn repo_info(shell: &Shell, app: &AppHandle, name: &str) -> Res<RepoInfo> {
    shell
        .engine(app)?
        .repos()
        .map_err(err)?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ErrorReport {
            kind: ErrorKind::NotFound,
            message: format!("repository {name:?} vanished right after being added"),
        })
}

#[tauri::command]
pub async fn repo_add_local(app: AppHandle, path: String) -> Res<RepoInfo> {
    blocking(app, move |app, shell| {
        let row = shell
            .engine(app)?
            .add_repo(Path::new(&path), None)
            .map_err(err)?;
        shell.refresh_repos();
        shell
            .jobs(app)?
            .enqueue(JobKind::Index, Some(&row.name))
            .map_err(err)?;
        repo_info(shell, app, &row.name)
    })
    .await
}

#[tauri::command]
pub async fn repo_add_github(
    app: AppHandle,
    full_name: String,
    branch: Option<String>,
) -> Res<RepoInfo> {
    blocking(app, move |app, shell| {
        shell.clone_cancel.store(false, Ordering::SeqCst);
        let engine = shell.engine(app)?;
        let row = engine
            .add_github_repo(&full_name, branch.as_deref(), &shell.clone_cancel, &|p| {
                let _ = app.emit(
                    event::GIT_PROGRESS,
                    GitProgressEvent {
                        repo: full_name.clone(),
                        progress: p.clone(),
                    },
                );
            })
            .map_err(err)?;
        shell
            .jobs(app)?
            .enqueue(JobKind::Index, Some(&row.name))
            .map_err(err)?;
        repo_info(shell, app, &row.name)
    })
    .await
}

#[tauri::command]
pub async fn repo_remove(app: AppHandle, name: String) -> Res<()> {
    blocking(app, move |app, shell| {
        shell.engine(app)?.remove_repo(&name).map_err(err)?;
        shell.refresh_repos();
        Ok(())
    })
    .await
}

/// Pauses or resumes one repository; resuming queues an index so it catches up.
#[tauri::command]
pub async fn repo_set_paused(app: AppHandle, name: String, paused: bool) -> Res<RepoInfo> {
    blocking(app, move |app, shell| {
        shell
            .engine(app)?
            .set_repo_paused(&name, paused)
            .map_err(err)?;
        shell.refresh_repos();
        if !paused {
            shell
                .jobs(app)?
                .enqueue(JobKind::Index, Some(&name))
                .map_err(err)?;
        }
        repo_info(shell, app, &name)
    })
    .await
}

/// Confirms the folder of a local repository that came with an imported profile; it is
/// then watched and indexed like any other (an index is queued to catch up).
#[tauri::command]
pub async fn repo_confirm(app: AppHandle, name: String) -> Res<RepoInfo> {
    blocking(app, move |app, shell| {
        shell.engine(app)?.confirm_repo(&name).map_err(err)?;
        shell.refresh_repos();
        shell
            .jobs(app)?
            .enqueue(JobKind::Index, Some(&name))
            .map_err(err)?;
        repo_info(shell, app, &name)
    })
    .await
}

#[tauri::command]
pub async fn repo_index(app: AppHandle, name: Option<String>) -> Res<()> {
    blocking(app, move |app, shell| {
        shell
            .jobs(app)?
            .enqueue(JobKind::Index, name.as_deref())
            .map(|_| ())
            .map_err(err)
    })
    .await
}

#[tauri::command]
pub async fn repo_sync(app: AppHandle, name: Option<String>) -> Res<()> {
    blocking(app, move |app, shell| {
        shell
            .jobs(app)?
            .enqueue(JobKind::Sync, name.as_deref())
            .map(|_| ())
            .map_err(err)
    })
    .await
}

/// Pauses (or resumes) the current profile: the runner stops after its current batch and
/// waiting jobs are held; the tray and `ferret daemon` see the same status.
pub fn set_paused(app: &AppHandle, shell: &Shell, paused: bool) -> Res<()> {
    let id = shell.current_id()?;
    shell.profiles.set_paused(&id, paused).map_err(err)?;
    if !paused {
        shell.jobs(app)?.wake();
    }
    shell.announce_jobs(app);
    crate::tray::rebuild(app);
    Ok(())
}

#[tauri::command]
pub async fn index_pause(app: AppHandle) -> Res<()> {
    blocking(app, |app, shell| set_paused(app, shell, true)).await
}

#[tauri::command]
pub async fn index_resume(app: AppHandle) -> Res<()> {
    blocking(app, |app, shell| set_paused(app, shell, false)).await
}

/// Cancels every unfinished job of the current profile (a running one after its current
/// batch) and any clone in progress.
#[tauri::command]
pub async fn index_cancel(app: AppHandle) -> Res<()> {
    blocking(app, |app, shell| {
        shell.clone_cancel.store(true, Ordering::SeqCst);
        shell.engine(app)?.cancel_unfinished_jobs().map_err(err)?;
        shell.jobs(app)?.wake();
        shell.announce_jobs(app);
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn search(
    app: AppHandle,
    query: String,
    mode: SearchMode,
    limit: usize,
) -> Res<SearchResults> {
    blocking(app, move |app, shell| {
        let opts = SearchOptions {
            limit: limit.clamp(1, 200),
            mode,
        };
        shell.engine(app)?.search(&query, &opts).map_err(err)
    })
    .await
}

#[tauri::command]
pub async fn file_context(
    app: AppHandle,
    repo: String,
    path: String,
    line: u32,
    before: u32,
    after: u32,
) -> Res<FileContext> {
    blocking(app, move |app, shell| {
        shell
            .engine(app)?
            .file_context(&repo, &path, line, before, after)
            .map_err(err)
    })
    .await
}

/// Opens a file of the current profile in the configured editor.
pub fn open_file(app: &AppHandle, shell: &Shell, repo: &str, path: &str, line: u32) -> Res<()> {
    let engine = shell.engine(app)?;
    let file = engine.resolve_indexed_file(repo, path).map_err(err)?;
    // Read now: the command may have been reset (Settings, `ferret profile set`) since the
    // engine opened, and a reset command must never run again.
    let config = engine.current_config().map_err(err)?;
    editor::open(config.editor, config.editor_command.as_deref(), &file, line).map_err(err)
}

#[tauri::command]
pub async fn open_in_editor(app: AppHandle, repo: String, path: String, line: u32) -> Res<()> {
    blocking(app, move |app, shell| {
        open_file(app, shell, &repo, &path, line)
    })
    .await
}

#[tauri::command]
pub async fn copy_link(app: AppHandle, repo: String, path: String, line: u32) -> Res<String> {
    blocking(app, move |app, shell| {
        ferret_engine::links::deeplink::validate_relative_path(&path).map_err(err)?;
        let link = DeepLink::Open {
            profile: Some(shell.current_id()?),
            repo,
            path,
            line: line.max(1),
        }
        .to_url();
        if let Err(e) = app.clipboard().write_text(link.clone()) {
            log::warn!("cannot write the clipboard: {e}");
        }
        Ok(link)
    })
    .await
}

#[tauri::command]
pub async fn settings_get(app: AppHandle) -> Res<Settings> {
    blocking(app, |app, shell| {
        let config = shell.profiles.config(&shell.current_id()?).map_err(err)?;
        Ok(Settings::from_config(
            &config,
            app.autolaunch().is_enabled().unwrap_or(false),
        ))
    })
    .await
}

#[tauri::command]
pub async fn settings_set(app: AppHandle, settings: Settings) -> Res<()> {
    blocking(app, move |app, shell| {
        let id = shell.current_id()?;
        let mut config = shell.profiles.config(&id).map_err(err)?;
        settings.apply_to(&mut config);
        shell.deactivate();
        let saved = shell.profiles.set_config(&id, &config).map_err(err);
        // Restart background work with the new excludes, threads and fetch interval.
        shell.activate(app, &id)?;
        saved?;
        let autostart = app.autolaunch();
        if autostart.is_enabled().unwrap_or(false) != settings.start_at_login {
            let changed = if settings.start_at_login {
                autostart.enable()
            } else {
                autostart.disable()
            };
            changed
                .map_err(|e| shell_failure(&format!("cannot change \"start at login\": {e}")))?;
        }
        Ok(())
    })
    .await
}

/// The current profile's security-relevant settings (Settings' Security section).
#[tauri::command]
pub async fn security_get(app: AppHandle) -> Res<SecuritySettings> {
    blocking(app, |_, shell| {
        shell.profiles.security(&shell.current_id()?).map_err(err)
    })
    .await
}

/// Takes one security setting of the current profile back to its default (a Revoke or
/// Reset button); background work restarts with the new settings.
#[tauri::command]
pub async fn security_reset(app: AppHandle, reset: SecurityReset) -> Res<SecuritySettings> {
    blocking(app, move |app, shell| {
        let id = shell.current_id()?;
        if !reset.restarts_engine() {
            return shell.profiles.reset_security(&id, reset).map_err(err);
        }
        shell.deactivate();
        let settings = shell.profiles.reset_security(&id, reset).map_err(err);
        shell.activate(app, &id)?;
        settings
    })
    .await
}

/// The embedding models, which one serves searches, and a switch in progress.
#[tauri::command]
pub async fn model_status(app: AppHandle) -> Res<ModelStatus> {
    blocking(app, |app, shell| {
        shell.engine(app)?.model_status().map_err(err)
    })
    .await
}

/// Switches the current profile to model `id`: recorded by the engine, then re-embedded by
/// a background job while the current model keeps serving searches.
#[tauri::command]
pub async fn model_use(app: AppHandle, id: String) -> Res<ModelStatus> {
    blocking(app, move |app, shell| {
        let status = shell.engine(app)?.use_model(&id).map_err(err)?;
        if status.switch.is_some() {
            shell
                .jobs(app)?
                .enqueue(JobKind::Index, None)
                .map_err(err)?;
        }
        Ok(status)
    })
    .await
}

/// A native file dialog titled `title` that starts at home, where clones and backups
/// usually live, not in GTK's "Recent" list.
fn file_dialog(app: &AppHandle, title: &str) -> tauri_plugin_dialog::FileDialogBuilder<tauri::Wry> {
    let dialog = app.dialog().file().set_title(title);
    match app.path().home_dir() {
        Ok(home) => dialog.set_directory(home),
        Err(_) => dialog,
    }
}

#[tauri::command]
pub async fn pick_folder(app: AppHandle) -> Res<Option<String>> {
    blocking(app, |app, _| {
        let dialog = file_dialog(app, "Add a repository");
        Ok(dialog
            .blocking_pick_folder()
            .and_then(|p| p.into_path().ok())
            .map(|p| p.to_string_lossy().into_owned()))
    })
    .await
}

/// The version, model and directories this build uses (Settings' About).
#[tauri::command]
pub fn about() -> ferret_engine::about::About {
    ferret_engine::about::about(None)
}

/// The page has subscribed to events: links that arrived while it loaded are handled now.
#[tauri::command]
pub fn ui_ready(app: AppHandle) {
    app.state::<crate::links::PendingLinks>().release(&app);
    app.state::<crate::EarlyErrors>().release(&app);
}

/// Follows a link the user agreed to, switching to the profile it names.
#[tauri::command]
pub async fn deep_link_follow(app: AppHandle, url: String, always_allow: bool) -> Res<()> {
    blocking(app, move |app, _| {
        crate::links::follow(app, &url, true, always_allow)
    })
    .await
}

/// How to connect a coding agent to the current profile: the `ferret mcp` command and each
/// known client's configuration (the CLI ships beside the app).
#[tauri::command]
pub async fn agent_setup(app: AppHandle) -> Res<AgentSetup> {
    blocking(app, |_, shell| {
        let exe = std::env::current_exe()
            .map_err(|e| shell_failure(&format!("cannot find this program's path: {e}")))?;
        let data_dir = std::env::var_os("FERRET_DATA_DIR").map(std::path::PathBuf::from);
        Ok(agents::setup(
            &agents::ferret_beside(&exe),
            &shell.current_id()?,
            data_dir.as_deref(),
        ))
    })
    .await
}

/// Puts `text` on the system clipboard (the webview's own clipboard access is unreliable).
#[tauri::command]
pub async fn clipboard_write(app: AppHandle, text: String) -> Res<()> {
    app.clipboard()
        .write_text(text)
        .map_err(|e| shell_failure(&format!("cannot write the clipboard: {e}")))
}

/// Backs up profile `id` to a file the user picks (native save dialog); `None` when the
/// dialog was cancelled.
#[tauri::command]
pub async fn profile_export(app: AppHandle, id: String) -> Res<Option<ExportReport>> {
    blocking(app, move |app, shell| {
        let dialog =
            file_dialog(app, "Export profile").set_file_name(format!("{id}.ferret.tar.gz"));
        let Some(path) = dialog.blocking_save_file().and_then(|p| p.into_path().ok()) else {
            return Ok(None);
        };
        shell.profiles.export(&id, &path).map(Some).map_err(err)
    })
    .await
}

/// Restores a profile from a file the user picks (native open dialog); `None` when the
/// dialog was cancelled. The restored profile becomes the window's.
#[tauri::command]
pub async fn profile_import(app: AppHandle) -> Res<Option<ImportReport>> {
    blocking(app, |app, shell| {
        let dialog = file_dialog(app, "Import profile");
        let Some(path) = dialog.blocking_pick_file().and_then(|p| p.into_path().ok()) else {
            return Ok(None);
        };
        let report = shell.profiles.import(&path, None, false).map_err(err)?;
        shell
            .profiles
            .use_profile(&report.profile.id)
            .map_err(err)?;
        shell.activate(app, &report.profile.id)?;
        crate::tray::rebuild(app);
        Ok(Some(report))
    })
    .await
}
