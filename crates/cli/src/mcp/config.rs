//! `ferret mcp --print-config CLIENT`: the snippet that connects a coding agent to this
//! profile's server, with the absolute path of this `ferret` binary.

use std::path::Path;

use clap::ValueEnum;
use serde_json::json;

/// Coding agents with a known configuration format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    /// Claude Code: a `claude mcp add` command.
    ClaudeCode,
    /// Cursor: `~/.cursor/mcp.json` (or `.cursor/mcp.json` in a project).
    Cursor,
    /// VS Code (agent mode): `.vscode/mcp.json` in a workspace.
    Vscode,
    /// Zed: the `context_servers` entry of `settings.json`.
    Zed,
}

/// The configuration text for `client`, running `ferret` at `exe` for `profile`
/// (and `data_dir`, when not the default).
pub fn render(client: Client, exe: &Path, profile: &str, data_dir: Option<&Path>) -> String {
    let command = exe.display().to_string();
    let mut args = vec!["mcp".to_string(), "--profile".into(), profile.into()];
    if let Some(dir) = data_dir {
        args.push("--data-dir".into());
        args.push(dir.display().to_string());
    }
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    match client {
        Client::ClaudeCode => {
            let quoted: Vec<String> = std::iter::once(&command)
                .chain(args.iter())
                .map(|a| shell_quote(a))
                .collect();
            format!("claude mcp add ferret -- {}\n", quoted.join(" "))
        }
        Client::Cursor => {
            pretty(json!({
                "mcpServers": { "ferret": { "command": command, "args": args } }
            })) + "\n"
        }
        Client::Vscode => {
            pretty(json!({
                "servers": { "ferret": { "type": "stdio", "command": command, "args": args } }
            })) + "\n"
        }
        Client::Zed => {
            pretty(json!({
                "context_servers": {
                    "ferret": { "source": "custom", "command": command, "args": args, "env": {} }
                }
            })) + "\n"
        }
    }
}

/// `s` as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_gets_the_binary_and_the_profile() {
        let exe = Path::new("/opt/my tools/ferret");
        for client in Client::value_variants() {
            let text = render(*client, exe, "gh-42", None);
            assert!(text.contains("gh-42"), "{client:?}: {text}");
            assert!(text.contains("my tools/ferret"), "{client:?}: {text}");
        }
        assert_eq!(
            render(Client::ClaudeCode, exe, "gh-42", None),
            "claude mcp add ferret -- '/opt/my tools/ferret' mcp --profile gh-42\n"
        );
        let vscode: serde_json::Value =
            serde_json::from_str(&render(Client::Vscode, exe, "w", Some(Path::new("/d")))).unwrap();
        assert_eq!(
            vscode["servers"]["ferret"]["args"],
            json!(["mcp", "--profile", "w", "--data-dir", "/d"])
        );
    }
}
