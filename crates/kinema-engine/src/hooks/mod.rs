//! Hooks: code that runs at fixed points of a run (MMEngine's 22 call points), in
//! priority order. Logging, LR scheduling, checkpointing, timing and sampler seeding are
//! all hooks, so the loops stay small. Users add their own through `custom_hooks` from
//! any crate (see `docs/training.md`).

mod checkpoint;
mod dist_sampler_seed;
mod early_stopping;
mod iter_timer;
mod logger;
mod param_scheduler;
mod runtime_info;
mod sync_buffers;

pub use checkpoint::CheckpointHook;
pub use early_stopping::EarlyStoppingHook;
pub use iter_timer::IterTimerHook;
pub use logger::LoggerHook;
pub use param_scheduler::ParamSchedulerHook;
pub use runtime_info::RuntimeInfoHook;

use kinema_core::Kind;
use kinema_data::Batch;
use serde::{Deserialize, Serialize};

use crate::runner::Runner;
use crate::EngineError;

/// Metric values by name (`acc/top1` -> 0.81), in the order the metrics produced them
/// (`save_best = "auto"` takes the first, as MMEngine).
pub type Metrics = indexmap::IndexMap<String, f64>;

/// MMEngine's hook priorities; lower runs first, equal priorities keep registration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Priority {
    /// A named level (`"NORMAL"`, `"LOW"`, ...).
    Named(PriorityName),
    /// A number from 0 (first) to 100 (last).
    Value(u8),
}

/// MMEngine's named priority levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum PriorityName {
    Highest,
    VeryHigh,
    High,
    AboveNormal,
    Normal,
    BelowNormal,
    Low,
    VeryLow,
    Lowest,
}

impl Priority {
    /// The numeric value (HIGHEST 0 ... LOWEST 100).
    pub fn value(self) -> u8 {
        match self {
            Priority::Value(v) => v,
            Priority::Named(n) => match n {
                PriorityName::Highest => 0,
                PriorityName::VeryHigh => 10,
                PriorityName::High => 30,
                PriorityName::AboveNormal => 40,
                PriorityName::Normal => 50,
                PriorityName::BelowNormal => 60,
                PriorityName::Low => 70,
                PriorityName::VeryLow => 90,
                PriorityName::Lowest => 100,
            },
        }
    }

    /// `Priority::Named(PriorityName::Normal)`.
    pub const NORMAL: Priority = Priority::Named(PriorityName::Normal);
}

/// What a training iteration produced, as hooks see it.
#[derive(Debug, Clone, Default)]
pub struct TrainStepOutput {
    /// Every logged value of the step: `loss` (the sum), each named loss, `grad_norm`...
    pub log_vars: Vec<(String, f64)>,
    /// True when the optimizer stepped (false inside a gradient-accumulation window or
    /// when AMP skipped a step with non-finite gradients).
    pub stepped: bool,
}

/// Which evaluation a hook call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalMode {
    /// Validation during training.
    Val,
    /// A test run.
    Test,
}

/// A hook. Every method has an empty default; implement the call points you need. The
/// runner passes itself, so a hook can read the loop position, the model, the message
/// hub, the work dir, and ask for a checkpoint.
#[allow(unused_variables)]
pub trait Hook: Send {
    /// Where this hook runs relative to others (default NORMAL).
    fn priority(&self) -> Priority {
        Priority::NORMAL
    }
    /// The hook's name in logs.
    fn name(&self) -> &str;
    /// Before anything else of a train, val or test run.
    fn before_run(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        Ok(())
    }
    /// After a checkpoint was loaded (resume or `load_from`); may edit its metadata.
    fn after_load_checkpoint(&mut self, runner: &mut Runner, meta: &mut serde_json::Value) -> Result<(), EngineError> {
        Ok(())
    }
    /// Before the first training epoch.
    fn before_train(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        Ok(())
    }
    /// Before each training epoch.
    fn before_train_epoch(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        Ok(())
    }
    /// Before each training iteration.
    fn before_train_iter(&mut self, runner: &mut Runner, batch_idx: usize, batch: &Batch) -> Result<(), EngineError> {
        Ok(())
    }
    /// After each training iteration.
    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        batch_idx: usize,
        batch: &Batch,
        outputs: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        Ok(())
    }
    /// After each training epoch.
    fn after_train_epoch(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        Ok(())
    }
    /// Before a validation or test run.
    fn before_eval(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<(), EngineError> {
        Ok(())
    }
    /// Before each validation or test epoch.
    fn before_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<(), EngineError> {
        Ok(())
    }
    /// Before each validation or test iteration.
    fn before_eval_iter(
        &mut self,
        runner: &mut Runner,
        mode: EvalMode,
        batch_idx: usize,
        batch: &Batch,
    ) -> Result<(), EngineError> {
        Ok(())
    }
    /// After each validation or test iteration.
    fn after_eval_iter(
        &mut self,
        runner: &mut Runner,
        mode: EvalMode,
        batch_idx: usize,
        batch: &Batch,
    ) -> Result<(), EngineError> {
        Ok(())
    }
    /// After each validation or test epoch, with its metrics.
    fn after_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode, metrics: &Metrics) -> Result<(), EngineError> {
        Ok(())
    }
    /// After a validation or test run.
    fn after_eval(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<(), EngineError> {
        Ok(())
    }
    /// Just before a checkpoint is written; may add to its metadata.
    fn before_save_checkpoint(&mut self, runner: &mut Runner, meta: &mut serde_json::Value) -> Result<(), EngineError> {
        Ok(())
    }
    /// After the last training epoch.
    fn after_train(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        Ok(())
    }
    /// After everything else of a run.
    fn after_run(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        Ok(())
    }
    /// State to keep in checkpoints (EMA weights' step counts, early-stopping counters...).
    fn state_dict(&self) -> Option<serde_json::Value> {
        None
    }
    /// Restores what [`Hook::state_dict`] returned.
    fn load_state_dict(&mut self, state: &serde_json::Value) -> Result<(), EngineError> {
        Ok(())
    }
}

/// What stands in a hook's place in the runner while that hook runs: it does nothing
/// and has no state (the running hook adds its own, see `Runner::save_checkpoint_from`).
pub struct Running;

impl Hook for Running {
    fn name(&self) -> &str {
        "(running)"
    }
}

/// The registry kind of hooks (NAME `"hook"`).
pub struct HookKind;

impl Kind for HookKind {
    const NAME: &'static str = "hook";
    type Context = ();
    type Output = dyn Hook;
}
