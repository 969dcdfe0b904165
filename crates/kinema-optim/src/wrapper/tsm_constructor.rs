//! MMAction2's `TSMOptimWrapperConstructor`: seven groups by module type, in this order:
//! the first convolution's weight (lr, wd) and bias (2 lr, no wd), the other
//! convolutions' and linear layers' weights (lr, wd) and biases (2 lr, no wd), the
//! norms' parameters (lr, no wd), and with `fc_lr5` the last layer's weight (5 lr, wd) and
//! bias (10 lr, no wd). Empty groups are kept, as in MMAction2.
//!
//! Module types are read from the parameters: a module whose `weight` has 3 or more
//! dimensions is a convolution, 2 a linear layer, 1 a norm.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use super::constructor::{ConstructorKind, GroupConstructor};
use crate::error::{OptimError, Result};
use crate::group::{GroupOverrides, Param, ParamGroup};

/// `TSMOptimWrapperConstructor`'s table.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TsmConstructorConfig {
    /// `{fc_lr5 = true}`.
    pub paramwise_cfg: TsmParamwiseCfg,
}

/// `paramwise_cfg` of the TSM constructor.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TsmParamwiseCfg {
    /// Give the last layer 5x the learning rate (weight) and 10x (bias).
    pub fc_lr5: bool,
}

/// The built constructor.
#[derive(Debug)]
pub struct TsmConstructor(TsmConstructorConfig);

#[derive(Clone, Copy, PartialEq)]
enum ModuleType {
    Conv,
    Linear,
    Norm,
}

fn module_type(name: &str, params: &[(String, Tensor)]) -> Result<(ModuleType, bool)> {
    let (module, own) = name.rsplit_once('.').unwrap_or(("", name));
    let weight = if module.is_empty() { "weight".to_string() } else { format!("{module}.weight") };
    let rank = params.iter().find(|(n, _)| *n == weight).map(|(_, t)| t.dim());
    let kind = match rank {
        Some(r) if r >= 3 => ModuleType::Conv,
        Some(2) => ModuleType::Linear,
        Some(1) => ModuleType::Norm,
        _ => {
            return Err(OptimError::config(
                "constructor",
                format!(
                    "TSMOptimWrapperConstructor: cannot tell the module type of `{name}` (expected a convolution, \
                     linear or norm layer with a `weight`)"
                ),
            ))
        }
    };
    Ok((kind, own == "bias"))
}

impl GroupConstructor for TsmConstructor {
    fn groups(
        &self,
        defaults: &ParamGroup,
        optimizer_cfg: &Value,
        params: &[(String, Tensor)],
    ) -> Result<Vec<ParamGroup>> {
        let need = |key: &str| {
            optimizer_cfg.get(key).and_then(Value::as_f64).ok_or_else(|| {
                OptimError::config(format!("optimizer.{key}"), "TSMOptimWrapperConstructor needs it set")
            })
        };
        let (lr, wd) = (need("lr")?, need("weight_decay")?);
        let mut first_conv = (Vec::new(), Vec::new());
        let mut normal = (Vec::new(), Vec::new());
        let mut norms = Vec::new();
        let mut seen_conv = false;
        let mut first_conv_module: Option<String> = None;
        for (name, tensor) in params {
            let (kind, is_bias) = module_type(name, params)?;
            let module = name.rsplit_once('.').map(|(m, _)| m.to_string()).unwrap_or_default();
            let param = Param::new(name.clone(), tensor);
            match kind {
                ModuleType::Norm => {
                    if tensor.requires_grad() {
                        norms.push(param);
                    }
                }
                ModuleType::Conv if !seen_conv || first_conv_module.as_deref() == Some(module.as_str()) => {
                    seen_conv = true;
                    first_conv_module = Some(module);
                    if is_bias {
                        first_conv.1.push(param)
                    } else {
                        first_conv.0.push(param)
                    }
                }
                ModuleType::Conv | ModuleType::Linear => {
                    if is_bias {
                        normal.1.push(param)
                    } else {
                        normal.0.push(param)
                    }
                }
            }
        }
        let last_weight = normal.0.pop();
        let last_bias = normal.1.pop();
        let (lr5, lr10) = if self.0.paramwise_cfg.fc_lr5 {
            (last_weight.into_iter().collect(), last_bias.into_iter().collect())
        } else {
            normal.0.extend(last_weight);
            normal.1.extend(last_bias);
            (Vec::new(), Vec::new())
        };
        let group = |params: Vec<Param>, lr_mult: f64, decay: bool, key: &str| {
            let overrides = GroupOverrides {
                lr: Some(lr * lr_mult),
                weight_decay: Some(if decay { wd } else { 0.0 }),
                ..Default::default()
            };
            defaults.derive(params, &overrides, key)
        };
        Ok(vec![
            group(first_conv.0, 1.0, true, "first_conv_weight")?,
            group(first_conv.1, 2.0, false, "first_conv_bias")?,
            group(normal.0, 1.0, true, "normal_weight")?,
            group(normal.1, 2.0, false, "normal_bias")?,
            group(norms, 1.0, false, "bn")?,
            group(lr5, 5.0, true, "lr5_weight")?,
            group(lr10, 10.0, false, "lr10_bias")?,
        ])
    }
}

impl Component<ConstructorKind> for TsmConstructor {
    type Config = TsmConstructorConfig;
    fn build(
        c: &TsmConstructorConfig,
        _: &(),
        _: &BuildSite<'_>,
    ) -> std::result::Result<Box<dyn GroupConstructor>, BoxError> {
        Ok(Box::new(TsmConstructor(c.clone())))
    }
}

register!(ConstructorKind, "TSMOptimWrapperConstructor", TsmConstructor);
