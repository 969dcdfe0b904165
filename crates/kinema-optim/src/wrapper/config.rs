//! The `optim_wrapper` config tables (MMEngine's `OptimWrapper` and `AmpOptimWrapper`) and
//! their registry entries.

use std::collections::BTreeMap;

use kinema_core::registry::{self, BoxError, BuildError, BuildSite, Built};
use kinema_core::{register, Component, ComponentSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::constructor::{ConstructorKind, GroupConstructor, DEFAULT_CONSTRUCTOR};
use super::{OptimContext, OptimWrapper};
use crate::error::OptimError;
use crate::optimizer::OptimizerKind;

/// Registry kind of optimizer wrappers (`optim_wrapper`), built for an [`OptimContext`] (the
/// model's named trainable parameters). Prefer [`build_optim_wrapper`], which also defaults
/// `type` and reports errors of the `optimizer` table at their own key.
pub struct OptimWrapperKind;

impl kinema_core::Kind for OptimWrapperKind {
    const NAME: &'static str = "optim_wrapper";
    type Context = OptimContext;
    type Output = OptimWrapper;
}

/// Per-parameter settings by parameter name (MMEngine's `paramwise_cfg`). Giving it (with
/// at least one key) puts every parameter in its own group, as MMEngine does.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamwiseCfg {
    /// Settings for parameters whose full name contains the key (the longest matching key
    /// wins; ties go to the alphabetically first). A top-level parameter is matched as
    /// `.<name>`, as MMEngine does.
    pub custom_keys: Option<BTreeMap<String, CustomKeyOptions>>,
    /// Learning-rate multiplier of biases (parameters named `bias`) outside norm layers.
    pub bias_lr_mult: Option<f64>,
    /// Weight-decay multiplier of biases (after `norm_decay_mult`).
    pub bias_decay_mult: Option<f64>,
    /// Weight-decay multiplier of norm-layer parameters. Norm layers are recognised by the
    /// name of the module that owns the parameter: it contains `norm`, or is `ln`, `bn` or
    /// `gn` optionally followed by digits or `_...` (`ln_1`, `ln_final`, `bn2`, `norm1`).
    pub norm_decay_mult: Option<f64>,
    /// Weight-decay multiplier of depthwise 2-d convolutions, recognised by their 4-d weight
    /// of shape `[C, 1, kh, kw]` (in_channels == groups).
    pub dwconv_decay_mult: Option<f64>,
    /// Weight-decay multiplier of 1-d parameters (biases, norm weights, embeddings' scales).
    pub flat_decay_mult: Option<f64>,
    /// Skip parameters given twice (by name) instead of failing.
    pub bypass_duplicate: Option<bool>,
    /// Learning-rate multiplier of deformable-convolution offsets. Kinema has no deformable
    /// convolutions, so, as in MMEngine without mmcv's DCN modules, it has no effect.
    pub dcn_offset_lr_mult: Option<f64>,
}

impl ParamwiseCfg {
    /// True when no key is given (MMEngine then builds a single group).
    pub fn is_empty(&self) -> bool {
        self.custom_keys.is_none()
            && self.bias_lr_mult.is_none()
            && self.bias_decay_mult.is_none()
            && self.norm_decay_mult.is_none()
            && self.dwconv_decay_mult.is_none()
            && self.flat_decay_mult.is_none()
            && self.bypass_duplicate.is_none()
            && self.dcn_offset_lr_mult.is_none()
    }
}

/// The settings of one `custom_keys` entry: multipliers of the optimizer's `lr` and
/// `weight_decay`, and direct values of any optimizer hyper-parameter (these win).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomKeyOptions {
    /// The group's lr is the optimizer's `lr` times this (default 1).
    pub lr_mult: Option<f64>,
    /// The group's weight decay is the optimizer's `weight_decay` times this (default 1).
    pub decay_mult: Option<f64>,
    /// Learning rate, overriding `lr_mult`.
    pub lr: Option<f64>,
    /// Weight decay, overriding `decay_mult`.
    pub weight_decay: Option<f64>,
    /// SGD momentum.
    pub momentum: Option<f64>,
    /// SGD dampening.
    pub dampening: Option<f64>,
    /// SGD Nesterov.
    pub nesterov: Option<bool>,
    /// Adam/AdamW betas.
    pub betas: Option<[f64; 2]>,
    /// Adam/AdamW eps.
    pub eps: Option<f64>,
    /// Adam/AdamW AMSGrad.
    pub amsgrad: Option<bool>,
}

/// Gradient clipping (MMEngine's `clip_grad`, the arguments of `torch.nn.utils.clip_grad_norm_`
/// or `clip_grad_value_`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClipGradCfg {
    /// `"norm"` (scale all gradients so that their total norm is at most `max_norm`) or
    /// `"value"` (clamp every gradient element to `[-clip_value, clip_value]`).
    #[serde(rename = "type", default = "default_clip_type")]
    pub clip_type: ClipType,
    /// Maximum total norm (type `"norm"`).
    pub max_norm: Option<f64>,
    /// Order of the norm: a number, or `"inf"` for the maximum absolute value.
    #[serde(default = "default_norm_type")]
    pub norm_type: NormType,
    /// Maximum absolute value (type `"value"`).
    pub clip_value: Option<f64>,
    /// Fail when the total norm is NaN or infinite (PyTorch's `error_if_nonfinite`).
    #[serde(default)]
    pub error_if_nonfinite: bool,
}

/// How gradients are clipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClipType {
    /// By total norm.
    Norm,
    /// By value.
    Value,
}

/// The order of a norm: a number or `"inf"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum NormType {
    /// A finite order (2.0 for the Euclidean norm).
    Number(f64),
    /// `"inf"` (or `"-inf"`).
    Text(String),
}

fn default_clip_type() -> ClipType {
    ClipType::Norm
}
fn default_norm_type() -> NormType {
    NormType::Number(2.0)
}
fn one() -> u64 {
    1
}

/// MMEngine's `OptimWrapper`: an optimizer with per-parameter groups, gradient accumulation
/// and clipping.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimWrapperConfig {
    /// The optimizer table: `type` (`AdamW`, `Adam`, `SGD`) and its hyper-parameters.
    pub optimizer: ComponentSpec<OptimizerKind>,
    /// How parameters are split into groups: a registered `optim_wrapper_constructor`
    /// (default `DefaultOptimWrapperConstructor`).
    #[serde(default)]
    pub constructor: Option<String>,
    /// The constructor's settings (the default constructor's: [`ParamwiseCfg`]).
    #[serde(default)]
    pub paramwise_cfg: Option<Value>,
    /// Gradient clipping before each step.
    #[serde(default)]
    pub clip_grad: Option<ClipGradCfg>,
    /// Number of iterations whose gradients are accumulated per step (the loss is divided
    /// by it).
    #[serde(default = "one")]
    pub accumulative_counts: u64,
}

/// MMEngine's `AmpOptimWrapper`: `OptimWrapper` plus mixed precision (the engine runs the
/// forward under autocast with `dtype`) and loss scaling.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AmpOptimWrapperConfig {
    /// The optimizer table: `type` (`AdamW`, `Adam`, `SGD`) and its hyper-parameters.
    pub optimizer: ComponentSpec<OptimizerKind>,
    /// How parameters are split into groups: a registered `optim_wrapper_constructor`
    /// (default `DefaultOptimWrapperConstructor`).
    #[serde(default)]
    pub constructor: Option<String>,
    /// The constructor's settings (the default constructor's: [`ParamwiseCfg`]).
    #[serde(default)]
    pub paramwise_cfg: Option<Value>,
    /// Gradient clipping before each step (on unscaled gradients).
    #[serde(default)]
    pub clip_grad: Option<ClipGradCfg>,
    /// Number of iterations whose gradients are accumulated per step.
    #[serde(default = "one")]
    pub accumulative_counts: u64,
    /// Autocast dtype: `"float16"` (the default) or `"bfloat16"`.
    #[serde(default)]
    pub dtype: Option<AmpDtype>,
    /// `"dynamic"` (GradScaler defaults), a number (a fixed scale), or a table of GradScaler
    /// arguments (`init_scale`, `growth_factor`, `backoff_factor`, `growth_interval`).
    #[serde(default = "dynamic")]
    pub loss_scale: LossScale,
    /// The most optimizer steps in a row that may be skipped for inf/NaN gradients before
    /// training stops with an error (Kinema addition; MMEngine skips forever, so a NaN loss
    /// trains nothing and still saves checkpoints). The default allows the first steps of a
    /// dynamic scale to settle: 65536 halves to 1 in 16 skips.
    #[serde(default = "default_max_skipped_steps")]
    pub max_skipped_steps: u64,
}

/// The default of [`AmpOptimWrapperConfig::max_skipped_steps`].
pub const DEFAULT_MAX_SKIPPED_STEPS: u64 = 50;

fn default_max_skipped_steps() -> u64 {
    DEFAULT_MAX_SKIPPED_STEPS
}

fn dynamic() -> LossScale {
    LossScale::Mode("dynamic".into())
}

/// The autocast dtype of mixed precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AmpDtype {
    /// IEEE half precision.
    Float16,
    /// bfloat16.
    Bfloat16,
}

/// How the loss is scaled under mixed precision.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum LossScale {
    /// A fixed scale, reset after every step.
    Fixed(f64),
    /// `"dynamic"`.
    Mode(String),
    /// GradScaler arguments.
    Table(GradScalerCfg),
}

/// Arguments of PyTorch's `GradScaler`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradScalerCfg {
    /// Initial scale.
    #[serde(default = "init_scale")]
    pub init_scale: f64,
    /// Factor applied after `growth_interval` steps without inf/NaN gradients.
    #[serde(default = "growth_factor")]
    pub growth_factor: f64,
    /// Factor applied when a step had inf/NaN gradients (the step is skipped).
    #[serde(default = "backoff_factor")]
    pub backoff_factor: f64,
    /// Number of consecutive good steps before the scale grows.
    #[serde(default = "growth_interval")]
    pub growth_interval: i64,
}

impl Default for GradScalerCfg {
    fn default() -> Self {
        GradScalerCfg {
            init_scale: init_scale(),
            growth_factor: growth_factor(),
            backoff_factor: backoff_factor(),
            growth_interval: growth_interval(),
        }
    }
}

fn init_scale() -> f64 {
    65536.0
}
fn growth_factor() -> f64 {
    2.0
}
fn backoff_factor() -> f64 {
    0.5
}
fn growth_interval() -> i64 {
    2000
}

/// The wrapper's `OptimWrapper` registry entry.
pub struct PlainWrapper;
/// The wrapper's `AmpOptimWrapper` registry entry.
pub struct AmpWrapper;

impl Component<OptimWrapperKind> for PlainWrapper {
    type Config = OptimWrapperConfig;
    fn build(c: &OptimWrapperConfig, ctx: &OptimContext, site: &BuildSite<'_>) -> Result<Box<OptimWrapper>, BoxError> {
        let optimizer = registry::build::<OptimizerKind>(&c.optimizer.value, &site.key("optimizer"), &())?;
        let parts = super::Parts {
            optimizer: optimizer.component,
            optimizer_cfg: &c.optimizer.value,
            constructor: build_constructor(c.constructor.as_deref(), c.paramwise_cfg.as_ref(), site)?,
            clip: c.clip_grad.as_ref(),
            accumulative_counts: c.accumulative_counts,
            amp: None,
            max_skipped_steps: 0,
        };
        Ok(Box::new(OptimWrapper::from_parts(parts, ctx)?))
    }
}

impl Component<OptimWrapperKind> for AmpWrapper {
    type Config = AmpOptimWrapperConfig;
    fn build(
        c: &AmpOptimWrapperConfig,
        ctx: &OptimContext,
        site: &BuildSite<'_>,
    ) -> Result<Box<OptimWrapper>, BoxError> {
        let optimizer = registry::build::<OptimizerKind>(&c.optimizer.value, &site.key("optimizer"), &())?;
        let scaler = match &c.loss_scale {
            LossScale::Mode(m) if m == "dynamic" => (GradScalerCfg::default(), false),
            LossScale::Mode(other) => {
                return Err(Box::new(OptimError::config(
                    "loss_scale",
                    format!("expected \"dynamic\", a number or a table of GradScaler arguments, found \"{other}\""),
                )))
            }
            LossScale::Fixed(v) => (GradScalerCfg { init_scale: *v, ..GradScalerCfg::default() }, true),
            LossScale::Table(t) => (t.clone(), false),
        };
        let parts = super::Parts {
            optimizer: optimizer.component,
            optimizer_cfg: &c.optimizer.value,
            constructor: build_constructor(c.constructor.as_deref(), c.paramwise_cfg.as_ref(), site)?,
            clip: c.clip_grad.as_ref(),
            accumulative_counts: c.accumulative_counts,
            amp: Some((c.dtype.unwrap_or(AmpDtype::Float16), scaler.0, scaler.1)),
            max_skipped_steps: c.max_skipped_steps,
        };
        Ok(Box::new(OptimWrapper::from_parts(parts, ctx)?))
    }
}

/// Builds the constructor named `name` (default: MMEngine's) with `paramwise_cfg`, at the
/// `optim_wrapper` key.
fn build_constructor(
    name: Option<&str>,
    paramwise_cfg: Option<&Value>,
    site: &BuildSite<'_>,
) -> Result<Box<dyn GroupConstructor>, BuildError> {
    let mut table = serde_json::Map::new();
    table.insert("type".into(), Value::String(name.unwrap_or(DEFAULT_CONSTRUCTOR).into()));
    if let Some(p) = paramwise_cfg {
        table.insert("paramwise_cfg".into(), p.clone());
    }
    Ok(registry::build::<ConstructorKind>(&Value::Object(table), site, &())?.into_inner())
}

register!(OptimWrapperKind, "OptimWrapper", PlainWrapper);
register!(OptimWrapperKind, "AmpOptimWrapper", AmpWrapper);

/// Builds the `optim_wrapper` table `value` for the parameters of `ctx`. As in MMEngine, `type` defaults to `"OptimWrapper"`. Errors in the
/// `optimizer` sub-table and in the constructor's `paramwise_cfg` are reported at their own key.
#[allow(clippy::result_large_err)] // the registry's error type, as `registry::build` returns it
pub fn build_optim_wrapper(
    value: &Value,
    site: &BuildSite<'_>,
    ctx: &OptimContext,
) -> Result<Built<OptimWrapper>, BuildError> {
    let Value::Object(table) = value else {
        return registry::build::<OptimWrapperKind>(value, site, ctx);
    };
    if let Some(optimizer) = table.get("optimizer") {
        registry::build::<OptimizerKind>(optimizer, &site.key("optimizer"), &())?;
    }
    let constructor = table.get("constructor").and_then(Value::as_str);
    build_constructor(constructor, table.get("paramwise_cfg"), site)?;
    if table.contains_key("type") {
        return registry::build::<OptimWrapperKind>(value, site, ctx);
    }
    let mut table = table.clone();
    table.insert("type".into(), Value::String("OptimWrapper".into()));
    registry::build::<OptimWrapperKind>(&Value::Object(table), site, ctx)
}
