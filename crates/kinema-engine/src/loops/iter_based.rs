//! `IterBasedTrainLoop`: train for `max_iters` iterations across epochs, validating every
//! `val_interval` iterations from `val_begin` on (and at the end).

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};

use super::{TrainLoop, TrainLoopContext, TrainLoopKind};
use crate::hooks::EvalMode;
use crate::runner::Runner;
use crate::EngineError;

/// Trains for a number of iterations.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IterBasedTrainLoopConfig {
    /// Number of iterations.
    pub max_iters: u64,
    /// First iteration (1-based) after which validation may run.
    #[serde(default = "one")]
    pub val_begin: u64,
    /// Validate every this many iterations.
    #[serde(default = "thousand")]
    pub val_interval: u64,
}

fn one() -> u64 {
    1
}
fn thousand() -> u64 {
    1000
}

/// The iteration-based training loop.
pub struct IterBasedTrainLoop {
    config: IterBasedTrainLoopConfig,
}

impl Component<TrainLoopKind> for IterBasedTrainLoop {
    type Config = IterBasedTrainLoopConfig;
    fn build(config: &Self::Config, _: &TrainLoopContext, _: &BuildSite<'_>) -> Result<Box<dyn TrainLoop>, BoxError> {
        FieldError::check_positive(&[("max_iters", config.max_iters), ("val_interval", config.val_interval)])?;
        Ok(Box::new(IterBasedTrainLoop { config: config.clone() }))
    }
}
register!(TrainLoopKind, "IterBasedTrainLoop", IterBasedTrainLoop);

impl TrainLoop for IterBasedTrainLoop {
    fn max_epochs(&self) -> Option<u64> {
        None
    }

    fn max_iters(&self) -> u64 {
        self.config.max_iters
    }

    fn run(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        runner.call_hooks(|h, r| h.before_train(r))?;
        runner.call_hooks(|h, r| h.before_train_epoch(r))?;
        runner.model.set_training(true);
        let loader = super::train_loader(runner)?;
        let mut guard = loader.lock().map_err(|_| EngineError::Internal("the train loader lock is poisoned"))?;
        while runner.progress.iter < self.config.max_iters && !runner.stop_training {
            let start = runner.progress.batch_in_epoch as usize;
            let mut ran_any = false;
            for (offset, batch) in guard.epoch_from(runner.progress.epoch, start).enumerate() {
                let batch = batch?;
                runner.run_train_iter(start + offset, &batch)?;
                ran_any = true;
                let it = runner.progress.iter;
                let due = it >= self.config.val_begin
                    && (it.is_multiple_of(self.config.val_interval) || it == self.config.max_iters);
                if due && runner.val_parts.is_some() {
                    runner.run_eval(EvalMode::Val)?;
                    runner.model.set_training(true);
                }
                if runner.progress.iter >= self.config.max_iters || runner.stop_training {
                    break;
                }
            }
            if runner.progress.iter < self.config.max_iters {
                runner.progress.epoch += 1;
                runner.progress.batch_in_epoch = 0;
            }
            if !ran_any && start == 0 {
                return Err(EngineError::setting(&runner.cfg, "train_dataloader", "the training data yields no batch"));
            }
        }
        runner.call_hooks(|h, r| h.after_train_epoch(r))?;
        runner.call_hooks(|h, r| h.after_train(r))
    }
}
