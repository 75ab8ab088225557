//! Model versions of a profile: switching, building the new model's vectors beside the
//! active ones, the atomic swap, and what each model costs on this machine.

use serde::Serialize;

use crate::models::{self, ModelSpec};
use crate::pipeline::run::{self, IndexReport, RunOptions};
use crate::store::Store;
use crate::vectors::VectorIndex;
use crate::{Error, Result};

use super::Engine;

/// `ferret model list` and the Settings page: which model serves searches, the switch in
/// progress, and every model this build knows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelStatus {
    pub active: String,
    pub switch: Option<ModelSwitch>,
    pub models: Vec<ModelInfo>,
}

/// A model switch in progress: distinct chunk texts embedded for the new model so far.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelSwitch {
    pub to: String,
    pub embedded: u64,
    pub total: u64,
}

/// One catalogue entry, with what it costs here.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub dims: usize,
    pub max_tokens: usize,
    pub max_windows: usize,
    /// Its files are in the model directory.
    pub installed: bool,
    /// Chunks embedded per second on this machine, measured by this profile's index runs.
    pub chunks_per_sec: Option<f64>,
}

/// What `sync` did to one cloned repository.
impl Engine {
    /// The second half of a model switch: embeds everything for `target` beside the active
    /// model's vectors (searches keep using those), then, once nothing is pending, makes
    /// `target` the active model in one transaction and deletes the old vectors. An
    /// interrupted run (cancel, crash, kill -9) resumes here next time; nothing is embedded
    /// twice, since each committed batch is in SQLite.
    pub(super) fn build_target_model(
        &self,
        store: &mut Store,
        active: &'static ModelSpec,
        target: &'static ModelSpec,
        active_vectors: &VectorIndex,
        opts: &RunOptions<'_>,
        report: &mut IndexReport,
    ) -> Result<()> {
        let embedder = self.embedder_for(target, opts.threads)?;
        embedder.set_threads(opts.threads)?;
        let target_vectors = self.vectors_for(store, target, true)?;
        let _writing = target_vectors.writing();
        let started = std::time::Instant::now();
        let computed_before = report.embeddings_computed;
        run::reembed(store, &embedder, &target_vectors, opts, report)?;
        let secs = started.elapsed().as_secs_f64();
        record_speed(
            store,
            target.id,
            report.embeddings_computed - computed_before,
            secs,
        );
        report.embed_secs += secs;
        report.total_secs += secs;
        // Re-embedding bumped the data generation; the active model's vectors did not
        // change, so they are re-stamped rather than left to look stale.
        active_vectors.mark_synced(store.generation()?);
        if opts.cancel.load(std::sync::atomic::Ordering::Relaxed)
            || store.pending_embedding_count(target.id, None)? > 0
        {
            report.interrupted = true;
            return Ok(());
        }
        store.transaction(|tx| tx.promote_model(active.id, target.id))?;
        self.drop_vectors_except(target.id);
        store.audit(
            "model",
            &format!("now searching with {} (was {})", target.id, active.id),
        )?;
        log::info!("model switch complete: {} -> {}", active.id, target.id);
        Ok(())
    }

    /// Switches the profile to model version `id`: it becomes the target, built by the next
    /// index run (or job) beside the active model, which serves searches until the new
    /// vectors are complete. Choosing the active model again cancels a switch in progress
    /// (what it embedded stays cached, so switching once more resumes). Fails, naming the
    /// file and the fix, when the model's files are missing or wrong.
    pub fn use_model(&self, id: &str) -> Result<ModelStatus> {
        self.check_writable("switching models")?;
        let spec = models::find(id)?;
        let dir = self
            .model_dir
            .clone()
            .ok_or_else(|| Error::Model("no model directory found: run scripts/setup.sh".into()))?;
        spec.check_files(&dir, true)?;
        let store = self.store();
        let active = active_model(&store)?;
        if spec.id == active.id {
            store.set_model_in_role("target", None)?;
        } else if store.embedded_chunk_count(active.id)? == 0 {
            // Nothing embedded yet, so nothing to keep serving: switch at once.
            store.set_model_in_role("active", Some(spec.id))?;
            store.set_model_in_role("target", None)?;
            self.drop_vectors_except(spec.id);
        } else {
            store.set_model_in_role("target", Some(spec.id))?;
        }
        store.audit(
            "model",
            &format!("switch requested: {} -> {}", active.id, spec.id),
        )?;
        drop(store);
        self.model_status()
    }

    /// The active model, the switch in progress (if any) and its progress, and the
    /// catalogue with what each model costs on this machine.
    pub fn model_status(&self) -> Result<ModelStatus> {
        let store = self.store();
        let active = active_model(&store)?;
        let target = target_model(&store)?;
        let distinct = store.count("SELECT COUNT(DISTINCT content_hash) FROM chunks")? as u64;
        let switch = match target {
            Some(t) => Some(ModelSwitch {
                to: t.id.to_string(),
                embedded: distinct.saturating_sub(store.pending_embedding_count(t.id, None)?),
                total: distinct,
            }),
            None => None,
        };
        let installed = |spec: &ModelSpec| {
            self.model_dir
                .as_deref()
                .is_some_and(|dir| spec.check_files(dir, false).is_ok())
        };
        let models = models::CATALOGUE
            .iter()
            .map(|spec| {
                Ok(ModelInfo {
                    id: spec.id.to_string(),
                    name: spec.name.to_string(),
                    description: spec.description.to_string(),
                    dims: spec.dims,
                    max_tokens: spec.max_tokens,
                    max_windows: spec.max_windows,
                    installed: installed(spec),
                    chunks_per_sec: measured_speed(&store, spec.id)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ModelStatus {
            active: active.id.to_string(),
            switch,
            models,
        })
    }
}

/// Adds an embedding run to `model`'s measured speed (kept in the usage counters as chunks
/// and milliseconds). Best effort: a busy database only loses the sample.
pub(super) fn record_speed(store: &Store, model: &str, chunks: u64, secs: f64) {
    if chunks == 0 || secs <= 0.0 {
        return;
    }
    let _ = store.add_usage(&format!("embed_chunks:{model}"), chunks as i64);
    let _ = store.add_usage(&format!("embed_ms:{model}"), (secs * 1000.0) as i64);
}

pub(super) fn measured_speed(store: &Store, model: &str) -> Result<Option<f64>> {
    let chunks = store.usage(&format!("embed_chunks:{model}"))?;
    let ms = store.usage(&format!("embed_ms:{model}"))?;
    Ok((chunks > 0 && ms > 0).then(|| chunks as f64 * 1000.0 / ms as f64))
}

/// The model version serving searches in `store`'s profile.
pub(super) fn active_model(store: &Store) -> Result<&'static ModelSpec> {
    let stored = store.model_in_role("active")?;
    known_model(stored.as_deref().unwrap_or(models::DEFAULT_MODEL))
}

/// The model version being built after a switch, if any.
pub(super) fn target_model(store: &Store) -> Result<Option<&'static ModelSpec>> {
    match store.model_in_role("target")? {
        Some(id) => Ok(Some(known_model(&id)?)),
        None => Ok(None),
    }
}

/// A stored model id this build knows; an id from a newer or older build is an error that
/// says how to move on.
pub(super) fn known_model(id: &str) -> Result<&'static ModelSpec> {
    models::find(id).map_err(|_| {
        Error::Model(format!(
            "this profile's vectors were made with model {id:?}, which this version of Ferret \
             does not know: `ferret model use {}` re-embeds with the default model",
            models::DEFAULT_MODEL
        ))
    })
}
