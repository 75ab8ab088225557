//! Where the eval set's repositories are on this machine.

use std::path::{Path, PathBuf};

use super::load_cases;

/// Crate sources the eval set uses, pinned by the workspace's Cargo.lock.
const CRATES: &[(&str, &str)] = &[("ignore", "ignore-0.4.34"), ("globset", "globset-0.4.21")];
/// The pip whose line numbers the eval set records (bundled with CPython 3.11.7).
pub const PIP_VERSION: &str = "23.2.1";

/// Where the eval repos live on this machine: name -> directory, for every repository the
/// cases file mentions (in order of first mention). `FERRET_EVAL_REPO_<NAME>` overrides the
/// lookup; otherwise crates are found under `$CARGO_HOME/registry/src/*/`, `pip` through
/// `python3`, and the rest in the directory `tests/eval/fetch-repos.sh` fills
/// (`FERRET_EVAL_REPOS`, default `.cache/eval-repos` at the top of the checkout that holds the
/// cases file). Missing ones (or a pip of another version) are reported as `None`, not fatal.
pub fn locate_repos(cases_file: &Path) -> Vec<(String, Option<PathBuf>)> {
    let cases = match load_cases(cases_file) {
        Ok(cases) => cases,
        Err(e) => {
            log::warn!("{e}");
            return Vec::new();
        }
    };
    let fetched = fetched_repos_dir(cases_file);
    let mut names: Vec<String> = Vec::new();
    for case in &cases {
        if !names.contains(&case.repo) {
            names.push(case.repo.clone());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let dir = locate_repo(&name, fetched.as_deref());
            (name, dir)
        })
        .collect()
}

/// `FERRET_EVAL_REPOS`, or `.cache/eval-repos` in the nearest ancestor of the cases file
/// that has one.
fn fetched_repos_dir(cases_file: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FERRET_EVAL_REPOS").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let absolute = std::fs::canonicalize(cases_file).ok()?;
    absolute
        .ancestors()
        .map(|a| a.join(".cache").join("eval-repos"))
        .find(|d| d.is_dir())
}

fn locate_repo(name: &str, fetched: Option<&Path>) -> Option<PathBuf> {
    let var = format!("FERRET_EVAL_REPO_{}", name.to_ascii_uppercase());
    if let Some(dir) = std::env::var_os(&var) {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    if let Some((_, dir_name)) = CRATES.iter().find(|(n, _)| *n == name) {
        return find_crate_source(dir_name);
    }
    if name == "pip" {
        return find_pip();
    }
    if let Some(dir) = fetched.map(|f| f.join(name)).filter(|d| d.is_dir()) {
        return Some(dir);
    }
    log::warn!(
        "eval repository {name} is not on this machine: run tests/eval/fetch-repos.sh, or set {var} to its directory"
    );
    None
}

fn cargo_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home));
    }
    directories::BaseDirs::new().map(|d| d.home_dir().join(".cargo"))
}

/// `$CARGO_HOME/registry/src/<any index>/<dir_name>`.
fn find_crate_source(dir_name: &str) -> Option<PathBuf> {
    let src = cargo_home()?.join("registry").join("src");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&src)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(dir_name))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// `pip/_internal` of the `python3` on PATH, when its version is [`PIP_VERSION`].
fn find_pip() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import pip,os;print(pip.__version__);print(os.path.dirname(pip.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let version = lines.next()?.trim();
    let dir = PathBuf::from(lines.next()?.trim()).join("_internal");
    if version != PIP_VERSION {
        log::warn!(
            "python3 has pip {version} but the eval set records pip {PIP_VERSION}: skipping pip"
        );
        return None;
    }
    dir.is_dir().then_some(dir)
}
