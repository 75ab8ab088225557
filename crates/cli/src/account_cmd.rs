//! `ferret login`, `logout`, `profile ...` and `github repos`: sign-in and profiles.
//!
//! The token is read from standard input (scripts: `ferret login < token.txt`) or from a
//! hidden prompt, handed to the engine as a `Secret`, and never printed.

use std::io::{IsTerminal, Read};

use std::path::PathBuf;

use clap::{Args, Subcommand};
use ferret_engine::links::editor::EditorKind;
use ferret_engine::profiles::limits::parse_bytes;
use ferret_engine::profiles::secrets::Secret;
use ferret_engine::profiles::security::{SecurityReset, SecuritySettings};
use ferret_engine::{ProfileKind, ProfileStatus, Profiles};
use serde::Serialize;

#[derive(Args)]
pub struct LoginArgs {
    /// GitHub API base URL; for GitHub Enterprise use https://HOST/api/v3.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
}

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// List profiles; the current one is marked with '*'.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a profile the current one.
    Use { id: String },
    /// Show one profile (default: the current one) with its usage, limits and security
    /// settings (editor command, model directory, secret files, link grants).
    Show {
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Create a local profile (no GitHub account; local repositories only).
    Create { id: String },
    /// Delete a profile: its index, clones, config and keychain entry.
    Delete {
        id: String,
        /// Confirm the deletion (required).
        #[arg(long)]
        yes: bool,
        /// Delete even while a job of the profile is running.
        #[arg(long)]
        force: bool,
    },
    /// Back up a profile to one file (index, config; never the token). Works while indexing.
    Export {
        id: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a profile from an export: searchable at once, nothing re-embedded.
    Import {
        file: PathBuf,
        /// Restore under another id.
        #[arg(long = "as", value_name = "ID")]
        as_id: Option<String>,
        /// Overwrite an existing profile of that id.
        #[arg(long)]
        replace: bool,
    },
    /// Figures for every profile: repos, files, chunks, vectors, disk, queries, limits,
    /// and this process's pool counters.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Change a profile's status or limits, or reset its security settings.
    Set {
        id: String,
        /// active, read-only (searches only) or paused (no background work).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_name = "N")]
        max_repos: Option<u64>,
        #[arg(long, value_name = "N")]
        max_chunks: Option<u64>,
        /// Bytes on disk, e.g. 500M or 20G.
        #[arg(long, value_name = "SIZE")]
        max_bytes: Option<String>,
        /// Take a security setting back to its default (repeatable): editor-command,
        /// model-dir, index-secret-files, or link-grants (every "always allow").
        #[arg(long, value_name = "SETTING")]
        reset: Vec<ResetChoice>,
        /// Make ferret:// links ask again before opening files of REPO (repeatable).
        #[arg(long, value_name = "REPO")]
        revoke_link: Vec<String>,
    },
    /// The profile's audit log: sign-ins, repositories added and removed, index runs.
    Audit {
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// A security setting `profile set --reset` takes back to its default.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ResetChoice {
    /// Forget the custom editor command (results open in the default editor).
    EditorCommand,
    /// Load ONNX Runtime and the model from $FERRET_MODEL_DIR or the installed files.
    ModelDir,
    /// Skip credential files (.env, private keys) again; an index run drops them.
    IndexSecretFiles,
    /// Every "always allow" of ferret:// links.
    LinkGrants,
}

impl ResetChoice {
    fn reset(self) -> SecurityReset {
        match self {
            ResetChoice::EditorCommand => SecurityReset::EditorCommand,
            ResetChoice::ModelDir => SecurityReset::ModelDir,
            ResetChoice::IndexSecretFiles => SecurityReset::IndexSecretFiles,
            ResetChoice::LinkGrants => SecurityReset::AllLinkGrants,
        }
    }
}

/// `profile show --json`: the profile's figures, and its security settings.
#[derive(Serialize)]
struct ShownProfile {
    #[serde(flatten)]
    stats: ferret_engine::ProfileStats,
    security: SecuritySettings,
}

#[derive(Subcommand)]
pub enum GitHubCommand {
    /// List the repositories the profile's token can read, marking the added ones.
    Repos {
        #[arg(long)]
        json: bool,
    },
}

/// Reads the token: all of stdin when it is not a terminal, else a hidden prompt.
fn read_token() -> anyhow::Result<Secret> {
    let mut text = String::new();
    if std::io::stdin().is_terminal() {
        eprintln!(
            "Paste a GitHub personal access token (fine-grained, read-only: Contents: read and \
             Metadata: read). Input is hidden."
        );
        text = rpassword::prompt_password("token: ")?;
    } else {
        std::io::stdin().read_to_string(&mut text)?;
    }
    Ok(Secret::new(text)?)
}

pub fn login(profiles: &Profiles, args: &LoginArgs) -> anyhow::Result<()> {
    let token = read_token()?;
    let outcome = profiles.login(args.api_url.as_deref(), &token)?;
    println!(
        "signed in as {} ({} profile {}); it is now the current profile",
        outcome.user.login,
        if outcome.created { "new" } else { "existing" },
        outcome.profile.id
    );
    println!("next: `ferret github repos` lists your repositories, `ferret repo add github:OWNER/NAME` adds one");
    Ok(())
}

pub fn logout(profiles: &Profiles, id: &str) -> anyhow::Result<()> {
    if profiles.logout(id)? {
        println!("signed out of {id}: its token is removed from the keychain; indexed data stays (`ferret profile delete {id} --yes` removes it)");
    } else {
        println!("profile {id} had no token in the keychain; nothing to do");
    }
    Ok(())
}

pub fn profile(
    profiles: &Profiles,
    explicit: Option<&str>,
    command: &ProfileCommand,
) -> anyhow::Result<()> {
    match command {
        ProfileCommand::List { json } => {
            let list = profiles.list()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let current = profiles.resolve(None)?;
            for p in list {
                let who = match p.kind {
                    ProfileKind::GitHub => format!(
                        "github {} ({})",
                        p.github_login.as_deref().unwrap_or("?"),
                        p.api_url.as_deref().unwrap_or("")
                    ),
                    ProfileKind::Local => "local".to_string(),
                };
                let mark = if p.id == current { "*" } else { " " };
                println!("{mark} {:<28} {:<10} {who}", p.id, p.status.as_str());
            }
        }
        ProfileCommand::Use { id } => {
            let p = profiles.use_profile(id)?;
            println!("current profile: {}", p.id);
        }
        ProfileCommand::Show { id, json } => {
            let id = profiles.resolve(id.as_deref().or(explicit))?;
            let stats = profiles.stats_of(&id)?;
            let security = profiles.security(&id)?;
            if *json {
                let shown = ShownProfile { stats, security };
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                print_profile(&stats, profiles.has_token(&id).unwrap_or(false));
                print_security(&id, &security);
            }
        }
        ProfileCommand::Create { id } => {
            let p = profiles.create_local(id)?;
            println!(
                "created local profile {}; it is now the current profile",
                p.id
            );
        }
        ProfileCommand::Delete { id, yes, force } => {
            if !yes {
                anyhow::bail!(
                    "deleting profile {id} removes its index, clones and token; add --yes to confirm"
                );
            }
            let report = profiles.delete(id, *force)?;
            println!(
                "deleted profile {}: removed {} ({:.1} MiB){}",
                report.profile.id,
                report.directory.display(),
                report.bytes_removed as f64 / (1024.0 * 1024.0),
                if report.keychain_entry_removed {
                    " and its keychain entry"
                } else {
                    "; it had no keychain entry"
                }
            );
        }
        ProfileCommand::Export { id, out } => {
            let report = profiles.export(id, out)?;
            println!(
                "exported profile {} ({} repositories) to {} ({:.1} MiB); it holds no token",
                report.profile,
                report.repos,
                report.file.display(),
                report.bytes as f64 / (1024.0 * 1024.0)
            );
        }
        ProfileCommand::Import {
            file,
            as_id,
            replace,
        } => {
            let report = profiles.import(file, as_id.as_deref(), *replace)?;
            println!(
                "{} profile {} from {} ({} repositories); searchable now",
                if report.replaced {
                    "replaced"
                } else {
                    "imported"
                },
                report.profile.id,
                file.display(),
                report.repos
            );
            if !report.settings_reset_for_safety.is_empty() {
                println!(
                    "  reset for safety: {}; an imported profile never takes these over (they \
                     run programs, load libraries, open files without asking or index \
                     credentials): set them again yourself, in the app's Settings or the \
                     profile's config.json, if you trust them",
                    report.settings_reset_for_safety.join(", ")
                );
            }
            for why in &report.settings_reset_as_invalid {
                println!("  reset to its default: {why}");
            }
            for repo in &report.local_repos_to_confirm {
                println!(
                    "  {}: local folder {} is not read or indexed until you confirm it: check \
                     it, then `ferret repo confirm {}` (or `ferret repo remove {}`)",
                    repo.name,
                    repo.root.display(),
                    repo.name,
                    repo.name
                );
            }
            for name in &report.missing_local_repos {
                println!("  {name}: its folder is not on this machine; restore it and `ferret repo confirm {name}`, or `ferret repo remove {name}`");
            }
            for name in &report.clones_to_restore {
                println!("  {name}: its clone is not here yet; sign in and run `ferret repo sync` to clone it again (its index is kept)");
            }
            if report.needs_sign_in {
                println!("  sign in again (`ferret login`) to sync its GitHub repositories");
            }
        }
        ProfileCommand::Stats { json } => {
            let all = profiles.stats()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            for p in &all.profiles {
                println!(
                    "{:<28} {:>4} repos {:>7} files {:>8} chunks {:>8} vectors {:>9.1} MiB {:>6} queries",
                    p.profile.id,
                    p.repos,
                    p.files,
                    p.chunks,
                    p.vectors,
                    p.bytes_on_disk as f64 / (1024.0 * 1024.0),
                    p.queries_run
                );
                for w in &p.warnings {
                    println!("  warning: {w}");
                }
            }
            println!(
                "total: {} repos, {} chunks, {} vectors, {:.1} MiB, {} queries",
                all.total_repos,
                all.total_chunks,
                all.total_vectors,
                all.total_bytes_on_disk as f64 / (1024.0 * 1024.0),
                all.total_queries_run
            );
            println!(
                "pool: {} open of {}, {} hits, {} misses, {} evictions (idle TTL {} s)",
                all.pool.open,
                all.pool.capacity,
                all.pool.hits,
                all.pool.misses,
                all.pool.evictions,
                all.pool.idle_ttl_secs
            );
        }
        ProfileCommand::Set {
            id,
            status,
            max_repos,
            max_chunks,
            max_bytes,
            reset,
            revoke_link,
        } => {
            for choice in reset {
                let now = profiles.reset_security(id, choice.reset())?;
                match choice {
                    ResetChoice::EditorCommand => println!(
                        "profile {id}: no custom editor command; results open in {}",
                        now.editor.as_str()
                    ),
                    ResetChoice::ModelDir => println!(
                        "profile {id}: the model loads from $FERRET_MODEL_DIR or the installed files"
                    ),
                    ResetChoice::IndexSecretFiles => println!(
                        "profile {id}: credential files are skipped; the next index run \
                         (`ferret index`, or the app's) drops those already indexed"
                    ),
                    ResetChoice::LinkGrants => {
                        println!("profile {id}: ferret:// links ask before opening any file")
                    }
                }
            }
            for repo in revoke_link {
                let grants = profiles.security(id)?.link_grants;
                let Some(grant) = grants.iter().find(|g| g.repo == *repo) else {
                    anyhow::bail!(
                        "{repo:?} has no \"always allow\" for links in profile {id}; \
                         `ferret profile show {id}` lists the ones it has"
                    );
                };
                profiles.reset_security(
                    id,
                    SecurityReset::LinkGrant {
                        repo_id: grant.repo_id,
                    },
                )?;
                println!("profile {id}: ferret:// links ask again before opening files of {repo}");
            }
            if let Some(status) = status {
                let status: ProfileStatus = status.parse()?;
                profiles.set_status(id, status)?;
                println!("profile {id} is now {}", status.as_str());
            }
            if max_repos.is_some() || max_chunks.is_some() || max_bytes.is_some() {
                let mut limits = profiles.limits(id)?;
                if let Some(n) = max_repos {
                    limits.max_repos = *n;
                }
                if let Some(n) = max_chunks {
                    limits.max_chunks = *n;
                }
                if let Some(size) = max_bytes {
                    limits.max_bytes = parse_bytes(size)?;
                }
                profiles.set_limits(id, limits)?;
                println!(
                    "profile {id} limits: {} repos, {} chunks, {} bytes",
                    limits.max_repos, limits.max_chunks, limits.max_bytes
                );
            }
        }
        ProfileCommand::Audit { id, json } => {
            let id = profiles.resolve(id.as_deref().or(explicit))?;
            let entries = profiles.engine(&id)?.audit_log()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    println!("{:>11}  {:<14} {}", e.at, e.event, e.detail);
                }
            }
        }
    }
    Ok(())
}

fn print_profile(s: &ferret_engine::ProfileStats, has_token: bool) {
    let p = &s.profile;
    println!("profile   {}", p.id);
    match p.kind {
        ProfileKind::GitHub => println!(
            "account   {} on {} (token in keychain: {})",
            p.github_login.as_deref().unwrap_or("?"),
            p.api_url.as_deref().unwrap_or("?"),
            if has_token {
                "yes"
            } else {
                "no: run `ferret login`"
            }
        ),
        ProfileKind::Local => println!("account   none (local profile)"),
    }
    println!("status    {}", p.status.as_str());
    println!(
        "holds     {} repos, {} files, {} chunks, {} vectors, {:.1} MiB on disk",
        s.repos,
        s.files,
        s.chunks,
        s.vectors,
        s.bytes_on_disk as f64 / (1024.0 * 1024.0)
    );
    println!("queries   {}", s.queries_run);
    for l in &s.limits {
        println!(
            "limit     {:<7} {:>5.1}% ({} of {})",
            l.name,
            l.fraction * 100.0,
            l.used,
            l.limit
        );
    }
    for w in &s.warnings {
        println!("warning   {w}");
    }
}

/// The settings that let Ferret run, load or open something unasked, each with how to
/// reset it.
fn print_security(id: &str, s: &SecuritySettings) {
    let editor = match (&s.editor_command, s.editor) {
        (Some(command), EditorKind::Custom) => format!("runs {command:?}"),
        (Some(command), editor) => {
            format!(
                "{} (custom command {command:?} kept, unused)",
                editor.as_str()
            )
        }
        (None, editor) => editor.as_str().to_string(),
    };
    let model_dir = match &s.model_dir {
        Some(dir) => format!("{} (set by this profile)", dir.display()),
        None => "$FERRET_MODEL_DIR or the installed files".into(),
    };
    let secrets = if s.index_secret_files {
        "INDEXED (.env, private keys: searchable, and readable by agents)"
    } else {
        "skipped"
    };
    let links = if s.link_grants.is_empty() {
        "ask before opening any file".to_string()
    } else {
        let names: Vec<&str> = s.link_grants.iter().map(|g| g.repo.as_str()).collect();
        format!("open files of {} without asking", names.join(", "))
    };
    let custom = s.editor_command.is_some();
    let planted = s.model_dir.is_some();
    let granted = !s.link_grants.is_empty();
    let reset = |flag: &str| format!("`ferret profile set {id} {flag}` resets it");
    for (name, value, changed, how) in [
        ("editor", editor, custom, reset("--reset editor-command")),
        ("model dir", model_dir, planted, reset("--reset model-dir")),
        (
            "secrets",
            secrets.to_string(),
            s.index_secret_files,
            reset("--reset index-secret-files"),
        ),
        (
            "links",
            links,
            granted,
            format!(
                "`ferret profile set {id} --revoke-link REPO` (or `--reset link-grants` for \
                 all) makes them ask"
            ),
        ),
    ] {
        if changed {
            println!("{name:<9} {value}; {how}");
        } else {
            println!("{name:<9} {value}");
        }
    }
}

pub fn github(profiles: &Profiles, id: &str, command: &GitHubCommand) -> anyhow::Result<()> {
    match command {
        GitHubCommand::Repos { json } => {
            let repos = profiles.github_repos(id)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&repos)?);
                return Ok(());
            }
            if repos.is_empty() {
                println!("the token can read no repositories: give it access to some (Contents: read, Metadata: read)");
            }
            for choice in &repos {
                let r = &choice.repo;
                println!(
                    "{} {:<40} {:<8} {:<12} {:>8} KiB  ~{} files ~{} chunks  {}",
                    if choice.added { "+" } else { " " },
                    r.full_name,
                    if r.private { "private" } else { "public" },
                    r.language.as_deref().unwrap_or("-"),
                    r.size_kb,
                    choice.estimated_files,
                    choice.estimated_chunks,
                    r.default_branch
                );
            }
            println!(
                "{} repositories; '+' = added. Add one with `ferret repo add github:OWNER/NAME`",
                repos.len()
            );
        }
    }
    Ok(())
}
