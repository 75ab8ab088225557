//! Connecting a coding agent to `ferret mcp`: the configuration each known client expects,
//! pointing at a `ferret` binary and a profile. `ferret mcp --print-config CLIENT` prints
//! one; the app's Settings shows them all with a copy button.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::{Error, Result};

/// Coding agents with a known configuration format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum AgentClient {
    ClaudeCode,
    Cursor,
    Vscode,
    Zed,
}

impl AgentClient {
    pub const ALL: [AgentClient; 4] = [
        AgentClient::ClaudeCode,
        AgentClient::Cursor,
        AgentClient::Vscode,
        AgentClient::Zed,
    ];

    /// The name `--print-config` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentClient::ClaudeCode => "claude-code",
            AgentClient::Cursor => "cursor",
            AgentClient::Vscode => "vscode",
            AgentClient::Zed => "zed",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            AgentClient::ClaudeCode => "Claude Code",
            AgentClient::Cursor => "Cursor",
            AgentClient::Vscode => "VS Code",
            AgentClient::Zed => "Zed",
        }
    }

    /// Where the text goes.
    pub fn where_it_goes(self) -> &'static str {
        match self {
            AgentClient::ClaudeCode => "run in a terminal",
            AgentClient::Cursor => "~/.cursor/mcp.json (or .cursor/mcp.json in a project)",
            AgentClient::Vscode => ".vscode/mcp.json in the workspace",
            AgentClient::Zed => "the context_servers entry of Zed's settings.json",
        }
    }
}

impl std::str::FromStr for AgentClient {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        AgentClient::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = AgentClient::ALL.iter().map(|c| c.as_str()).collect();
                Error::InvalidInput(format!("unknown agent {s:?}; one of: {}", names.join(", ")))
            })
    }
}

/// One client's configuration, ready to paste.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentConfig {
    pub client: AgentClient,
    pub name: String,
    /// Where the text goes ("run in a terminal", a file name).
    pub place: String,
    pub text: String,
}

/// What the Settings page shows: the server command and every client's configuration.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentSetup {
    /// The command line that serves the profile (for any other MCP client).
    pub command: String,
    pub configs: Vec<AgentConfig>,
}

/// The arguments after the binary: `mcp --profile ID [--data-dir DIR]`.
fn server_args(profile: &str, data_dir: Option<&Path>) -> Vec<String> {
    let mut args = vec!["mcp".to_string(), "--profile".into(), profile.into()];
    if let Some(dir) = data_dir {
        args.push("--data-dir".into());
        args.push(dir.display().to_string());
    }
    args
}

/// The configuration text for `client`, running the `ferret` at `exe` for `profile` (and
/// `data_dir`, when not the default).
pub fn config_text(
    client: AgentClient,
    exe: &Path,
    profile: &str,
    data_dir: Option<&Path>,
) -> String {
    let command = exe.display().to_string();
    let args = server_args(profile, data_dir);
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    match client {
        AgentClient::ClaudeCode => {
            format!("claude mcp add ferret -- {}\n", command_line(exe, &args))
        }
        AgentClient::Cursor => pretty(json!({
            "mcpServers": { "ferret": { "command": command, "args": args } }
        })),
        AgentClient::Vscode => pretty(json!({
            "servers": { "ferret": { "type": "stdio", "command": command, "args": args } }
        })),
        AgentClient::Zed => pretty(json!({
            "context_servers": {
                "ferret": { "source": "custom", "command": command, "args": args, "env": {} }
            }
        })),
    }
}

/// Everything the Settings page shows for `profile`.
pub fn setup(exe: &Path, profile: &str, data_dir: Option<&Path>) -> AgentSetup {
    AgentSetup {
        command: command_line(exe, &server_args(profile, data_dir)),
        configs: AgentClient::ALL
            .into_iter()
            .map(|client| AgentConfig {
                client,
                name: client.display_name().into(),
                place: client.where_it_goes().into(),
                text: config_text(client, exe, profile, data_dir),
            })
            .collect(),
    }
}

/// The `ferret` CLI beside the running binary (the app and the CLI ship together), else
/// `ferret` from PATH.
pub fn ferret_beside(current_exe: &Path) -> PathBuf {
    current_exe
        .parent()
        .map(|dir| dir.join("ferret"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("ferret"))
}

fn command_line(exe: &Path, args: &[String]) -> String {
    std::iter::once(exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
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
        for client in AgentClient::ALL {
            let text = config_text(client, exe, "gh-42", None);
            assert!(text.contains("gh-42"), "{client:?}: {text}");
            assert!(text.contains("my tools/ferret"), "{client:?}: {text}");
            assert_eq!(client.as_str().parse::<AgentClient>().unwrap(), client);
        }
        assert_eq!(
            config_text(AgentClient::ClaudeCode, exe, "gh-42", None),
            "claude mcp add ferret -- '/opt/my tools/ferret' mcp --profile gh-42\n"
        );
        let vscode: serde_json::Value = serde_json::from_str(&config_text(
            AgentClient::Vscode,
            exe,
            "w",
            Some(Path::new("/d")),
        ))
        .unwrap();
        assert_eq!(
            vscode["servers"]["ferret"]["args"],
            json!(["mcp", "--profile", "w", "--data-dir", "/d"])
        );
        let err = "emacs".parse::<AgentClient>().unwrap_err().to_string();
        assert!(err.contains("claude-code"), "{err}");
        assert_eq!(setup(exe, "p", None).configs.len(), 4);
    }
}
