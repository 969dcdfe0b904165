//! `RuntimeInfoHook`: puts the learning rate, the step's losses and the metrics into the
//! message hub, where the LoggerHook and the visualizer read them.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_data::Batch;
use serde::{Deserialize, Serialize};

use super::{EvalMode, Hook, HookKind, Metrics, Priority, PriorityName, TrainStepOutput};
use crate::runner::Runner;
use crate::EngineError;

/// Records `train/lr`, `train/base_lr`, `train/<loss>` and `val/<metric>` scalars.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeInfoHookConfig {}

/// The runtime-information hook.
pub struct RuntimeInfoHook;

impl Component<HookKind> for RuntimeInfoHook {
    type Config = RuntimeInfoHookConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        Ok(Box::new(RuntimeInfoHook))
    }
}
register!(HookKind, "RuntimeInfoHook", RuntimeInfoHook);

/// The message-hub prefix of an evaluation mode.
pub(crate) fn mode_prefix(mode: EvalMode) -> &'static str {
    match mode {
        EvalMode::Val => "val",
        EvalMode::Test => "test",
    }
}

impl Hook for RuntimeInfoHook {
    fn name(&self) -> &str {
        "RuntimeInfoHook"
    }
    fn priority(&self) -> Priority {
        Priority::Named(PriorityName::VeryHigh)
    }
    fn before_train_iter(&mut self, runner: &mut Runner, _: usize, _: &Batch) -> Result<(), EngineError> {
        if let Some(parts) = &runner.train_parts {
            let lr = parts.optim.lr_for_logging();
            runner.hub.update_scalar("train/lr", lr.lr);
            if let Some(base) = lr.base_lr {
                runner.hub.update_scalar("train/base_lr", base);
            }
        }
        Ok(())
    }
    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        _: usize,
        _: &Batch,
        out: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        for (k, v) in &out.log_vars {
            runner.hub.update_scalar(&format!("train/{k}"), *v);
        }
        Ok(())
    }
    fn after_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode, metrics: &Metrics) -> Result<(), EngineError> {
        let prefix = mode_prefix(mode);
        for (k, v) in metrics {
            runner.hub.update_scalar(&format!("{prefix}/{k}"), *v);
        }
        Ok(())
    }
}
