fn main() {
    // tauri.conf.json lives at the repository root (the layout keeps it there).
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .expect("tauri build step failed");
}
