//! `CountItersHook`: counts training iterations and logs the count at each epoch end.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_data::Batch;
use kinema_engine::hooks::{Hook, HookKind, Priority, PriorityName, TrainStepOutput};
use kinema_engine::{EngineError, Runner};
use serde::{Deserialize, Serialize};

/// Counts training iterations; logs `<label>: N iterations` after every epoch.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountItersHookConfig {
    /// Text put before the count in the log line.
    #[serde(default = "default_label")]
    pub label: String,
}

fn default_label() -> String {
    "counted".into()
}

/// The hook.
pub struct CountItersHook {
    label: String,
    /// Iterations seen so far.
    pub count: u64,
}

impl Component<HookKind> for CountItersHook {
    type Config = CountItersHookConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        Ok(Box::new(CountItersHook { label: config.label.clone(), count: 0 }))
    }
}
register!(HookKind, "CountItersHook", CountItersHook);

impl Hook for CountItersHook {
    fn name(&self) -> &str {
        "CountItersHook"
    }
    fn priority(&self) -> Priority {
        Priority::Named(PriorityName::BelowNormal)
    }
    fn after_train_iter(
        &mut self,
        _: &mut Runner,
        _: usize,
        _: &Batch,
        _: &TrainStepOutput,
    ) -> Result<(), EngineError> {
        self.count += 1;
        Ok(())
    }
    fn after_train_epoch(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        log::info!("{}: {} iterations (epoch {})", self.label, self.count, runner.progress.epoch + 1);
        runner.hub.update_scalar("train/counted_iters", self.count as f64);
        Ok(())
    }
}
