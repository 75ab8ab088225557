//! `ferret model`: which embedding model serves searches, and switching to another. The
//! switch itself (re-embedding beside the old vectors, then the swap) is the engine's.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Subcommand;
use ferret_engine::{Engine, ModelStatus};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// The models this build knows, which one serves searches, and a switch in progress.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Switch to model ID: re-embeds every chunk beside the current vectors (searches keep
    /// using them until the new set is complete), then swaps. Ctrl-C stops; running it
    /// again (or any `ferret index`, or the app's background jobs) resumes.
    Use {
        id: String,
        /// Only record the switch; the next index run or background job does the work.
        #[arg(long)]
        later: bool,
    },
}

pub fn model(engine: &Engine, command: &ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::List { json } => {
            let status = engine.model_status()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
        ModelCommand::Use { id, later } => {
            let status = engine.use_model(id)?;
            match &status.switch {
                None => {
                    println!("searching with {} (no switch pending)", status.active);
                    return Ok(());
                }
                Some(s) if *later => {
                    println!(
                        "switch to {} recorded ({}/{} chunks already embedded); the next \
                         `ferret index` or background job re-embeds, and {} serves searches \
                         until then",
                        s.to, s.embedded, s.total, status.active
                    );
                    return Ok(());
                }
                Some(s) => println!(
                    "re-embedding {} chunks for {} ({} keeps serving searches meanwhile)",
                    s.total - s.embedded,
                    s.to,
                    status.active
                ),
            }
            let cancel = Arc::new(AtomicBool::new(false));
            crate::install_ctrlc(cancel.clone());
            crate::index(engine, None, &cancel, false, false)?;
            let after = engine.model_status()?;
            match after.switch {
                None => println!("now searching with {}", after.active),
                Some(s) => anyhow::bail!(
                    "the switch to {} is not finished ({}/{} chunks): run `ferret model use {}` \
                     again to continue",
                    s.to,
                    s.embedded,
                    s.total,
                    s.to
                ),
            }
        }
    }
    Ok(())
}

fn print_status(status: &ModelStatus) {
    for m in &status.models {
        let marker = if m.id == status.active { "*" } else { " " };
        let speed = m.chunks_per_sec.map_or_else(
            || "speed not measured yet".to_string(),
            |s| format!("{s:.1} chunks/s here"),
        );
        println!(
            "{marker} {:<28} {}{}",
            m.id,
            m.name,
            if m.installed {
                ""
            } else {
                "  (files missing: run scripts/setup.sh)"
            }
        );
        let reads = if m.max_windows == 1 {
            format!("the first {} tokens of a chunk", m.max_tokens)
        } else {
            format!("up to {} windows of {} tokens", m.max_windows, m.max_tokens)
        };
        println!("  {:<28} {} dims, {reads}, {speed}", "", m.dims);
    }
    if let Some(s) = &status.switch {
        println!(
            "\nswitching to {}: {}/{} chunks embedded; {} serves searches until it is done",
            s.to, s.embedded, s.total, status.active
        );
    }
}
