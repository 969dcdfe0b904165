//! `ValLoop` and `TestLoop`: one pass over the evaluation data. Both names build the
//! same loop; which data and metrics it uses depends on where it is configured
//! (`val_cfg` or `test_cfg`). `precision = "bf16"` (or MMEngine's `fp16 = true`: bf16 on a
//! CPU, fp16 on CUDA) runs the model under autocast.

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::{register, Component};
use kinema_torch::precision::Precision;
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
    fp16: bool,
    precision: Option<Precision>,
}

impl EvalLoop for SinglePassLoop {
    fn run(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<Metrics, EngineError> {
        let precision = match (self.precision, self.fp16) {
            (Some(p), _) => p,
            (None, true) => Precision::half_for(runner.env.device),
            (None, false) => Precision::Fp32,
        };
        runner.eval_epoch(mode, precision)
    }
}

impl Component<EvalLoopKind> for SinglePassLoop {
    type Config = EvalLoopConfig;
    fn build(config: &EvalLoopConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn EvalLoop>, BoxError> {
        let precision = config
            .precision
            .as_deref()
            .map(str::parse::<Precision>)
            .transpose()
            .map_err(|e| FieldError::new("precision", e))?;
        if precision.is_some() && config.fp16 {
            return Err(FieldError::new("fp16", "is set together with `precision`: give one of them").into());
        }
        Ok(Box::new(SinglePassLoop { fp16: config.fp16, precision }))
    }
}

register!(EvalLoopKind, "ValLoop", SinglePassLoop);
register!(EvalLoopKind, "TestLoop", SinglePassLoop);
