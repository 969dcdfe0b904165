//! Optimizer-wrapper constructors (MMEngine's `optim_wrapper.constructor`, the registry
//! kind `optim_wrapper_constructor`): how a model's parameters are split into groups.
//! `DefaultOptimWrapperConstructor` applies `paramwise_cfg`; model families register
//! their own (`TSMOptimWrapperConstructor`).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component, Kind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use super::config::ParamwiseCfg;
use crate::error::Result;
use crate::group::ParamGroup;

/// The registry kind of optimizer-wrapper constructors. The wrapper builds the table
/// `{type = <constructor>, paramwise_cfg = <paramwise_cfg>}` at the `optim_wrapper` key.
pub struct ConstructorKind;

impl Kind for ConstructorKind {
    const NAME: &'static str = "optim_wrapper_constructor";
    type Context = ();
    type Output = dyn GroupConstructor;
}

/// The constructor MMEngine uses when `optim_wrapper.constructor` is not given.
pub const DEFAULT_CONSTRUCTOR: &str = "DefaultOptimWrapperConstructor";

/// Splits parameters into optimizer groups.
pub trait GroupConstructor: Send + Sync + std::fmt::Debug {
    /// The groups of `params` (named, in the model's creation order), derived from the
    /// optimizer's `defaults`; `optimizer_cfg` is the optimizer table (`lr`,
    /// `weight_decay`).
    fn groups(
        &self,
        defaults: &ParamGroup,
        optimizer_cfg: &Value,
        params: &[(String, Tensor)],
    ) -> Result<Vec<ParamGroup>>;
}

/// `DefaultOptimWrapperConstructor`'s table.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultConstructorConfig {
    /// Per-parameter settings (one group per parameter when given).
    #[serde(default)]
    pub paramwise_cfg: Option<ParamwiseCfg>,
}

/// MMEngine's `DefaultOptimWrapperConstructor`.
#[derive(Debug)]
pub struct DefaultConstructor(DefaultConstructorConfig);

impl GroupConstructor for DefaultConstructor {
    fn groups(
        &self,
        defaults: &ParamGroup,
        optimizer_cfg: &Value,
        params: &[(String, Tensor)],
    ) -> Result<Vec<ParamGroup>> {
        super::paramwise::build_groups(defaults, optimizer_cfg, self.0.paramwise_cfg.as_ref(), params)
    }
}

impl Component<ConstructorKind> for DefaultConstructor {
    type Config = DefaultConstructorConfig;
    fn build(
        c: &DefaultConstructorConfig,
        _: &(),
        _: &BuildSite<'_>,
    ) -> std::result::Result<Box<dyn GroupConstructor>, BoxError> {
        Ok(Box::new(DefaultConstructor(c.clone())))
    }
}

register!(ConstructorKind, "DefaultOptimWrapperConstructor", DefaultConstructor);
