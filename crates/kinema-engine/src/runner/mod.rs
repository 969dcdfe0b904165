//! The runner (MMEngine's `Runner`): builds the model, hooks and loops from the config
//! and runs training, validation or testing.
//!
//! Construction ([`Runner::from_config`]) makes the work dir, picks the device and seed,
//! sets up logging, builds the model and the hooks. [`Runner::train`] builds the
//! training parts (loader, optimizer wrapper, schedulers, val loop) lazily, loads or
//! resumes a checkpoint, then runs the train loop; [`Runner::test`] does the same for
//! the test loop.

mod amp;
mod build;
pub mod config;
mod env;
mod eval;
pub mod header;
pub mod params;
mod parts;
mod resume;
mod stop;
mod train_step;
pub mod work_dir_lock;

pub use build::resolved_dump_name;
pub use config::{resolved_config, RunnerConfig};
pub use env::{resolve_work_dir, select_device, RandomnessConfig, RunEnv};
pub use resume::SaveOptions;
pub use stop::{signal_name, StopInfo, StopSignals, TrainEnd, EXIT_REQUEUE};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kinema_core::Config;
use kinema_data::DataLoader;
use kinema_logging::{MessageHub, Visualizer};
use kinema_models::recognizer::Recognizer;
use kinema_optim::{OptimWrapper, ParamScheduler};

use crate::evaluation::Evaluator;
use crate::hooks::{EvalMode, Hook, Metrics};
use crate::loops::{EvalLoop, TrainLoop};
use crate::EngineError;

/// A hash of every variable's name and bytes (sorted by name): equal on every rank when
/// the ranks hold identical weights (logged at the end of multi-process training).
pub fn weights_fingerprint(vs: &tch::nn::VarStore) -> Result<u64, EngineError> {
    use std::hash::{Hash, Hasher};
    let mut vars: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (name, t) in vars {
        name.hash(&mut hasher);
        let cpu = t.to_device(tch::Device::Cpu).contiguous();
        let bytes = Vec::<u8>::try_from(cpu.reshape([-1]).view_dtype(tch::Kind::Uint8))?;
        bytes.hash(&mut hasher);
    }
    Ok(hasher.finish())
}

/// Where `--resume` points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resume {
    /// Do not resume (the default; `resume = true` in the config means [`Resume::Auto`]).
    #[default]
    No,
    /// Resume from `work_dir/last_checkpoint`, if it exists.
    Auto,
    /// Resume from this checkpoint.
    From(PathBuf),
}

/// Process placement when several processes train together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistInfo {
    /// Global rank.
    pub rank: usize,
    /// Number of processes.
    pub world_size: usize,
    /// Rank on this node (picks the GPU).
    pub local_rank: usize,
    /// The rendezvous host (rank 0's address).
    pub master_addr: String,
    /// The rendezvous port.
    pub master_port: u16,
    /// Where the address and port came from, for messages (`MASTER_ADDR`, `the first
    /// node of SLURM_NODELIST=...`).
    pub master_source: String,
}

impl Default for DistInfo {
    fn default() -> Self {
        DistInfo {
            rank: 0,
            world_size: 1,
            local_rank: 0,
            master_addr: "127.0.0.1".into(),
            master_port: 29500,
            master_source: "the default".into(),
        }
    }
}

/// What the command line adds to the config (MMAction2's `tools/train.py` flags).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The config file, for the default work dir and the dumped config's name.
    pub config_path: PathBuf,
    /// `--work-dir`.
    pub work_dir: Option<PathBuf>,
    /// `--resume [PATH]`.
    pub resume: Resume,
    /// `--checkpoint` (test) or `load_from`: weights only.
    pub load_from: Option<PathBuf>,
    /// `--amp`: switch the optimizer wrapper to `AmpOptimWrapper`.
    pub amp: bool,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--deterministic`.
    pub deterministic: bool,
    /// `--device cpu|cuda|cuda:N`.
    pub device: Option<String>,
    /// Rank and world size from the launcher.
    pub dist: DistInfo,
    /// `--dry-run`: build everything, read one batch, stop.
    pub dry_run: bool,
    /// Load `load_from` / `--checkpoint` non-strictly: what matches is loaded, the rest is
    /// reported (default: strict, every parameter must be there with its shape).
    pub partial_load: bool,
}

/// Where the loops are: MMEngine's `epoch` / `iter` plus the position inside an epoch,
/// which lets a run killed mid-epoch resume exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// Completed epochs.
    pub epoch: u64,
    /// Completed training iterations (global).
    pub iter: u64,
    /// Batches of the current epoch already trained on.
    pub batch_in_epoch: u64,
    /// The last epoch (epoch-based loops).
    pub max_epochs: Option<u64>,
    /// The last iteration.
    pub max_iters: u64,
    /// Training batches per epoch.
    pub batches_per_epoch: u64,
}

/// The parts only training needs.
pub struct TrainParts {
    /// The training data (locked while an epoch runs).
    pub loader: Arc<Mutex<DataLoader>>,
    /// Optimizer, clipping, accumulation, AMP.
    pub optim: OptimWrapper,
    /// LR (and momentum) schedules, in config order.
    pub schedulers: Vec<Box<dyn ParamScheduler>>,
    /// The training data's class names (its label map), recorded in checkpoints.
    pub class_names: Option<Vec<String>>,
}

/// The parts a validation or test loop needs.
pub struct EvalParts {
    /// The evaluation data (locked while a pass runs).
    pub loader: Arc<Mutex<DataLoader>>,
    /// Batches per pass.
    pub batches: usize,
    /// Samples in the dataset (for dropping padding duplicates).
    pub dataset_len: usize,
    /// The metrics.
    pub evaluator: Evaluator,
    /// The loop (`ValLoop` / `TestLoop`).
    pub eval_loop: Option<Box<dyn EvalLoop>>,
}

/// One registered hook and its effective priority.
pub(crate) struct HookEntry {
    pub priority: u8,
    pub hook: Box<dyn Hook>,
}

/// The runner. Hooks receive it mutably and may read or change any public part.
pub struct Runner {
    /// The merged, resolved config.
    pub cfg: Config,
    /// Device, seed, rank, paths.
    pub env: RunEnv,
    /// The model.
    pub model: Box<dyn Recognizer>,
    /// The loop position.
    pub progress: Progress,
    /// Scalars logged during the run (losses, lr, times, metrics).
    pub hub: MessageHub,
    /// Where logged scalars go (scalars.json, TensorBoard); empty on ranks other than 0.
    pub visualizer: Visualizer,
    /// Seconds left in the current loop, as estimated by the IterTimerHook.
    pub eta_secs: Option<f64>,
    /// The process group when several processes run together.
    pub dist: Option<crate::dist::DistRuntime>,
    /// Training parts, once [`Runner::train`] built them.
    pub train_parts: Option<TrainParts>,
    /// Validation parts, once built.
    pub val_parts: Option<EvalParts>,
    /// Test parts, once built.
    pub test_parts: Option<EvalParts>,
    /// Set by a hook (early stopping) to end training after the current epoch.
    pub stop_training: bool,
    /// The command-line options this runner was made with.
    pub options: RunOptions,
    /// The best metric so far and where it was saved (CheckpointHook's `save_best`).
    pub best: Option<(String, f64, PathBuf)>,
    hooks: Vec<HookEntry>,
    /// The signal handlers that stop training cleanly (while [`Runner::train`] runs).
    stop_signals: Option<stop::StopSignals>,
}

impl Runner {
    /// Calls `f` on every hook in priority order; stops at the first error. While a hook
    /// runs, the others stay in the runner (a checkpoint it saves holds their states, and
    /// their `before_save_checkpoint` runs); the running one is represented by a stand-in
    /// that does nothing.
    pub fn call_hooks(
        &mut self,
        mut f: impl FnMut(&mut dyn Hook, &mut Runner) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        for i in 0..self.hooks.len() {
            let mut hook = std::mem::replace(&mut self.hooks[i].hook, Box::new(crate::hooks::Running));
            let result = f(hook.as_mut(), self);
            self.hooks[i].hook = hook;
            result?;
        }
        Ok(())
    }

    /// The registered hooks' names and priorities, in call order.
    pub fn hook_names(&self) -> Vec<(String, u8)> {
        self.hooks.iter().map(|h| (h.hook.name().to_string(), h.priority)).collect()
    }

    /// Trains: takes the work dir's lock ([`work_dir_lock`]), builds the training parts,
    /// loads or resumes, runs the train loop. A
    /// SIGUSR1, SIGTERM or SIGINT during the loop stops it after the current iteration
    /// with a checkpoint ([`TrainEnd::Stopped`]; see [`stop`](self::stop)).
    pub fn train(&mut self) -> Result<TrainEnd, EngineError> {
        // Rank 0 writes the checkpoints: one trainer per work dir.
        let _lock = if self.env.is_main() && !self.options.dry_run {
            Some(work_dir_lock::WorkDirLock::acquire(&self.env.work_dir)?)
        } else {
            None
        };
        let mut train_loop: Box<dyn TrainLoop> = self.build_train_parts()?;
        self.call_hooks(|h, r| h.before_run(r))?;
        self.model.init_weights()?;
        self.load_or_resume()?;
        let (iter, max_iters) = (self.progress.iter, self.progress.max_iters);
        let group = self.dist.as_ref().map(|d| Arc::clone(&d.group));
        if let Some(group) = &group {
            crate::dist::broadcast_parameters(group, self.model.var_store())?;
        }
        if let Some(parts) = self.train_parts.as_mut() {
            parts.optim.initialize_count_status(iter, max_iters);
            if let Some(group) = group {
                parts.optim.set_grad_sync(crate::dist::gradient_sync(group));
            }
        }
        if self.options.dry_run {
            return self.dry_run().map(|()| TrainEnd::Completed);
        }
        self.stop_signals = Some(stop::StopSignals::install()?);
        let result = train_loop.run(self);
        self.stop_signals = None;
        match result {
            Ok(()) => {}
            Err(EngineError::Stopped(info)) => {
                self.visualizer.close().map_err(|e| EngineError::logging("visualizer", e))?;
                return Ok(TrainEnd::Stopped(info));
            }
            Err(e) => return Err(e),
        }
        self.call_hooks(|h, r| h.after_run(r))?;
        self.visualizer.close().map_err(|e| EngineError::logging("visualizer", e))?;
        Ok(TrainEnd::Completed)
    }

    /// Tests: builds the test parts, loads the checkpoint, runs the test loop and
    /// returns its metrics.
    pub fn test(&mut self) -> Result<Metrics, EngineError> {
        self.build_eval_parts(EvalMode::Test)?;
        self.call_hooks(|h, r| h.before_run(r))?;
        self.load_or_resume()?;
        let metrics = self.run_eval(EvalMode::Test)?;
        self.call_hooks(|h, r| h.after_run(r))?;
        Ok(metrics)
    }

    /// Validates once (outside training) and returns the metrics.
    pub fn val(&mut self) -> Result<Metrics, EngineError> {
        self.build_eval_parts(EvalMode::Val)?;
        self.call_hooks(|h, r| h.before_run(r))?;
        self.load_or_resume()?;
        let metrics = self.run_eval(EvalMode::Val)?;
        self.call_hooks(|h, r| h.after_run(r))?;
        Ok(metrics)
    }

    /// `--dry-run`: every component is built; read one batch through the pipeline and run
    /// the model's forward and losses on it (no gradient, no step), then stop.
    fn dry_run(&mut self) -> Result<(), EngineError> {
        let parts = self.train_parts.as_ref().ok_or(EngineError::Internal("no training parts"))?;
        let loader = Arc::clone(&parts.loader);
        let batch = {
            let mut guard = loader.lock().map_err(|_| EngineError::Internal("the train loader lock is poisoned"))?;
            let mut batches = guard.epoch(0);
            match batches.next() {
                Some(batch) => batch?,
                None => {
                    return Err(EngineError::setting(
                        &self.cfg,
                        "train_dataloader",
                        "dry run: the training data is empty",
                    ))
                }
            }
        };
        log::info!("dry run: first batch has shape {:?}", batch.shape);
        let model_batch = self.to_model_batch(&batch, 0)?;
        let losses = tch::no_grad(|| self.model_losses(&model_batch))?;
        let mut shown = Vec::with_capacity(losses.len());
        for (name, value) in &losses {
            let value = value.f_mean(tch::Kind::Float)?.f_double_value(&[])?;
            if !value.is_finite() {
                return Err(EngineError::setting(
                    &self.cfg,
                    "model",
                    format!("dry run: the first batch gives {name} = {value}; expected a finite number"),
                ));
            }
            shown.push(format!("{name} {value:.4}"));
        }
        log::info!("dry run: one forward pass on it gives {}; every component built", shown.join(", "));
        Ok(())
    }
}
