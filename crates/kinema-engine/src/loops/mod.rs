//! Loops: what `train_cfg`, `val_cfg` and `test_cfg` build (MMEngine's
//! `EpochBasedTrainLoop`, `IterBasedTrainLoop`, `ValLoop`, `TestLoop`). Loops are
//! registered components like any other: a crate may register its own.

mod epoch_based;
mod eval_loops;
mod iter_based;

pub use epoch_based::EpochBasedTrainLoop;
pub use eval_loops::SinglePassLoop;
pub use iter_based::IterBasedTrainLoop;

use kinema_core::registry::{build, BuildSite};
use kinema_core::{Config, Kind};
use serde_json::{json, Value};

use crate::hooks::{EvalMode, Metrics};
use crate::runner::Runner;
use crate::EngineError;

/// A training loop.
pub trait TrainLoop: Send {
    /// The number of epochs, for epoch-based loops.
    fn max_epochs(&self) -> Option<u64>;
    /// The total number of training iterations.
    fn max_iters(&self) -> u64;
    /// Runs training to the end (or until a hook sets `runner.stop_training`).
    fn run(&mut self, runner: &mut Runner) -> Result<(), EngineError>;
}

/// What a train loop's build function receives.
#[derive(Debug, Clone, Copy)]
pub struct TrainLoopContext {
    /// Training batches per epoch.
    pub epoch_length: usize,
}

/// The registry kind of training loops (NAME `"train_loop"`).
pub struct TrainLoopKind;

impl Kind for TrainLoopKind {
    const NAME: &'static str = "train_loop";
    type Context = TrainLoopContext;
    type Output = dyn TrainLoop;
}

/// A validation or test loop.
pub trait EvalLoop: Send {
    /// Runs one evaluation pass and returns its metrics.
    fn run(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<Metrics, EngineError>;
}

/// The registry kind of validation and test loops (NAME `"eval_loop"`).
pub struct EvalLoopKind;

impl Kind for EvalLoopKind {
    const NAME: &'static str = "eval_loop";
    type Context = ();
    type Output = dyn EvalLoop;
}

/// Builds `train_cfg`. Without `type`, `by_epoch = true` (the default) means
/// `EpochBasedTrainLoop` and `by_epoch = false` `IterBasedTrainLoop`, as in MMEngine.
pub fn build_train_loop(cfg: &Config, epoch_length: usize) -> Result<Box<dyn TrainLoop>, EngineError> {
    let mut value = cfg.get("train_cfg").cloned().unwrap_or_else(|| json!({}));
    if let Some(table) = value.as_object_mut() {
        if !table.contains_key("type") {
            let by_epoch = table.shift_remove("by_epoch").and_then(|v| v.as_bool()).unwrap_or(true);
            let name = if by_epoch { "EpochBasedTrainLoop" } else { "IterBasedTrainLoop" };
            table.insert("type".into(), Value::String(name.into()));
        }
    }
    let site = BuildSite::root(cfg).key("train_cfg");
    Ok(build::<TrainLoopKind>(&value, &site, &TrainLoopContext { epoch_length })?.into_inner())
}

/// Builds `val_cfg` / `test_cfg` (default `ValLoop` / `TestLoop`).
pub fn build_eval_loop(cfg: &Config, mode: EvalMode) -> Result<Box<dyn EvalLoop>, EngineError> {
    let (key, default) = match mode {
        EvalMode::Val => ("val_cfg", "ValLoop"),
        EvalMode::Test => ("test_cfg", "TestLoop"),
    };
    let mut value = cfg.get(key).cloned().unwrap_or_else(|| json!({}));
    if let Some(table) = value.as_object_mut() {
        table.entry("type").or_insert_with(|| Value::String(default.into()));
    }
    let site = BuildSite::root(cfg).key(key);
    Ok(build::<EvalLoopKind>(&value, &site, &())?.into_inner())
}

/// The runner's training loader (shared so a loop can hold it while the runner runs hooks).
pub(crate) fn train_loader(
    runner: &Runner,
) -> Result<std::sync::Arc<std::sync::Mutex<kinema_data::DataLoader>>, EngineError> {
    runner
        .train_parts
        .as_ref()
        .map(|p| std::sync::Arc::clone(&p.loader))
        .ok_or(EngineError::Internal("training parts not built"))
}

/// Runs the batches of epoch `runner.progress.epoch` from `runner.progress.batch_in_epoch`
/// on (a resumed run continues mid-epoch), with the epoch hooks around them.
pub(crate) fn run_train_epoch(runner: &mut Runner) -> Result<(), EngineError> {
    runner.call_hooks(|h, r| h.before_train_epoch(r))?;
    runner.model.set_training(true);
    let loader = train_loader(runner)?;
    let start = runner.progress.batch_in_epoch as usize;
    let mut guard = loader.lock().map_err(|_| EngineError::Internal("the train loader lock is poisoned"))?;
    for (offset, batch) in guard.epoch_from(runner.progress.epoch, start).enumerate() {
        let batch = batch?;
        runner.run_train_iter(start + offset, &batch)?;
        if runner.progress.iter >= runner.progress.max_iters {
            break;
        }
    }
    runner.call_hooks(|h, r| h.after_train_epoch(r))?;
    runner.progress.epoch += 1;
    runner.progress.batch_in_epoch = 0;
    Ok(())
}
