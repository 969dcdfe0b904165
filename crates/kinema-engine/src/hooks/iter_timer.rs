//! `IterTimerHook`: `data_time` (waiting for the batch), `time` (the whole iteration) and
//! the ETA.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_data::Batch;
use kinema_logging::{IterTimer, Mode};
use serde::{Deserialize, Serialize};

use super::{EvalMode, Hook, HookKind, Metrics, TrainStepOutput};
use crate::runner::Runner;
use crate::EngineError;

/// Times iterations.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IterTimerHookConfig {}

/// The timing hook.
pub struct IterTimerHook {
    timer: IterTimer,
}

impl Component<HookKind> for IterTimerHook {
    type Config = IterTimerHookConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        Ok(Box::new(IterTimerHook { timer: IterTimer::new() }))
    }
}
register!(HookKind, "IterTimerHook", IterTimerHook);

/// The logging mode of an evaluation mode.
pub(crate) fn log_mode(mode: EvalMode) -> Mode {
    match mode {
        EvalMode::Val => Mode::Val,
        EvalMode::Test => Mode::Test,
    }
}

impl Hook for IterTimerHook {
    fn name(&self) -> &str {
        "IterTimerHook"
    }
    fn before_train(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        self.timer.before_train(runner.progress.iter as usize);
        Ok(())
    }
    fn before_train_epoch(&mut self, _: &mut Runner) -> Result<(), EngineError> {
        self.timer.before_epoch();
        Ok(())
    }
    fn before_eval_epoch(&mut self, _: &mut Runner, _: EvalMode) -> Result<(), EngineError> {
        self.timer.before_epoch();
        Ok(())
    }
    fn before_train_iter(&mut self, runner: &mut Runner, _: usize, _: &Batch) -> Result<(), EngineError> {
        self.timer.before_iter(&mut runner.hub, Mode::Train);
        Ok(())
    }
    fn before_eval_iter(
        &mut self,
        runner: &mut Runner,
        mode: EvalMode,
        _: usize,
        _: &Batch,
    ) -> Result<(), EngineError> {
        self.timer.before_iter(&mut runner.hub, log_mode(mode));
        Ok(())
    }
    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        _: usize,
        _: &Batch,
        _: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        let index = runner.progress.iter.saturating_sub(1) as usize;
        let eta = self.timer.after_train_iter(&mut runner.hub, index, runner.progress.max_iters as usize);
        runner.eta_secs = Some(eta);
        Ok(())
    }
    fn after_eval_iter(
        &mut self,
        runner: &mut Runner,
        mode: EvalMode,
        batch_idx: usize,
        _: &Batch,
    ) -> Result<(), EngineError> {
        let len = runner.eval_loader_len(mode);
        let eta = self.timer.after_eval_iter(&mut runner.hub, log_mode(mode), batch_idx, len);
        runner.eta_secs = Some(eta);
        Ok(())
    }
    fn after_eval_epoch(&mut self, _: &mut Runner, _: EvalMode, _: &Metrics) -> Result<(), EngineError> {
        self.timer.after_eval_epoch();
        Ok(())
    }
}
