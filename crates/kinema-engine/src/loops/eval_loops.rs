//! `ValLoop` and `TestLoop`: one pass over the evaluation data. Both names build the
//! same loop; which data and metrics it uses depends on where it is configured
//! (`val_cfg` or `test_cfg`). `precision = "bf16"` (or MMEngine's `fp16 = true`: bf16 on a
//! CPU, fp16 on CUDA) runs the model under autocast.

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::{register, Component};
use kinema_torch::precision::loop_precision;
use serde::{Deserialize, Serialize};

use super::{EvalLoop, EvalLoopKind};
use crate::hooks::{EvalMode, Metrics};
use crate::runner::Runner;
use crate::EngineError;

/// One pass over the validation or test data.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalLoopConfig {
    /// MMEngine's switch: autocast in the device's half type (bf16 on a CPU, fp16 on CUDA).
    #[serde(default)]
    pub fp16: bool,
    /// The precision the model runs in: "fp32" (default), "bf16" or "fp16" (autocast).
    #[serde(default)]
    pub precision: Option<String>,
}

/// The validation / test loop.
pub struct SinglePassLoop {
    config: EvalLoopConfig,
}

impl EvalLoop for SinglePassLoop {
    fn run(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<Metrics, EngineError> {
        let precision = loop_precision(self.config.precision.as_deref(), self.config.fp16, runner.env.device)
            .map_err(|_| EngineError::Internal("the eval loop's precision is checked when it is built"))?;
        runner.eval_epoch(mode, precision)
    }
}

impl Component<EvalLoopKind> for SinglePassLoop {
    type Config = EvalLoopConfig;
    fn build(config: &EvalLoopConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn EvalLoop>, BoxError> {
        // Checked here, at the key, with the device's choice left to `run`.
        loop_precision(config.precision.as_deref(), config.fp16, tch::Device::Cpu)
            .map_err(|(field, message)| FieldError::new(field, message))?;
        Ok(Box::new(SinglePassLoop { config: config.clone() }))
    }
}

register!(EvalLoopKind, "ValLoop", SinglePassLoop);
register!(EvalLoopKind, "TestLoop", SinglePassLoop);
