//! Saving training checkpoints, resuming from them, and loading weights (`load_from`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use kinema_models::resolve::{load_weights, read_checkpoint};
use kinema_models::weights_source::resolve_weights;
use kinema_torch::checkpoint::LoadMode;

use super::{Progress, Resume, Runner};
use crate::checkpoint::{self, CheckpointData, SaveFormat, FORMAT};
use crate::EngineError;

/// What [`Runner::save_checkpoint`] includes.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    /// Include the optimizer and scheduler states (false for "best" checkpoints, as MMEngine).
    pub with_optimizer: bool,
    /// Update `work_dir/last_checkpoint` to point at this file.
    pub update_last: bool,
    /// The file format.
    pub format: SaveFormat,
}

impl Runner {
    /// Writes a checkpoint of the current state to `path` (atomically).
    pub fn save_checkpoint(&mut self, path: &Path, opts: SaveOptions) -> Result<(), EngineError> {
        self.save_checkpoint_with(path, opts, None)
    }

    /// [`Runner::save_checkpoint`] called by a running hook, whose own state (the runner
    /// cannot reach it while it runs) goes in the checkpoint with the others'.
    pub fn save_checkpoint_from(
        &mut self,
        path: &Path,
        opts: SaveOptions,
        caller: &dyn crate::hooks::Hook,
    ) -> Result<(), EngineError> {
        let state = caller.state_dict().map(|s| (caller.name().to_string(), s));
        self.save_checkpoint_with(path, opts, state)
    }

    fn save_checkpoint_with(
        &mut self,
        path: &Path,
        opts: SaveOptions,
        caller_state: Option<(String, Value)>,
    ) -> Result<(), EngineError> {
        // A checkpoint taken after an epoch's last batch resumes at the next epoch's start.
        let (epoch, batch_in_epoch) = match self.progress.batches_per_epoch {
            n if n > 0 && self.progress.batch_in_epoch >= n => (self.progress.epoch + 1, 0),
            _ => (self.progress.epoch, self.progress.batch_in_epoch),
        };
        let mut meta = json!({
            "format": FORMAT,
            "meta": {
                "epoch": epoch,
                "iter": self.progress.iter,
                "batch_in_epoch": batch_in_epoch,
                "batches_per_epoch": self.progress.batches_per_epoch,
                "seed": self.env.seed,
                "world_size": self.env.world_size,
                "experiment_name": self.env.experiment_name,
                "time": super::env::timestamp_now(),
                "kinema_version": env!("CARGO_PKG_VERSION"),
                "config": self.cfg.to_toml_string()?,
                "dataset_meta": self.dataset_meta(),
            },
            "best": self.best.as_ref().map(|(k, v, p)| json!({"key": k, "value": v, "path": p})),
            "message_hub": self.hub.state_dict(),
        });
        let mut optimizer = Vec::new();
        if opts.with_optimizer {
            if let Some(parts) = &self.train_parts {
                let state = parts.optim.state_dict();
                let state = kinema_optim::OptimState {
                    meta: state.meta,
                    tensors: state.tensors.into_iter().map(|(n, t)| (n, t.copy())).collect(),
                };
                meta["optimizer"] = state.meta;
                optimizer = state.tensors;
                meta["param_schedulers"] = Value::Array(parts.schedulers.iter().map(|s| s.state_dict()).collect());
            }
            let mut hooks = serde_json::Map::new();
            for (name, state) in self.hook_states().into_iter().chain(caller_state) {
                hooks.insert(name, state);
            }
            meta["hooks"] = Value::Object(hooks);
        }
        self.call_hooks(|h, r| h.before_save_checkpoint(r, &mut meta))?;
        let mut weights: Vec<(String, tch::Tensor)> =
            self.model.var_store().variables().into_iter().map(|(k, t)| (k, t.to_device(tch::Device::Cpu))).collect();
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        checkpoint::save(path, &CheckpointData { weights, optimizer, meta }, opts.format)?;
        if opts.update_last {
            checkpoint::set_last_checkpoint(&self.env.work_dir, path)?;
        }
        log::info!("saved checkpoint {}", path.display());
        Ok(())
    }

    /// MMEngine's `load_or_resume`: `resume` (+ `load_from`) resumes training state,
    /// `load_from` alone loads weights only.
    pub(crate) fn load_or_resume(&mut self) -> Result<(), EngineError> {
        let cfg_resume = self.cfg.get("resume").and_then(Value::as_bool).unwrap_or(false);
        // A zoo name or URL is fetched into the cache first.
        let load_from: Option<PathBuf> = match &self.options.load_from {
            Some(path) => Some(resolve_weights(&path.to_string_lossy(), "--checkpoint")?),
            None => match self.cfg.get("load_from").and_then(Value::as_str) {
                Some(spec) => Some(resolve_weights(spec, "load_from")?),
                None => None,
            },
        };
        let resume = match (&self.options.resume, cfg_resume) {
            (Resume::From(p), _) => Some(p.clone()),
            (Resume::Auto, _) | (Resume::No, true) => match (&load_from, self.train_parts.is_some()) {
                (Some(p), _) => Some(p.clone()),
                (None, _) => match checkpoint::find_last_checkpoint(&self.env.work_dir)? {
                    Some(p) => Some(p),
                    None => {
                        log::warn!("resume: no checkpoint in {}; starting from scratch", self.env.work_dir.display());
                        None
                    }
                },
            },
            (Resume::No, false) => None,
        };
        match (resume, load_from) {
            (Some(path), _) if self.train_parts.is_some() => self.resume_from(&path),
            (_, Some(path)) => self.load_weights(&path, !self.options.partial_load),
            (Some(path), None) => self.load_weights(&path, !self.options.partial_load),
            (None, None) => Ok(()),
        }
    }

    /// Loads weights only, from any supported checkpoint format, renamed by the model
    /// (kinema-models' resolver); strict unless `strict` is false, when what matches is
    /// loaded and the rest reported.
    pub fn load_weights(&mut self, path: &Path, strict: bool) -> Result<(), EngineError> {
        let ck = read_checkpoint(path)?;
        let mode = if strict { LoadMode::Strict } else { LoadMode::NonStrict };
        let report = load_weights(self.model.as_mut(), &ck, mode)?;
        log::info!("loaded {} tensors from {}", report.loaded, path.display());
        let mut meta = json!({ "path": path });
        self.call_hooks(|h, r| h.after_load_checkpoint(r, &mut meta))
    }

    /// Restores weights, optimizer, schedulers, loop position, seed and hook states.
    fn resume_from(&mut self, path: &Path) -> Result<(), EngineError> {
        let data = checkpoint::load(path)?;
        let err = |message: String| EngineError::Resume { path: path.to_path_buf(), message };
        kinema_torch::checkpoint::load_into_varstore(
            self.model.var_store_mut(),
            &data.weights,
            LoadMode::Strict,
            &path.display().to_string(),
        )
        .map_err(|e| EngineError::Checkpoint { path: path.to_path_buf(), source: Box::new(e) })?;
        let meta = &data.meta["meta"];
        let progress: Progress = Progress {
            epoch: meta["epoch"].as_u64().unwrap_or(0),
            iter: meta["iter"].as_u64().unwrap_or(0),
            batch_in_epoch: meta["batch_in_epoch"].as_u64().unwrap_or(0),
            ..self.progress.clone()
        };
        if let Some(saved) = meta["batches_per_epoch"].as_u64() {
            if saved != self.progress.batches_per_epoch {
                return Err(err(format!(
                    "it was written with {saved} batches per epoch, this config gives {}: the dataset, batch size or \
                     number of processes changed, so the run cannot resume exactly",
                    self.progress.batches_per_epoch
                )));
            }
        }
        if let Some(seed) = meta["seed"].as_u64() {
            if seed != self.env.seed {
                log::info!("resume: using the checkpoint's seed {seed} (was {})", self.env.seed);
                self.env.seed = seed;
            }
        }
        let parts = self.train_parts.as_mut().ok_or(EngineError::Internal("resume needs the training parts"))?;
        parts
            .optim
            .load_state_dict(kinema_optim::OptimState { meta: data.meta["optimizer"].clone(), tensors: data.optimizer })
            .map_err(|e| err(format!("optimizer state: {e}")))?;
        let states = data.meta["param_schedulers"].as_array().cloned().unwrap_or_default();
        if states.len() != parts.schedulers.len() {
            return Err(err(format!(
                "it has {} parameter schedulers, the config builds {}",
                states.len(),
                parts.schedulers.len()
            )));
        }
        for (sched, state) in parts.schedulers.iter_mut().zip(&states) {
            sched.load_state_dict(state).map_err(|e| err(format!("param_scheduler state: {e}")))?;
        }
        self.progress = progress;
        if let Some(best) = data.meta["best"].as_object() {
            if let (Some(k), Some(v), Some(p)) = (best["key"].as_str(), best["value"].as_f64(), best["path"].as_str()) {
                self.best = Some((k.to_string(), v, PathBuf::from(p)));
            }
        }
        if let Err(e) = self.hub.load_state_dict(&data.meta["message_hub"]) {
            log::warn!("resume: the logged scalar history could not be restored ({e}); logs restart empty");
        }
        if let Some(hooks) = data.meta["hooks"].as_object() {
            let hooks = hooks.clone();
            self.call_hooks(|h, _| match hooks.get(h.name()) {
                Some(state) => h.load_state_dict(state),
                None => Ok(()),
            })?;
        }
        let mut meta = data.meta.clone();
        self.call_hooks(|h, r| h.after_load_checkpoint(r, &mut meta))?;
        log::info!(
            "resumed from {} at epoch {}, iter {} (batch {} of the epoch)",
            path.display(),
            self.progress.epoch,
            self.progress.iter,
            self.progress.batch_in_epoch
        );
        Ok(())
    }

    /// MMEngine's `dataset_meta`: the class names of the training data (its label map),
    /// else the model's own, so a checkpoint says what its scores mean.
    fn dataset_meta(&self) -> Value {
        let classes =
            self.train_parts.as_ref().and_then(|p| p.class_names.clone()).or_else(|| self.model.class_names());
        match classes {
            Some(c) => json!({ "classes": c }),
            None => Value::Null,
        }
    }

    fn hook_states(&self) -> Vec<(String, Value)> {
        self.hooks.iter().filter_map(|h| h.hook.state_dict().map(|s| (h.hook.name().to_string(), s))).collect()
    }
}
