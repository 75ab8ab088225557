//! What this build is and where it finds things: `ferret --version`, the app's About box,
//! and the check an installed package runs at start.
//!
//! A bug report that says "Ferret 0.1.0" is half an answer; with the model, the ONNX
//! Runtime release and the directories it read, most "it cannot find the model" and "my
//! index is gone" reports answer themselves.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::models::{self, ORT_VERSION};
use crate::pipeline::embed;
use crate::Result;

/// This build's version and the places it uses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct About {
    /// The package version (`Cargo.toml`).
    pub version: String,
    /// The embedding model a new profile uses.
    pub model: String,
    /// The ONNX Runtime release the model runs on.
    pub onnxruntime: String,
    /// Where the model and ONNX Runtime are read from; `None` when none was found (the
    /// error at first use says how to get them).
    pub model_dir: Option<String>,
    /// Why that directory: "FERRET_MODEL_DIR", "data directory", "bundled" (an installed
    /// package), "development checkout" or "given" (an explicit override).
    pub model_dir_source: Option<String>,
    /// The data directory holding every profile.
    pub data_dir: Option<String>,
}

/// Describes this build; `model_dir` is an explicit override (the CLI's `--model-dir`).
pub fn about(model_dir: Option<&Path>) -> About {
    let (dir, source) = match model_dir {
        Some(dir) => (Some(dir.to_path_buf()), Some("given")),
        None => match embed::default_model_dir() {
            Some(dir) => {
                let dir = dir.canonicalize().unwrap_or(dir);
                let source = model_dir_source(&dir);
                (Some(dir), Some(source))
            }
            None => (None, None),
        },
    };
    About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: models::DEFAULT_MODEL.to_string(),
        onnxruntime: ORT_VERSION.to_string(),
        model_dir: dir.map(|d| d.display().to_string()),
        model_dir_source: source.map(str::to_string),
        data_dir: crate::profiles::data_root()
            .ok()
            .map(|d| d.display().to_string()),
    }
}

/// Why `dir` (canonical) was chosen; the candidates are compared canonical too, so a data
/// root reached through a symlink is still recognised.
fn model_dir_source(dir: &Path) -> &'static str {
    let same = |candidate: PathBuf| candidate.canonicalize().is_ok_and(|c| c == dir);
    if std::env::var_os("FERRET_MODEL_DIR").is_some_and(|d| !d.is_empty()) {
        "FERRET_MODEL_DIR"
    } else if crate::profiles::data_root().is_ok_and(|root| same(root.join("models"))) {
        "data directory"
    } else if embed::bundled_model_dir().is_some_and(same) {
        "bundled"
    } else {
        "development checkout"
    }
}

impl About {
    /// The text `ferret --version` prints: the version on the first line, then one
    /// `name: value` line per fact.
    pub fn long_text(&self) -> String {
        let none = || "not found (run scripts/setup.sh or set FERRET_MODEL_DIR)".to_string();
        let model_dir = match (&self.model_dir, &self.model_dir_source) {
            (Some(dir), Some(source)) => format!("{dir} ({source})"),
            (Some(dir), None) => dir.clone(),
            _ => none(),
        };
        format!(
            "{}\nmodel: {}\nonnxruntime: {}\nmodel dir: {}\ndata dir: {}",
            self.version,
            self.model,
            self.onnxruntime,
            model_dir,
            self.data_dir
                .as_deref()
                .unwrap_or("unknown (set FERRET_DATA_DIR)"),
        )
    }
}

/// Checks the model files an installed package ships against their sha256 (a damaged or
/// tampered install fails here, at start, not at the first search). Reads about 50 MB: call
/// it off the UI thread. Nothing to check when the model is not bundled.
pub fn verify_bundled_model() -> Result<Option<PathBuf>> {
    let Some(dir) = embed::bundled_model_dir() else {
        return Ok(None);
    };
    models::find(models::DEFAULT_MODEL)?.check_files(&dir, true)?;
    Ok(Some(dir))
}

/// The `.desktop` entry a package installed beside this executable
/// (`<prefix>/share/applications/Ferret.desktop`): the package registered the `ferret://`
/// handler, so the app must not register a per-user one of its own (it would outlive an
/// uninstall and shadow the package's).
pub fn packaged_desktop_entry() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    let entry = exe
        .parent()?
        .parent()?
        .join("share/applications/Ferret.desktop");
    entry.is_file().then_some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_names_every_fact_and_the_way_out() {
        let about = About {
            version: "1.2.3".into(),
            model: "m".into(),
            onnxruntime: "9.9".into(),
            model_dir: Some("/opt/models".into()),
            model_dir_source: Some("bundled".into()),
            data_dir: Some("/home/u/.local/share/ferret".into()),
        };
        assert_eq!(
            about.long_text(),
            "1.2.3\nmodel: m\nonnxruntime: 9.9\nmodel dir: /opt/models (bundled)\n\
             data dir: /home/u/.local/share/ferret"
        );
        let missing = About {
            model_dir: None,
            model_dir_source: None,
            ..about
        };
        assert!(missing
            .long_text()
            .contains("model dir: not found (run scripts/setup.sh"));
    }

    #[test]
    fn an_explicit_model_dir_is_reported_as_given() {
        let about = about(Some(Path::new("/somewhere/models")));
        assert_eq!(about.model_dir.as_deref(), Some("/somewhere/models"));
        assert_eq!(about.model_dir_source.as_deref(), Some("given"));
        assert_eq!(about.version, env!("CARGO_PKG_VERSION"));
        assert!(models::ORT_LIBRARY.path.ends_with(&about.onnxruntime));
    }
}
