//! The desktop UI's contract: the names and payloads of the events the shell emits, the
//! values of commands that are not a single engine type, and the constants the UI needs
//! (event names, `lang:` aliases, editors, the limit warning threshold). Everything the UI
//! receives is a Rust type from here or from the stage modules; `ui/src/generated/
//! contract.ts` is generated from them (feature `ts`, see [`typescript`]) and a test fails
//! when the committed file is stale, so the two sides cannot drift.

use serde::{Deserialize, Serialize};

use crate::background::Overall;
use crate::links::editor::EditorKind;
use crate::pipeline::run::Progress;
use crate::profiles::registry::ProfileRecord;
use crate::profiles::ProfileConfig;
use crate::remote::git::GitProgress;

/// Event names, one constant per event; the UI gets the same names as `EVENTS`.
pub mod event {
    /// [`super::IndexProgressEvent`]: an index run's progress.
    pub const INDEX_PROGRESS: &str = "index-progress";
    /// [`super::GitProgressEvent`]: a clone's progress.
    pub const GIT_PROGRESS: &str = "git-progress";
    /// [`super::JobsChangedEvent`]: the background queue's one-line summary changed.
    pub const JOBS_CHANGED: &str = "jobs-changed";
    /// [`super::DeepLinkSearchEvent`]: a `ferret://search` link to show.
    pub const DEEP_LINK_SEARCH: &str = "deep-link-search";
    /// [`super::DeepLinkConfirmEvent`]: a link names another profile; ask first.
    pub const DEEP_LINK_CONFIRM: &str = "deep-link-confirm";
    /// [`super::ErrorEvent`]: background work failed; show it.
    pub const ERROR: &str = "error";
    /// Every event with its payload type's name, for the generated TypeScript.
    pub const ALL: [(&str, &str); 6] = [
        (INDEX_PROGRESS, "IndexProgressEvent"),
        (GIT_PROGRESS, "GitProgressEvent"),
        (JOBS_CHANGED, "JobsChangedEvent"),
        (DEEP_LINK_SEARCH, "DeepLinkSearchEvent"),
        (DEEP_LINK_CONFIRM, "DeepLinkConfirmEvent"),
        (ERROR, "ErrorEvent"),
    ];
}

/// `profiles_list`: every profile and the current one.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProfilesList {
    pub profiles: Vec<ProfileRecord>,
    /// Id of the current profile; "" on a first run (nobody signed in or chose one yet).
    pub current: String,
}

/// `index-progress` payload.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IndexProgressEvent {
    /// The job's repository, or `None` when it covers all of them.
    pub repo: Option<String>,
    pub progress: Progress,
    pub overall: Overall,
    /// Items per second in the current phase (files while chunking, chunks while
    /// embedding), measured by the engine's job runner.
    pub rate: f64,
    /// Seconds left in the current phase at that rate, once there is one.
    pub eta_secs: Option<f64>,
}

/// `git-progress` payload.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitProgressEvent {
    pub repo: String,
    pub progress: GitProgress,
}

/// `jobs-changed` payload.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobsChangedEvent {
    pub running: bool,
    pub paused: bool,
    /// "Indexing 3/7 repos, 42%", "Paused", "Up to date", ...
    pub summary: String,
}

/// `deep-link-search` payload.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeepLinkSearchEvent {
    pub query: String,
    pub profile: Option<String>,
}

/// `deep-link-confirm` payload: the link needs the user's yes first, because it opens a
/// file in the editor or names another profile (or both).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeepLinkConfirmEvent {
    pub url: String,
    /// What the link does, for the question: "search for …" or "open path:line".
    pub action: String,
    /// The repository whose file the link opens; `None` for a search.
    pub opens_in: Option<String>,
    pub profile: String,
    pub profile_name: String,
    pub current: String,
    pub current_name: String,
}

/// `error` payload: background work failed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorEvent {
    pub message: String,
}

/// The Settings page: the profile's config fields a user edits, and "start at login"
/// (which the desktop shell keeps, not the profile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    pub editor: EditorKind,
    /// Template with `{path}` and `{line}`; used when `editor` is `custom`.
    pub editor_command: Option<String>,
    pub excludes: Vec<String>,
    /// 0 = auto (half the cores).
    pub index_threads: usize,
    pub fetch_interval_mins: u64,
    pub start_at_login: bool,
}

impl Settings {
    /// The page's values for a profile's `config`.
    pub fn from_config(config: &ProfileConfig, start_at_login: bool) -> Settings {
        Settings {
            editor: config.editor,
            editor_command: config.editor_command.clone(),
            excludes: config.excludes.clone(),
            index_threads: config.index_threads,
            fetch_interval_mins: config.fetch_interval_mins,
            start_at_login,
        }
    }

    /// Writes the page's values into `config` (a blank custom command is none).
    pub fn apply_to(&self, config: &mut ProfileConfig) {
        config.editor = self.editor;
        config.editor_command = self.editor_command.clone().filter(|c| !c.trim().is_empty());
        config.excludes = self.excludes.clone();
        config.index_threads = self.index_threads;
        config.fetch_interval_mins = self.fetch_interval_mins;
    }
}

/// The UI contract as TypeScript: every type the UI receives or sends, and the constants
/// it shares with the engine. `ui/src/generated/contract.ts` holds this text.
#[cfg(feature = "ts")]
pub fn typescript() -> String {
    use std::fmt::Write as _;
    use ts_rs::{Config, TS};

    // 64-bit counters (bytes, times) are JSON numbers on the wire, far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types by `scripts/gen-types.sh` (ferret-engine's\n\
         // `contract::typescript`). Do not edit: change the Rust type and regenerate; the test\n\
         // command fails while this file is stale.\n\n",
    );
    macro_rules! declare {
        ($($t:ty),* $(,)?) => {$(
            if let Some(docs) = <$t as TS>::docs() {
                out.push_str(&docs);
            }
            let _ = writeln!(out, "export {}\n", <$t as TS>::decl(&cfg));
        )*};
    }
    use crate::about::About;
    use crate::background::Overall;
    use crate::engine::{FileContext, LinkGrant, ModelInfo, ModelStatus, ModelSwitch, RepoInfo};
    use crate::error::{ErrorKind, ErrorReport};
    use crate::links::agents::{AgentClient, AgentConfig, AgentSetup};
    use crate::pipeline::run::Phase;
    use crate::profiles::archive::{ExportReport, ImportReport, LocalRepoToConfirm};
    use crate::profiles::limits::LimitUsage;
    use crate::profiles::manager::{DeleteReport, LoginOutcome, ProfileStats};
    use crate::profiles::registry::{ProfileKind, ProfileStatus};
    use crate::profiles::security::{SecurityReset, SecuritySettings};
    use crate::remote::git::GitStage;
    use crate::remote::github::{GitHubRepo, GitHubRepoChoice, GitHubUser};
    use crate::search::rank::Signal;
    use crate::search::{Highlight, SearchHit, SearchMode, SearchResults};
    declare!(
        ErrorKind,
        ErrorReport,
        ProfileKind,
        ProfileStatus,
        ProfileRecord,
        ProfilesList,
        GitHubUser,
        LoginOutcome,
        DeleteReport,
        LimitUsage,
        ProfileStats,
        GitHubRepo,
        GitHubRepoChoice,
        RepoInfo,
        Phase,
        Progress,
        Overall,
        GitStage,
        GitProgress,
        IndexProgressEvent,
        GitProgressEvent,
        JobsChangedEvent,
        DeepLinkSearchEvent,
        DeepLinkConfirmEvent,
        ErrorEvent,
        Highlight,
        Signal,
        SearchHit,
        SearchResults,
        SearchMode,
        FileContext,
        EditorKind,
        Settings,
        LinkGrant,
        SecuritySettings,
        SecurityReset,
        ModelInfo,
        ModelSwitch,
        ModelStatus,
        AgentClient,
        AgentConfig,
        AgentSetup,
        ExportReport,
        LocalRepoToConfirm,
        ImportReport,
        About,
    );

    out.push_str("/** Event names and their payloads. */\nexport const EVENTS = {\n");
    for (name, _) in event::ALL {
        let _ = writeln!(out, "  {}: {name:?},", constant_case(name));
    }
    out.push_str("} as const;\n\nexport interface EventMap {\n");
    for (name, payload) in event::ALL {
        let _ = writeln!(out, "  {name:?}: {payload};");
    }
    out.push_str("}\n\n");

    out.push_str(
        "/** Canonical `lang:` names with the aliases the engine accepts. */\n\
         export const LANGUAGES: [string, string[]][] = [\n",
    );
    for (name, aliases) in crate::pipeline::chunk::Language::names_and_aliases() {
        let _ = writeln!(out, "  [{name:?}, {aliases:?}],");
    }
    out.push_str("];\n\n/** Editors a result can open in, with their names. */\n");
    out.push_str("export const EDITORS: [EditorKind, string][] = [\n");
    for editor in EditorKind::ALL {
        let _ = writeln!(
            out,
            "  [{:?}, {:?}],",
            editor.as_str(),
            editor.choice_label()
        );
    }
    let _ = writeln!(
        out,
        "];\n\n/** A profile limit this full (0..1) shows a warning. */\n\
         export const LIMIT_WARN_AT = {};",
        crate::profiles::limits::WARN_AT
    );
    out
}

/// `deep-link-search` → `DEEP_LINK_SEARCH`.
#[cfg(feature = "ts")]
fn constant_case(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}

#[cfg(all(test, feature = "ts"))]
mod tests {
    /// The committed TypeScript matches the Rust types. `FERRET_WRITE_TYPES=1` rewrites it
    /// (that is what `scripts/gen-types.sh` does).
    #[test]
    fn generated_typescript_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ui/src/generated/contract.ts");
        let fresh = super::typescript();
        if std::env::var_os("FERRET_WRITE_TYPES").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/generated/contract.ts is stale: run scripts/gen-types.sh and commit it"
        );
    }
}
