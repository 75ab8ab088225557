//! Which paths of a repository Ferret leaves out, decided in one place for the walker (a
//! whole index run, [`super::walk`]) and the watcher (a saved file,
//! `crate::background::watch`), so a file the watcher ignores is never one the walk would
//! index, and the other way round.
//!
//! The rules, in git's order of precedence: the repository's own `excludes` (gitignore-style
//! globs from the profile config) first; then the `.ignore` and `.gitignore` files of each
//! directory from the path's own directory up to the root, where the deepest file with a
//! matching line decides (a `!negation` there re-includes the path), `.ignore` before
//! `.gitignore` as in ripgrep; then `.git/info/exclude`; then git's global excludes
//! (`core.excludesFile`, by default `~/.config/git/ignore`). Before all of them, the
//! directories Ferret must never read as code, whatever the rules say: its own data
//! directory, when a user keeps it inside a repository (its database, WAL and lock files
//! change on every index run, so indexing or watching them would never end). A path inside an ignored
//! directory is ignored whatever the rules say about the path itself, as in git. Per-directory
//! files are read lazily and cached until [`IgnoreRules::reload`].

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

use super::walk::skip_by_name;
use crate::{Error, Result};

/// Largest `.gitignore` or `.ignore` file read.
const MAX_IGNORE_FILE_BYTES: u64 = 1024 * 1024;

/// The ignore rules of one repository.
pub(crate) struct IgnoreRules {
    root: PathBuf,
    /// Directories inside the repository never indexed or watched (Ferret's data
    /// directory), as paths under `root`.
    skip_dirs: Vec<PathBuf>,
    excludes: Gitignore,
    repo_wide: Vec<Gitignore>,
    dirs: HashMap<PathBuf, Vec<Gitignore>>,
}

impl IgnoreRules {
    /// The rules of the repository at `root` (absolute) with the profile's `excludes`;
    /// nothing under `skip_dirs` is ever taken.
    pub(crate) fn new(
        root: &Path,
        excludes: &[String],
        skip_dirs: &[PathBuf],
    ) -> Result<IgnoreRules> {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in excludes {
            builder.add_line(None, pattern).map_err(|e| {
                Error::InvalidInput(format!("bad exclude pattern {pattern:?}: {e}"))
            })?;
        }
        let excludes = builder
            .build()
            .map_err(|e| Error::InvalidInput(format!("bad exclude patterns: {e}")))?;
        // Compared with paths under `root`, which the walker and the watcher build from the
        // root as given: a skip directory is matched as written and as resolved.
        let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        // Only a skip directory *inside* the repository matters; a repository inside one
        // (a GitHub clone under the data directory's `repos/`) is indexed as usual.
        let skip_dirs = skip_dirs
            .iter()
            .filter_map(|dir| {
                let resolved = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                let rel = resolved.strip_prefix(&canonical_root).ok()?;
                (!rel.as_os_str().is_empty()).then(|| root.join(rel))
            })
            .collect();
        let mut rules = IgnoreRules {
            skip_dirs,
            root: root.to_path_buf(),
            excludes,
            repo_wide: Vec::new(),
            dirs: HashMap::new(),
        };
        rules.reload();
        Ok(rules)
    }

    /// Reads the ignore files again (now for the repository-wide ones, lazily for the
    /// per-directory ones); the profile's excludes do not change.
    pub(crate) fn reload(&mut self) {
        self.dirs.clear();
        self.repo_wide.clear();
        let info_exclude = self.root.join(".git/info/exclude");
        if info_exclude.is_file() {
            let mut builder = GitignoreBuilder::new(&self.root);
            if let Some(err) = builder.add(&info_exclude) {
                log::debug!("{}: {err}", info_exclude.display());
            }
            self.repo_wide
                .push(builder.build().unwrap_or_else(|_| Gitignore::empty()));
        }
        let (global, err) = GitignoreBuilder::new(&self.root).build_global();
        if let Some(err) = err {
            log::debug!("git global excludes: {err}");
        }
        self.repo_wide.push(global);
    }

    /// Whether the watcher drops `path` (absolute, under the root): ignored by the rules
    /// or skipped by name (vendored, generated, binary), itself or any directory above it.
    pub(crate) fn is_ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return true;
        };
        let components: Vec<Component> = rel.components().collect();
        let mut current = self.root.clone();
        for (i, component) in components.iter().enumerate() {
            current.push(component);
            let last = i + 1 == components.len();
            if self.is_dropped(&current, !last || is_dir) {
                return true;
            }
        }
        false
    }

    /// Whether `path` itself is ignored by the rules or skipped by name, assuming the
    /// directories above it are not.
    pub(crate) fn is_dropped(&mut self, path: &Path, is_dir: bool) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return true;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let probe = if is_dir { format!("{rel}/_") } else { rel };
        skip_by_name(&probe).is_some() || self.matches(path, is_dir)
    }

    /// Whether the rules alone (excludes and ignore files, not [`skip_by_name`]) ignore
    /// `path`, assuming the directories above it are not ignored. The walker asks this and
    /// reports name-based skips itself, with their reason.
    pub(crate) fn matches(&mut self, path: &Path, is_dir: bool) -> bool {
        match path.strip_prefix(&self.root) {
            Ok(rel) if !rel.as_os_str().is_empty() => {}
            Ok(_) => return false,
            Err(_) => return true,
        }
        if self.skip_dirs.iter().any(|dir| path.starts_with(dir)) {
            return true;
        }
        if self.excludes.matched(path, is_dir).is_ignore() {
            return true;
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !d.starts_with(&self.root) {
                break;
            }
            for matcher in self.dir_rules(d) {
                match matcher.matched(path, is_dir) {
                    Match::None => {}
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                }
            }
            dir = d.parent();
        }
        self.repo_wide
            .iter()
            .find_map(|m| match m.matched(path, is_dir) {
                Match::None => None,
                other => Some(other.is_ignore()),
            })
            .unwrap_or(false)
    }

    fn dir_rules(&mut self, dir: &Path) -> &[Gitignore] {
        self.dirs.entry(dir.to_path_buf()).or_insert_with(|| {
            [".ignore", ".gitignore"]
                .iter()
                .map(|name| dir.join(name))
                .filter(|file| file.is_file())
                .filter(|file| {
                    // An ignore file this big is data, not rules; reading it would stall
                    // every walk and watch of the repository.
                    let size = file.metadata().map_or(0, |m| m.len());
                    if size > MAX_IGNORE_FILE_BYTES {
                        log::warn!("{}: {size} bytes, too large; ignored", file.display());
                    }
                    size <= MAX_IGNORE_FILE_BYTES
                })
                .map(|file| {
                    let (matcher, err) = Gitignore::new(&file);
                    if let Some(err) = err {
                        log::debug!("{}: {err}", file.display());
                    }
                    matcher
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fs;

    use super::*;
    use crate::pipeline::walk::{walk_repo, WalkOptions};

    /// Nested `.gitignore`s, negations (one that works, one a parent directory blocks), an
    /// anchored pattern, `**`, a deeper `.ignore` re-including what a parent ignores,
    /// `.git/info/exclude`, the profile's excludes, a hidden directory and a vendored one.
    const FILES: &[(&str, &str)] = &[
        (
            ".gitignore",
            "*.log\n!keep.log\nbuild/\n!build/keep.rs\n/top_only.txt\ndocs/**/draft-*.md\n",
        ),
        ("sub/.gitignore", "*.tmp\n!important.tmp\nnested/\n"),
        ("sub/deeper/.ignore", "!*.log\n"),
        (".git/info/exclude", "secret/\n"),
        ("src/main.rs", "fn main() {}\n"),
        ("app.log", "noise\n"),
        ("keep.log", "kept\n"),
        ("build/out.rs", "fn gen() {}\n"),
        ("build/keep.rs", "fn blocked_by_parent() {}\n"),
        ("top_only.txt", "root only\n"),
        ("sub/top_only.txt", "not anchored here\n"),
        ("sub/a.tmp", "tmp\n"),
        ("sub/important.tmp", "re-included\n"),
        ("sub/nested/x.rs", "fn hidden() {}\n"),
        ("sub/deeper/trace.log", "re-included by .ignore\n"),
        ("docs/a/b/draft-1.md", "draft\n"),
        ("docs/a/final.md", "final\n"),
        ("secret/key.rs", "const K: u8 = 1;\n"),
        ("web/app.min.js", "minified\n"),
        ("web/app.js", "let a = 1;\n"),
        (".github/workflows/ci.yml", "on: push\n"),
        ("node_modules/left-pad/index.js", "module.exports = 1;\n"),
    ];

    fn every_file(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name() != Some(".git".as_ref()) {
                    every_file(&path, out);
                }
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn the_walker_and_the_watcher_see_the_same_files_on_a_tricky_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (rel, text) in FILES {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let excludes = vec!["*.min.js".to_string()];
        let walked: BTreeSet<String> = walk_repo(
            root,
            &WalkOptions {
                excludes: excludes.clone(),
                ..WalkOptions::default()
            },
        )
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.rel_path)
        .collect();

        let mut rules = IgnoreRules::new(root, &excludes, &[]).unwrap();
        let mut all = Vec::new();
        every_file(root, &mut all);
        let watched: BTreeSet<String> = all
            .into_iter()
            .filter(|p| !rules.is_ignored(p, false))
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(walked, watched, "the walker and the watcher disagree");

        for kept in [
            "src/main.rs",
            "keep.log",
            "sub/top_only.txt",
            "sub/important.tmp",
            "sub/deeper/trace.log",
            "docs/a/final.md",
            "web/app.js",
            ".github/workflows/ci.yml",
        ] {
            assert!(
                walked.contains(kept),
                "{kept} should be indexed: {walked:?}"
            );
        }
        for dropped in [
            "app.log",
            "build/out.rs",
            "build/keep.rs",
            "top_only.txt",
            "sub/a.tmp",
            "sub/nested/x.rs",
            "docs/a/b/draft-1.md",
            "secret/key.rs",
            "web/app.min.js",
            "node_modules/left-pad/index.js",
        ] {
            assert!(!walked.contains(dropped), "{dropped} should be left out");
        }
    }

    #[test]
    fn a_skip_directory_applies_inside_the_repository_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let clone = data.join("user_data/p/repos/o/n");
        fs::create_dir_all(clone.join("src")).unwrap();
        fs::write(clone.join("src/lib.rs"), "fn f() {}\n").unwrap();
        // A clone under the data directory is indexed as usual.
        let mut rules = IgnoreRules::new(&clone, &[], std::slice::from_ref(&data)).unwrap();
        assert!(!rules.is_ignored(&clone.join("src/lib.rs"), false));
        // The data directory inside a repository is left out.
        let mut rules = IgnoreRules::new(dir.path(), &[], std::slice::from_ref(&data)).unwrap();
        assert!(rules.is_ignored(&data.join("user_data/p/config.json"), false));
        assert!(!rules.is_ignored(&dir.path().join("notes.md"), false));
    }

    #[test]
    fn bad_excludes_are_refused_with_the_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let err = IgnoreRules::new(dir.path(), &["{unclosed".to_string()], &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("{unclosed"), "{err}");
    }
}
