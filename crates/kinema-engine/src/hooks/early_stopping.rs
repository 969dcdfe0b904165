//! `EarlyStoppingHook`: stops training when a validation metric stops improving.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{EvalMode, Hook, HookKind, Metrics, Priority, PriorityName};
use crate::runner::Runner;
use crate::EngineError;

/// Stop when `monitor` has not improved by `min_delta` for `patience` validations.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingHookConfig {
    /// The metric to watch (`acc/top1`).
    pub monitor: String,
    /// `greater` or `less`; by default inferred from the key like MMEngine (`loss` -> less).
    #[serde(default)]
    pub rule: Option<String>,
    /// The smallest change that counts as an improvement.
    #[serde(default = "default_delta")]
    pub min_delta: f64,
    /// Validations without improvement before stopping.
    #[serde(default = "default_patience")]
    pub patience: u32,
    /// Stop as soon as the metric reaches this value.
    #[serde(default)]
    pub stopping_threshold: Option<f64>,
    /// Stop when the metric is NaN or infinite.
    #[serde(default = "yes")]
    pub check_finite: bool,
}

fn default_delta() -> f64 {
    0.1
}
fn default_patience() -> u32 {
    5
}
fn yes() -> bool {
    true
}

/// The early-stopping hook.
pub struct EarlyStoppingHook {
    config: EarlyStoppingHookConfig,
    greater: bool,
    best: Option<f64>,
    wait: u32,
}

impl Component<HookKind> for EarlyStoppingHook {
    type Config = EarlyStoppingHookConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        let greater = match config.rule.as_deref() {
            Some("greater") => true,
            Some("less") => false,
            Some(other) => return Err(format!("rule \"{other}\": expected \"greater\" or \"less\"").into()),
            None => !config.monitor.contains("loss"),
        };
        Ok(Box::new(EarlyStoppingHook { config: config.clone(), greater, best: None, wait: 0 }))
    }
}
register!(HookKind, "EarlyStoppingHook", EarlyStoppingHook);

impl Hook for EarlyStoppingHook {
    fn name(&self) -> &str {
        "EarlyStoppingHook"
    }
    fn priority(&self) -> Priority {
        Priority::Named(PriorityName::Low)
    }
    fn after_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode, metrics: &Metrics) -> Result<(), EngineError> {
        if mode != EvalMode::Val {
            return Ok(());
        }
        let Some(&value) = metrics.get(&self.config.monitor) else {
            return Err(EngineError::Hook {
                hook: "EarlyStoppingHook".into(),
                message: format!(
                    "monitor `{}` is not among the metrics ({})",
                    self.config.monitor,
                    metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        };
        if self.config.check_finite && !value.is_finite() {
            log::warn!("early stopping: {} is {value}", self.config.monitor);
            runner.stop_training = true;
            return Ok(());
        }
        if let Some(t) = self.config.stopping_threshold {
            if (self.greater && value >= t) || (!self.greater && value <= t) {
                log::info!("early stopping: {} reached the threshold {t}", self.config.monitor);
                runner.stop_training = true;
                return Ok(());
            }
        }
        let improved = match self.best {
            None => true,
            Some(b) if self.greater => value - b > self.config.min_delta,
            Some(b) => b - value > self.config.min_delta,
        };
        if improved {
            self.best = Some(value);
            self.wait = 0;
        } else {
            self.wait += 1;
            if self.wait >= self.config.patience {
                log::info!(
                    "early stopping: {} has not improved for {} validations (best {:?})",
                    self.config.monitor,
                    self.wait,
                    self.best
                );
                runner.stop_training = true;
            }
        }
        Ok(())
    }
    fn state_dict(&self) -> Option<Value> {
        Some(json!({ "best": self.best, "wait": self.wait }))
    }
    fn load_state_dict(&mut self, state: &Value) -> Result<(), EngineError> {
        self.best = state["best"].as_f64();
        self.wait = state["wait"].as_u64().unwrap_or(0) as u32;
        Ok(())
    }
}
