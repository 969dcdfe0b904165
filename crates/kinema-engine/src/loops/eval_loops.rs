//! `ValLoop` and `TestLoop`: one pass over the evaluation data. Both names build the
//! same loop; which data and metrics it uses depends on where it is configured
//! (`val_cfg` or `test_cfg`).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};

use super::{EvalLoop, EvalLoopKind};
use crate::hooks::{EvalMode, Metrics};
use crate::runner::Runner;
use crate::EngineError;

/// One pass over the validation or test data (no options).
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalLoopConfig {}

/// The validation / test loop.
pub struct SinglePassLoop;

impl EvalLoop for SinglePassLoop {
    fn run(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<Metrics, EngineError> {
        runner.eval_epoch(mode)
    }
}

impl Component<EvalLoopKind> for SinglePassLoop {
    type Config = EvalLoopConfig;
    fn build(_: &EvalLoopConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn EvalLoop>, BoxError> {
        Ok(Box::new(SinglePassLoop))
    }
}

register!(EvalLoopKind, "ValLoop", SinglePassLoop);
register!(EvalLoopKind, "TestLoop", SinglePassLoop);
