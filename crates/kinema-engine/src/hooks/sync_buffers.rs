//! `SyncBuffersHook` (MMEngine's): with several processes, every buffer of the model
//! (batch-norm running statistics and counters) is averaged across ranks at the end of
//! each training epoch, or before validation when no epoch ended (iteration-based
//! loops). Between syncs each rank keeps its own statistics, as DDP with MMEngine's
//! `broadcast_buffers=False` does.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::{EvalMode, Hook, HookKind};
use crate::dist::all_reduce_buffers;
use crate::runner::Runner;
use crate::EngineError;

/// `SyncBuffersHook` takes no settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBuffersConfig {}

/// The built hook.
#[derive(Debug, Default)]
pub struct SyncBuffersHook {
    synced_in_train: bool,
}

fn sync(runner: &mut Runner) -> Result<(), EngineError> {
    let Some(dist) = &runner.dist else { return Ok(()) };
    let trainable: std::collections::HashSet<usize> =
        runner.model.var_store().trainable_variables().iter().map(|t| t.data_ptr() as usize).collect();
    let mut buffers: Vec<(String, Tensor)> = runner
        .model
        .var_store()
        .variables()
        .into_iter()
        .filter(|(_, t)| !trainable.contains(&(t.data_ptr() as usize)))
        .collect();
    buffers.sort_by(|a, b| a.0.cmp(&b.0));
    let tensors: Vec<Tensor> = buffers.into_iter().map(|(_, t)| t).collect();
    all_reduce_buffers(&dist.group, &tensors)
}

impl Hook for SyncBuffersHook {
    fn name(&self) -> &str {
        "SyncBuffersHook"
    }

    fn after_train_epoch(&mut self, runner: &mut Runner) -> Result<(), EngineError> {
        sync(runner)?;
        self.synced_in_train = true;
        Ok(())
    }

    fn before_eval_epoch(&mut self, runner: &mut Runner, mode: EvalMode) -> Result<(), EngineError> {
        if mode == EvalMode::Val {
            if !self.synced_in_train {
                sync(runner)?;
            }
            self.synced_in_train = false;
        }
        Ok(())
    }
}

impl Component<HookKind> for SyncBuffersHook {
    type Config = SyncBuffersConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        Ok(Box::new(SyncBuffersHook::default()))
    }
}

register!(HookKind, "SyncBuffersHook", SyncBuffersHook);
