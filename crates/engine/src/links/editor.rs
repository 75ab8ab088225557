//! Opening a search result in the user's editor at the exact line (DESIGN.md section 5).
//!
//! [`command_line`] is pure: it turns an editor choice, a file and a line into a program and
//! its arguments. Nothing goes through a shell, so a file name like `a;rm -rf ~.rs` is one
//! argument, never a command. [`open`] spawns that program detached and, when it is not
//! installed, says how to install it or pick another editor.
//!
//! Launchers, by editor:
//! - VS Code: `code -g PATH:LINE` (the `code` shell command; Command Palette → "Shell
//!   Command: Install 'code' command in PATH").
//! - JetBrains: `idea --line LINE PATH`. The other IDEs take the same arguments with their
//!   own launcher (`pycharm`, `webstorm`, `goland`, `clion`, `rustrover`, ...): use the custom
//!   editor with `pycharm --line {line} {path}` for those. Toolbox → Settings → "Shell
//!   scripts" creates the launchers.
//! - Vim / Neovim: run in a terminal, `x-terminal-emulator -e vim +LINE PATH` (Debian's
//!   alternatives pick the terminal).
//! - Emacs: `emacsclient -n +LINE PATH` (needs a running server: `M-x server-start`).
//! - Sublime Text: `subl PATH:LINE`. Zed: `zed PATH:LINE`.
//! - Custom: a template such as `kate --line {line} {path}`, split like a shell would
//!   (quotes and backslashes) but never run by one.

use std::path::Path;
use std::process::{Command, Stdio};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which editor opens results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum EditorKind {
    #[default]
    Vscode,
    Jetbrains,
    Vim,
    Neovim,
    Emacs,
    Sublime,
    Zed,
    /// A user template with `{path}` and `{line}` placeholders.
    Custom,
}

impl EditorKind {
    pub const ALL: [EditorKind; 8] = [
        EditorKind::Vscode,
        EditorKind::Jetbrains,
        EditorKind::Vim,
        EditorKind::Neovim,
        EditorKind::Emacs,
        EditorKind::Sublime,
        EditorKind::Zed,
        EditorKind::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EditorKind::Vscode => "vscode",
            EditorKind::Jetbrains => "jetbrains",
            EditorKind::Vim => "vim",
            EditorKind::Neovim => "neovim",
            EditorKind::Emacs => "emacs",
            EditorKind::Sublime => "sublime",
            EditorKind::Zed => "zed",
            EditorKind::Custom => "custom",
        }
    }

    /// The editor as the Settings page lists it.
    pub fn choice_label(self) -> &'static str {
        match self {
            EditorKind::Custom => "Custom command…",
            other => other.display_name(),
        }
    }

    /// The editor's name as people say it.
    pub fn display_name(self) -> &'static str {
        match self {
            EditorKind::Vscode => "VS Code",
            EditorKind::Jetbrains => "JetBrains IDEA",
            EditorKind::Vim => "Vim",
            EditorKind::Neovim => "Neovim",
            EditorKind::Emacs => "Emacs",
            EditorKind::Sublime => "Sublime Text",
            EditorKind::Zed => "Zed",
            EditorKind::Custom => "the custom editor",
        }
    }

    /// Where to get the launcher when it is missing.
    fn install_hint(self) -> &'static str {
        match self {
            EditorKind::Vscode => {
                "install it from https://code.visualstudio.com (or run \"Shell Command: Install \
                 'code' command in PATH\" from VS Code's Command Palette)"
            }
            EditorKind::Jetbrains => {
                "create it in JetBrains Toolbox → Settings → Shell scripts \
                 (https://www.jetbrains.com/toolbox-app/)"
            }
            EditorKind::Vim | EditorKind::Neovim => {
                "install the editor and a terminal (e.g. `sudo apt install neovim xterm`)"
            }
            EditorKind::Emacs => {
                "install Emacs (https://www.gnu.org/software/emacs/) and run `M-x server-start`"
            }
            EditorKind::Sublime => "install it from https://www.sublimetext.com",
            EditorKind::Zed => "install it from https://zed.dev",
            EditorKind::Custom => "check the command template",
        }
    }
}

impl FromStr for EditorKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        EditorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown editor {s:?}: use vscode, jetbrains, vim, neovim, emacs, sublime, \
                     zed or custom"
                ))
            })
    }
}

/// A program and its arguments, ready to spawn without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub program: String,
    pub args: Vec<String>,
}

/// The command that opens `path` at `line` (1-based) in `kind`; `template` is used for
/// [`EditorKind::Custom`] and must contain `{path}`.
pub fn command_line(
    kind: EditorKind,
    template: Option<&str>,
    path: &Path,
    line: u32,
) -> Result<CommandLine> {
    let line = line.max(1);
    let file = path.to_string_lossy().into_owned();
    let at = format!("{file}:{line}");
    let plus = format!("+{line}");
    let (program, args): (&str, Vec<String>) = match kind {
        EditorKind::Vscode => ("code", vec!["-g".into(), at]),
        EditorKind::Jetbrains => ("idea", vec!["--line".into(), line.to_string(), file]),
        EditorKind::Vim | EditorKind::Neovim => {
            let editor = if kind == EditorKind::Vim {
                "vim"
            } else {
                "nvim"
            };
            let launcher = terminal_launcher(editor, line, &file)?;
            (
                "x-terminal-emulator",
                vec!["-e".into(), launcher.to_string_lossy().into_owned()],
            )
        }
        EditorKind::Emacs => ("emacsclient", vec!["-n".into(), plus, file]),
        EditorKind::Sublime => ("subl", vec![at]),
        EditorKind::Zed => ("zed", vec![at]),
        EditorKind::Custom => return custom_command(template, &file, line),
    };
    Ok(CommandLine {
        program: program.into(),
        args,
    })
}

/// A terminal editor runs inside `x-terminal-emulator -e …`, and terminals disagree on what
/// follows `-e`: some take it as argv, some (Debian's gnome-terminal wrapper among them)
/// join it into one string and split it again, so a file named `x -c !cmd .rs` would hand
/// vim a `-c` command. The terminal therefore gets one word it cannot split: a private
/// launcher script whose single-quoted words are the editor, `+LINE`, `--` (nothing after
/// it is an option) and the file. The script deletes itself as it starts.
fn terminal_launcher(editor: &str, line: u32, file: &str) -> Result<std::path::PathBuf> {
    use std::io::Write;
    let dir = launcher_dir()?;
    let mut script = tempfile::Builder::new()
        .prefix("open-")
        .suffix(".sh")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(format!("cannot create a launcher in {}", dir.display()), e))?;
    let text = format!(
        "#!/bin/sh\nrm -f -- \"$0\"\nexec {} {} -- {}\n",
        sh_word(editor),
        sh_word(&format!("+{line}")),
        sh_word(file)
    );
    script
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write the editor launcher", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot make the editor launcher executable", e))?;
    }
    let (_, path) = script
        .keep()
        .map_err(|e| Error::io("cannot keep the editor launcher", e.error))?;
    Ok(path)
}

/// A private directory for launchers: `ferret` in `$XDG_RUNTIME_DIR` (the user's own
/// runtime directory, 0700 by the spec) when the session has one, else `ferret-<uid>` in
/// the system temp dir, where any user can create that name first (as a symlink to a
/// directory they control, or a directory of their own with a launcher waiting in it). So
/// the directory is trusted only as [`owned_private_dir`] checks it.
#[cfg(unix)]
fn launcher_dir() -> Result<std::path::PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => Path::new(&runtime).join("ferret"),
        None => std::env::temp_dir().join(format!("ferret-{}", crate::ipc::peer::own_uid())),
    };
    owned_private_dir(&dir)?;
    Ok(dir)
}

#[cfg(not(unix))]
fn launcher_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join("ferret-user");
    crate::profiles::private::private_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` with mode 0700, or accepts the one there only if it is a real directory
/// (not a symlink, which is not followed), owned by this user and 0700. Anything else is
/// refused, not repaired: someone else made it, and what it holds cannot be trusted.
#[cfg(unix)]
fn owned_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::io(
                format!(
                    "cannot create the editor launcher directory {}",
                    dir.display()
                ),
                e,
            ))
        }
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    let uid = crate::ipc::peer::own_uid();
    let problem = if !meta.file_type().is_dir() {
        Some("is not a directory (a symlink?)".to_string())
    } else if meta.uid() != uid {
        Some(format!(
            "belongs to user {}, not to you (user {uid})",
            meta.uid()
        ))
    } else if meta.mode() & 0o777 != 0o700 {
        Some(format!(
            "has mode {:o}, not 0700 (private to you)",
            meta.mode() & 0o777
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::Refused(format!(
            "the editor launcher directory {} {problem}: remove it (it holds nothing Ferret \
             needs) and open the result again",
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// `s` as one POSIX shell word: single-quoted, with `'` written as `'\''`.
fn sh_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn custom_command(template: Option<&str>, file: &str, line: u32) -> Result<CommandLine> {
    let template = template.map(str::trim).unwrap_or("");
    if template.is_empty() {
        return Err(Error::InvalidInput(
            "the custom editor has no command: set one in Settings, e.g. \
             `kate --line {line} {path}`"
                .into(),
        ));
    }
    if !template.contains("{path}") {
        return Err(Error::InvalidInput(format!(
            "the custom editor command {template:?} has no {{path}} placeholder: \
             e.g. `kate --line {{line}} {{path}}`"
        )));
    }
    // Split first, substitute after: a placeholder's value is never re-split or re-parsed.
    let mut words = split_words(template)?.into_iter().map(|w| {
        w.replace("{path}", file)
            .replace("{line}", &line.to_string())
    });
    let program = words.next().unwrap_or_default();
    Ok(CommandLine {
        program,
        args: words.collect(),
    })
}

/// Splits a command template into words like a POSIX shell would (whitespace separates;
/// single quotes keep everything; double quotes keep everything but `\"` and `\\`; a
/// backslash outside quotes escapes the next character), with no expansion of any kind.
pub fn split_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(unclosed(text, "'")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(unclosed(text, "\"")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(unclosed(text, "\"")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn unclosed(text: &str, quote: &str) -> Error {
    Error::InvalidInput(format!(
        "the editor command {text:?} has an unclosed {quote} quote"
    ))
}

/// Opens `path` at `line` in the chosen editor, detached (the editor outlives Ferret and
/// its output is discarded). A missing launcher is reported with how to get it.
pub fn open(kind: EditorKind, template: Option<&str>, path: &Path, line: u32) -> Result<()> {
    let cmd = command_line(kind, template, path, line)?;
    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: closing Ferret (or Ctrl-C in its terminal) leaves the
        // editor alone.
        command.process_group(0);
    }
    match command.spawn() {
        Ok(mut child) => {
            // Reap it in the background so it never lingers as a zombie.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound(format!(
            "{}'s `{}` command was not found on PATH: {}, or pick another editor in Settings",
            kind.display_name(),
            cmd.program,
            kind.install_hint()
        ))),
        Err(e) => Err(Error::io(
            format!("cannot start {} (`{}`)", kind.display_name(), cmd.program),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cl(kind: EditorKind, template: Option<&str>, path: &str, line: u32) -> Vec<String> {
        let c = command_line(kind, template, Path::new(path), line).unwrap();
        std::iter::once(c.program).chain(c.args).collect()
    }

    #[test]
    fn each_editor_opens_at_the_line() {
        let p = "/src/a b/main.rs";
        assert_eq!(
            cl(EditorKind::Vscode, None, p, 42),
            ["code", "-g", "/src/a b/main.rs:42"]
        );
        assert_eq!(
            cl(EditorKind::Jetbrains, None, p, 42),
            ["idea", "--line", "42", p]
        );
        for kind in [EditorKind::Vim, EditorKind::Neovim] {
            let c = cl(kind, None, p, 42);
            assert_eq!(c[..2], ["x-terminal-emulator", "-e"]);
            assert_eq!(c.len(), 3, "one word after -e: {c:?}");
            assert!(!c[2].contains(' '), "{c:?}");
            let _ = std::fs::remove_file(&c[2]);
        }
        assert_eq!(
            cl(EditorKind::Emacs, None, p, 42),
            ["emacsclient", "-n", "+42", p]
        );
        assert_eq!(
            cl(EditorKind::Sublime, None, p, 42),
            ["subl", "/src/a b/main.rs:42"]
        );
        assert_eq!(
            cl(EditorKind::Zed, None, p, 0),
            ["zed", "/src/a b/main.rs:1"],
            "line 0 is clamped to 1"
        );
    }

    /// A hostile file name reaches vim as one file name after `--`, however the terminal
    /// splits what follows `-e` (the launcher is run here by `sh`, with a `vim` that records
    /// its arguments).
    #[cfg(unix)]
    #[test]
    fn hostile_file_names_reach_vim_as_one_argument() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let record = dir.path().join("argv");
        std::fs::write(
            bin.join("vim"),
            format!(
                "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\n",
                record.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(bin.join("vim"), std::fs::Permissions::from_mode(0o755)).unwrap();
        for hostile in [
            "/repo/x -c !touch pwned .rs",
            "/repo/it's; rm -rf ~ .rs",
            "/repo/$(id)`id`\\n.rs",
        ] {
            let c = command_line(EditorKind::Vim, None, Path::new(hostile), 7).unwrap();
            let launcher = &c.args[1];
            let status = std::process::Command::new("sh")
                .arg(launcher)
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
            let argv = std::fs::read_to_string(&record).unwrap();
            assert_eq!(argv, format!("+7\n--\n{hostile}\n"), "{hostile}");
            assert!(!Path::new(launcher).exists(), "the launcher removes itself");
            assert!(!dir.path().join("pwned").exists());
        }
    }

    #[test]
    fn custom_templates_split_without_a_shell() {
        assert_eq!(
            cl(
                EditorKind::Custom,
                Some("kate --line {line} {path}"),
                "/x/y.rs",
                7
            ),
            ["kate", "--line", "7", "/x/y.rs"]
        );
        assert_eq!(
            cl(
                EditorKind::Custom,
                Some(r#"'/opt/My Editor/bin/ed' "--goto={path}:{line}" -a\ b"#),
                "/x/y.rs",
                3
            ),
            ["/opt/My Editor/bin/ed", "--goto=/x/y.rs:3", "-a b"]
        );
        // A hostile file name stays one argument: no splitting, no expansion.
        let evil = "/r/$(touch pwned); rm -rf ~ 'x'.rs";
        assert_eq!(
            cl(EditorKind::Custom, Some("ed {path}"), evil, 1),
            ["ed", evil]
        );
        assert_eq!(
            cl(EditorKind::Vscode, None, evil, 1)[2],
            format!("{evil}:1")
        );
    }

    #[test]
    fn bad_custom_templates_are_explained() {
        let no_path = Path::new("/a");
        for (template, needle) in [
            (None, "no command"),
            (Some("  "), "no command"),
            (Some("kate --line {line}"), "{path}"),
            (Some("kate '{path}"), "unclosed '"),
            (Some("kate \"{path}"), "unclosed \""),
        ] {
            let err = command_line(EditorKind::Custom, template, no_path, 1)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{template:?}: {err}");
        }
    }

    #[test]
    fn kinds_parse_and_serialise() {
        for kind in EditorKind::ALL {
            assert_eq!(kind.as_str().parse::<EditorKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert!("notepad".parse::<EditorKind>().is_err());
    }

    /// The launcher directory in a shared temp dir is used only when it is a real
    /// directory of this user's with mode 0700; a symlink planted under its name (to a
    /// directory another user controls), a loose mode or another owner are refused, and
    /// nothing is changed in what they point to.
    #[cfg(unix)]
    #[test]
    fn the_launcher_dir_must_be_a_private_dir_of_ours() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;

        let fresh = tmp.path().join("ferret-fresh");
        owned_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700, "created private");
        owned_private_dir(&fresh).unwrap();

        let theirs = tmp.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o777)).unwrap();
        let planted = tmp.path().join("ferret-planted");
        std::os::unix::fs::symlink(&theirs, &planted).unwrap();
        let err = owned_private_dir(&planted).unwrap_err().to_string();
        assert!(err.contains("is not a directory (a symlink?)"), "{err}");
        assert!(err.contains("remove it"), "{err}");
        assert_eq!(mode(&theirs), 0o777, "the symlink's target is left alone");

        let loose = tmp.path().join("ferret-loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = owned_private_dir(&loose).unwrap_err().to_string();
        assert!(err.contains("has mode 777, not 0700"), "{err}");

        let file = tmp.path().join("ferret-file");
        std::fs::write(&file, "").unwrap();
        assert!(owned_private_dir(&file).is_err());

        // Another user's directory can only be made by root (as tests run in CI containers).
        let foreign = tmp.path().join("ferret-foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o700)).unwrap();
        let other = crate::ipc::peer::own_uid().wrapping_add(4242);
        if std::os::unix::fs::chown(&foreign, Some(other), None).is_ok() {
            let err = owned_private_dir(&foreign).unwrap_err().to_string();
            assert!(err.contains(&format!("belongs to user {other}")), "{err}");
        }
    }

    #[test]
    fn a_missing_launcher_says_what_to_do() {
        let err = open(
            EditorKind::Custom,
            Some("ferret-no-such-editor-xyz {path}"),
            Path::new("/tmp/x"),
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`ferret-no-such-editor-xyz` command was not found on PATH"));
        assert!(err.contains("pick another editor in Settings"), "{err}");
    }

    #[test]
    fn open_spawns_the_program_with_the_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let template = format!("sh -c 'printf %s \"$1\" > {}' sh {{path}}", out.display());
        open(
            EditorKind::Custom,
            Some(&template),
            Path::new("/a b/c.rs"),
            9,
        )
        .unwrap();
        for _ in 0..100 {
            if std::fs::read_to_string(&out).is_ok_and(|s| !s.is_empty()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "/a b/c.rs");
    }
}
