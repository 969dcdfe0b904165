//! `EpochBasedTrainLoop`: train for `max_epochs`, validating every `val_interval` epochs
//! from `val_begin` on (and after the last epoch).

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};

use super::{run_train_epoch, TrainLoop, TrainLoopContext, TrainLoopKind};
use crate::hooks::EvalMode;
use crate::runner::Runner;
use crate::EngineError;

/// Trains epoch by epoch.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpochBasedTrainLoopConfig {
    /// Number of epochs.
    pub max_epochs: u64,
    /// First epoch (1-based, counted after training it) that is validated.
    #[serde(default = "one")]
    pub val_begin: u64,
    /// Validate every this many epochs.
    #[serde(default = "one")]
    pub val_interval: u64,
}

fn one() -> u64 {
    1
}

/// The epoch-based training loop.
pub struct EpochBasedTrainLoop {
    config: EpochBasedTrainLoopConfig,
    epoch_length: u64,
}

impl Component<TrainLoopKind> for EpochBasedTrainLoop {
    type Config = EpochBasedTrainLoopConfig;
    fn build(config: &Self::Config, ctx: &TrainLoopContext, _: &BuildSite<'_>) -> Result<Box<dyn TrainLoop>, BoxError> {
        FieldError::check_positive(&[("max_epochs", config.max_epochs), ("val_interval", config.val_interval)])?;
        Ok(Box::new(EpochBasedTrainLoop { config: config.clone(), epoch_length: ctx.epoch_length as u64 }))
    }
}
register!(TrainLoopKind, "EpochBasedTrainLoop", EpochBasedTrainLoop);

impl TrainLoop for EpochBasedTrainLoop {
    fn max_epochs(&self) -> Option<u64> {
        Some(self.config.max_epochs)
    }

    fn max_iters(&self) -> u64 {
        self.config.max_epochs * self.epoch_length
    }

    fn run(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        runner.call_hooks(|h, r| h.before_train(r))?;
        while runner.progress.epoch < self.config.max_epochs && !runner.stop_training {
            run_train_epoch(runner)?;
            let done = runner.progress.epoch;
            let due = done >= self.config.val_begin
                && (done.is_multiple_of(self.config.val_interval) || done == self.config.max_epochs);
            if due && runner.val_parts.is_some() {
                runner.run_eval(EvalMode::Val)?;
            }
        }
        runner.call_hooks(|h, r| h.after_train(r))
    }
}
