//! `ferret daemon`, `jobs`, `pause`, `resume`: background indexing from the terminal.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};
use ferret_engine::background::{BackgroundOptions, Job, JobEvent, JobState, ProfileBackground};
use ferret_engine::{Engine, Profiles};

#[derive(Args)]
pub struct DaemonArgs {
    /// Run every profile's background work, not just the current (or --profile) one.
    #[arg(long)]
    pub all: bool,
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Cancel a queued or running job (a running one stops after its current batch).
    Cancel { id: i64 },
}

#[derive(Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
    #[arg(long)]
    pub json: bool,
    /// How many finished jobs to show.
    #[arg(long, default_value_t = 10)]
    pub recent: usize,
}

fn job_line(profile: &str, job: &Job) -> String {
    let target = job.repo.as_deref().unwrap_or("all repositories");
    let mut line = format!(
        "{profile} job {} {} {target}: {}",
        job.id,
        serde_json::to_value(job.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        job.state.as_str()
    );
    if job.state == JobState::Running {
        if job.embeddings_total > 0 {
            line.push_str(&format!(
                ", embeddings {}/{}",
                job.embeddings_done, job.embeddings_total
            ));
        } else if job.files_total > 0 {
            line.push_str(&format!(", files {}/{}", job.files_done, job.files_total));
        }
        if job.rate > 0.0 {
            line.push_str(&format!(", {:.0}/s", job.rate));
        }
        if let Some(eta) = job.eta_secs {
            line.push_str(&format!(", eta {eta:.0} s"));
        }
    }
    if let Some(error) = &job.error {
        line.push_str(&format!(": {error}"));
    }
    line
}

/// Runs watchers, fetch timers and job runners in the foreground until Ctrl-C.
pub fn daemon(
    profiles: &Profiles,
    explicit: Option<&str>,
    args: &DaemonArgs,
) -> anyhow::Result<()> {
    let ids: Vec<String> = if args.all {
        profiles.list()?.into_iter().map(|p| p.id).collect()
    } else {
        vec![profiles.resolve(explicit)?]
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop_signal = stop.clone();
    let _ = ctrlc::set_handler(move || stop_signal.store(true, Ordering::SeqCst));

    let interactive = std::io::stderr().is_terminal();
    let latest: Arc<Mutex<BTreeMap<String, Job>>> = Arc::default();
    let mut running = Vec::new();
    for id in &ids {
        let engine: Arc<Engine> = profiles.engine(id)?;
        let opts = BackgroundOptions::for_engine(&engine);
        let latest = latest.clone();
        let sink = Arc::new(move |event: &JobEvent| {
            let line = job_line(&event.profile, &event.job);
            let mut latest = latest.lock().unwrap_or_else(|p| p.into_inner());
            let previous = latest.insert(event.profile.clone(), event.job.clone());
            let changed_state =
                previous.is_none_or(|p| p.id != event.job.id || p.state != event.job.state);
            if interactive {
                eprint!("\r\x1b[2K{line}");
                if event.job.state != JobState::Running {
                    eprintln!();
                }
            } else if changed_state {
                eprintln!("{line}");
            }
        });
        let background = ProfileBackground::start(engine.clone(), opts, sink)?;
        if !background.owns_queue() {
            eprintln!(
                "{id}: another Ferret process (the app or another `ferret daemon`) runs this \
                 profile's jobs; this daemon watches and queues work for it, and takes over \
                 if it stops"
            );
        }
        for (repo, mode) in background.watch_modes() {
            eprintln!("{id}: watching {repo} ({mode:?})");
        }
        running.push(background);
    }
    eprintln!(
        "ferret daemon: {} profile(s) running; Ctrl-C stops after the current batch",
        ids.len()
    );
    let mut ticks = 0u64;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        ticks += 1;
        // Repositories added or removed by another `ferret` command get watched (or not).
        if ticks.is_multiple_of(20) {
            for background in &running {
                match background.refresh_if_changed() {
                    Ok(true) => eprintln!(
                        "\nferret daemon: repository list changed; watching {:?}",
                        background.watch_modes().keys().collect::<Vec<_>>()
                    ),
                    Ok(false) => {}
                    Err(e) => eprintln!("\nferret daemon: {e}"),
                }
            }
        }
    }
    eprintln!("\nferret daemon: stopping (interrupted jobs resume next time)");
    drop(running);
    Ok(())
}

pub fn jobs_command(engine: &Engine, args: &JobsArgs) -> anyhow::Result<()> {
    match &args.command {
        Some(JobsCommand::Cancel { id }) => {
            let job = engine.cancel_job(*id)?;
            println!("{}", job_line(engine.profile_id(), &job));
        }
        None => {
            let list = engine.jobs(args.recent)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no jobs yet: `ferret daemon` runs background indexing");
            } else {
                for job in &list {
                    println!("{}", job_line(engine.profile_id(), job));
                }
            }
        }
    }
    Ok(())
}

/// `ferret pause` / `ferret resume`: the profile's status, and its waiting jobs with it.
pub fn set_paused(profiles: &Profiles, id: &str, paused: bool) -> anyhow::Result<()> {
    let changed = profiles.set_paused(id, paused)?;
    if paused {
        let held = changed;
        println!("paused {id}: background work stops after its current batch; {held} waiting job(s) held. `ferret resume` continues");
    } else {
        let released = changed;
        println!("resumed {id}: {released} job(s) back in the queue");
    }
    Ok(())
}
