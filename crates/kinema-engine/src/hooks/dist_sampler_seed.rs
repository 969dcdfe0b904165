//! `DistSamplerSeedHook`, registered so MMAction2 configs port unchanged: Kinema's
//! loader takes the epoch explicitly (every epoch reshuffles with seed + epoch), so it
//! has nothing to do.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};

use super::{Hook, HookKind};

/// A hook kept for config compatibility; it does nothing.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompatHookConfig {}

/// The no-op hook behind `DistSamplerSeedHook`.
pub struct CompatHook;

impl Component<HookKind> for CompatHook {
    type Config = CompatHookConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Hook>, BoxError> {
        Ok(Box::new(CompatHook))
    }
}
register!(HookKind, "DistSamplerSeedHook", CompatHook);

impl Hook for CompatHook {
    fn name(&self) -> &str {
        "CompatHook"
    }
}
