//! Ferret's desktop shell: one window over the engine. Commands are thin calls into
//! `ferret_engine`; every decision lives there.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::{Arc, Mutex};

use ferret_engine::{Engine, SearchHit, SearchMode, SearchOptions};

/// The open profile, opened on first use so the window shows even before anything is
/// indexed (or when opening fails: the error then shows in the UI).
#[derive(Default)]
struct AppState {
    engine: Mutex<Option<Arc<Engine>>>,
}

impl AppState {
    fn engine(&self) -> Result<Arc<Engine>, String> {
        let mut slot = self
            .engine
            .lock()
            .map_err(|_| "engine state poisoned".to_string())?;
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(Engine::open_default().map_err(|e| e.to_string())?);
        *slot = Some(engine.clone());
        Ok(engine)
    }
}

/// Runs a search; off the main thread so the window stays responsive.
#[tauri::command]
async fn search(
    state: tauri::State<'_, AppState>,
    query: String,
    mode: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<SearchHit>, String> {
    let engine = state.engine()?;
    let mode = match mode {
        Some(m) => m.parse::<SearchMode>().map_err(|e| e.to_string())?,
        None => SearchMode::default(),
    };
    let opts = SearchOptions {
        limit: limit.unwrap_or(30).min(200),
        mode,
    };
    tauri::async_runtime::spawn_blocking(move || engine.search(&query, &opts))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    tauri::Builder::default()
        .manage(AppState::default())
        .invoke_handler(tauri::generate_handler![search])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Ferret");
}
