//! `LoggerHook`: MMEngine's log lines every `interval` iterations and after each
//! evaluation, and the same scalars to the visualizer (scalars.json, TensorBoard).

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::{register, Component};
use kinema_data::Batch;
use kinema_logging::{LogProcessor, LogProcessorConfig, LoopState, Mode};
use serde::{Deserialize, Serialize};

use super::iter_timer::log_mode;
use super::{EvalMode, Hook, HookKind, Metrics, Priority, PriorityName, TrainStepOutput};
use crate::runner::Runner;
use crate::EngineError;

/// Logs progress lines and sends scalars to the visualizer backends.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggerHookConfig {
    /// Log every this many iterations.
    #[serde(default = "ten")]
    pub interval: usize,
    /// Skip the epoch's last iterations when they do not fill an interval.
    #[serde(default)]
    pub ignore_last: bool,
    /// Print the experiment name every this many iterations.
    #[serde(default = "thousand")]
    pub interval_exp_name: usize,
    /// Log validation metrics against the epoch (true) or the iteration.
    #[serde(default = "yes")]
    pub log_metric_by_epoch: bool,
}

fn ten() -> usize {
    10
}
fn thousand() -> usize {
    1000
}
fn yes() -> bool {
    true
}

/// The logging hook.
pub struct LoggerHook {
    config: LoggerHookConfig,
    processor: Option<LogProcessor>,
}

impl Component<HookKind> for LoggerHook {
    type Config = LoggerHookConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        FieldError::check_positive(&[
            ("interval", config.interval as u64),
            ("interval_exp_name", config.interval_exp_name as u64),
        ])?;
        Ok(Box::new(LoggerHook { config: config.clone(), processor: None }))
    }
}
register!(HookKind, "LoggerHook", LoggerHook);

impl LoggerHook {
    fn state(&self, runner: &Runner, batch_idx: usize, dataloader_len: usize, train: bool) -> LoopState {
        LoopState {
            batch_idx,
            dataloader_len,
            epoch: runner.progress.epoch as usize,
            iter: if train { runner.progress.iter.saturating_sub(1) } else { runner.progress.iter } as usize,
            max_epochs: if runner.train_parts.is_some() {
                runner.progress.max_epochs.map(|e| e as usize)
            } else {
                None
            },
            max_iters: runner.progress.max_iters as usize,
            eta_secs: runner.eta_secs,
            memory_mb: None,
        }
    }

    fn processor(&self) -> Result<&LogProcessor, EngineError> {
        self.processor.as_ref().ok_or(EngineError::Internal("LoggerHook used before before_run"))
    }

    fn emit(runner: &mut Runner, line: &str, tag: &kinema_logging::ScalarDict, step: u64) -> Result<(), EngineError> {
        log::info!("{line}");
        runner.visualizer.add_scalars(tag, step).map_err(|e| EngineError::logging("visualizer", e))
    }
}

impl Hook for LoggerHook {
    fn name(&self) -> &str {
        "LoggerHook"
    }
    fn priority(&self) -> Priority {
        Priority::Named(PriorityName::BelowNormal)
    }

    fn before_run(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        let mut config = LogProcessorConfig { window_size: 20, ..LogProcessorConfig::default() };
        if let Some(v) = runner.cfg.get("log_processor") {
            config = serde_path_to_error::deserialize(v.clone()).map_err(|e| {
                EngineError::setting(&runner.cfg, &format!("log_processor.{}", e.path()), e.inner().to_string())
            })?;
        }
        let processor =
            LogProcessor::new(config).map_err(|e| EngineError::setting(&runner.cfg, "log_processor", e.to_string()))?;
        self.processor = Some(processor);
        Ok(())
    }

    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        batch_idx: usize,
        _: &Batch,
        _: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        let len = runner.progress.batches_per_epoch as usize;
        let every = (batch_idx + 1).is_multiple_of(self.config.interval);
        let last = !self.config.ignore_last && batch_idx + 1 == len;
        if runner.env.is_main()
            && ((runner.progress.iter as usize).is_multiple_of(self.config.interval_exp_name) || batch_idx + 1 == len)
        {
            log::info!("Exp name: {}", runner.env.experiment_name);
        }
        if !(every || last) {
            return Ok(());
        }
        let state = self.state(runner, batch_idx, len, true);
        let out = self.processor()?.after_iter(&runner.hub, Mode::Train, &state);
        Self::emit(runner, &out.line, &out.tag, runner.progress.iter)
    }

    fn after_eval_iter(
        &mut self,
        runner: &mut Runner,
        mode: EvalMode,
        batch_idx: usize,
        _: &Batch,
    ) -> Result<(), EngineError> {
        if !(batch_idx + 1).is_multiple_of(self.config.interval) {
            return Ok(());
        }
        let len = runner.eval_loader_len(mode);
        let state = self.state(runner, batch_idx, len, false);
        let out = self.processor()?.after_iter(&runner.hub, log_mode(mode), &state);
        log::info!("{}", out.line);
        Ok(())
    }

    fn after_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode, _: &Metrics) -> Result<(), EngineError> {
        let len = runner.eval_loader_len(mode);
        let state = self.state(runner, len.saturating_sub(1), len, false);
        let out = self.processor()?.after_epoch(&runner.hub, log_mode(mode), &state);
        let step = match (mode, self.config.log_metric_by_epoch) {
            (EvalMode::Val, true) => runner.progress.epoch,
            _ => runner.progress.iter,
        };
        Self::emit(runner, &out.line, &out.tag, step)?;
        if mode == EvalMode::Test && runner.env.is_main() {
            let path = kinema_logging::RunPaths::new(&runner.env.work_dir, &runner.env.timestamp).test_metrics_file();
            kinema_logging::write_test_metrics(&path, &out.tag)
                .map_err(|e| EngineError::logging(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }
}
