//! `ParamSchedulerHook`: steps iteration-based schedulers after every training
//! iteration and epoch-based ones after every epoch (MMEngine's order: LOW priority).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_data::Batch;
use serde::{Deserialize, Serialize};

use super::{Hook, HookKind, Priority, PriorityName, TrainStepOutput};
use crate::runner::Runner;
use crate::EngineError;

/// Steps the `param_scheduler` entries.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamSchedulerHookConfig {}

/// The scheduler-stepping hook.
pub struct ParamSchedulerHook;

impl Component<HookKind> for ParamSchedulerHook {
    type Config = ParamSchedulerHookConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        Ok(Box::new(ParamSchedulerHook))
    }
}
register!(HookKind, "ParamSchedulerHook", ParamSchedulerHook);

fn step(runner: &mut Runner, by_epoch: bool) {
    if let Some(parts) = runner.train_parts.as_mut() {
        let groups = parts.optim.param_groups_mut();
        for s in parts.schedulers.iter_mut().filter(|s| s.by_epoch() == by_epoch) {
            s.step(groups);
        }
    }
}

impl Hook for ParamSchedulerHook {
    fn name(&self) -> &str {
        "ParamSchedulerHook"
    }
    fn priority(&self) -> Priority {
        Priority::Named(PriorityName::Low)
    }
    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        _: usize,
        _: &Batch,
        _: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        step(runner, false);
        Ok(())
    }
    fn after_train_epoch(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        step(runner, true);
        Ok(())
    }
}
