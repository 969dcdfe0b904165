//! Adam and AdamW (`torch.optim.Adam` / `torch.optim.AdamW`, single-tensor path).

use std::collections::BTreeMap;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tch::Tensor;

use super::{add_scaled, state_entries, take_state_tensor, Optimizer, OptimizerKind};
use crate::error::{OptimError, Result};
use crate::group::{Hyper, Param, ParamGroup};

/// AdamW (decoupled weight decay), as `torch.optim.AdamW`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Coefficients of the running averages of the gradient and of its square.
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// Term added to the denominator for numerical stability.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Decoupled weight decay: each step multiplies the weights by `1 - lr * weight_decay`.
    #[serde(default = "default_adamw_wd")]
    pub weight_decay: f64,
    /// Use AMSGrad (the maximum of past squared-gradient averages).
    #[serde(default)]
    pub amsgrad: bool,
}

/// Adam (L2 weight decay added to the gradient), as `torch.optim.Adam`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Coefficients of the running averages of the gradient and of its square.
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// Term added to the denominator for numerical stability.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// L2 penalty: `weight_decay * param` is added to the gradient.
    #[serde(default)]
    pub weight_decay: f64,
    /// Use AMSGrad (the maximum of past squared-gradient averages).
    #[serde(default)]
    pub amsgrad: bool,
}

fn default_lr() -> f64 {
    1e-3
}
fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn default_eps() -> f64 {
    1e-8
}
fn default_adamw_wd() -> f64 {
    1e-2
}

/// The `AdamW` registry entry.
pub struct AdamW;
/// The `Adam` registry entry.
pub struct Adam;

impl Component<OptimizerKind> for AdamW {
    type Config = AdamWConfig;
    fn build(c: &AdamWConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Optimizer>, BoxError> {
        Ok(Box::new(AdamOptimizer::new(c.lr, c.betas, c.eps, c.weight_decay, c.amsgrad, true)?))
    }
}

impl Component<OptimizerKind> for Adam {
    type Config = AdamConfig;
    fn build(c: &AdamConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Optimizer>, BoxError> {
        Ok(Box::new(AdamOptimizer::new(c.lr, c.betas, c.eps, c.weight_decay, c.amsgrad, false)?))
    }
}

register!(OptimizerKind, "AdamW", AdamW);
register!(OptimizerKind, "Adam", Adam);

/// The per-parameter state of Adam.
struct AdamState {
    step: u64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Option<Tensor>,
}

/// Adam / AdamW with its state.
pub struct AdamOptimizer {
    defaults: ParamGroup,
    decoupled: bool,
    state: BTreeMap<String, AdamState>,
}

impl AdamOptimizer {
    /// An optimizer with these defaults; `decoupled` selects AdamW's weight decay.
    pub fn new(lr: f64, betas: [f64; 2], eps: f64, weight_decay: f64, amsgrad: bool, decoupled: bool) -> Result<Self> {
        let hyper = Hyper::Adam { betas: (betas[0], betas[1]), eps, amsgrad };
        let defaults = ParamGroup::new(Vec::new(), lr, weight_decay, hyper)?;
        Ok(AdamOptimizer { defaults, decoupled, state: BTreeMap::new() })
    }
}

impl Optimizer for AdamOptimizer {
    fn type_name(&self) -> &'static str {
        if self.decoupled {
            "AdamW"
        } else {
            "Adam"
        }
    }

    fn defaults(&self) -> &ParamGroup {
        &self.defaults
    }

    fn update(&mut self, p: &Param, group: &ParamGroup) -> Result<()> {
        let Hyper::Adam { betas: (beta1, beta2), eps, amsgrad } = group.hyper else {
            return Err(OptimError::State(format!("group of `{}` has no Adam hyper-parameters", p.name)));
        };
        let (lr, wd) = (group.lr, group.weight_decay);
        let mut param = p.tensor.shallow_clone();
        let mut grad = param.grad();
        let state = match self.state.entry(p.name.clone()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(AdamState {
                step: 0,
                exp_avg: param.f_zeros_like()?,
                exp_avg_sq: param.f_zeros_like()?,
                max_exp_avg_sq: if amsgrad { Some(param.f_zeros_like()?) } else { None },
            }),
        };
        state.step += 1;
        if wd != 0.0 {
            if self.decoupled {
                let _ = param.f_mul_scalar_(1.0 - lr * wd)?;
            } else {
                grad = add_scaled(&grad, &param, wd)?;
            }
        }
        let _ = state.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
        // exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad (addcmul's rounding).
        let _ = state.exp_avg_sq.f_mul_scalar_(beta2)?;
        let _ = state.exp_avg_sq.f_addcmul_(&grad.f_mul_scalar(1.0 - beta2)?, &grad)?;
        let step = state.step as f64;
        let bias_correction1 = 1.0 - beta1.powf(step);
        let bias_correction2 = 1.0 - beta2.powf(step);
        let step_size = lr / bias_correction1;
        let bias_correction2_sqrt = bias_correction2.powf(0.5);
        let second = if amsgrad {
            let max = match &mut state.max_exp_avg_sq {
                Some(m) => m,
                slot @ None => slot.insert(param.f_zeros_like()?),
            };
            let new_max = max.f_maximum(&state.exp_avg_sq)?;
            max.f_copy_(&new_max)?;
            max.shallow_clone()
        } else {
            state.exp_avg_sq.shallow_clone()
        };
        let mut denom = second.f_sqrt()?.f_div_scalar(bias_correction2_sqrt)?;
        let _ = denom.f_add_scalar_(eps)?;
        // param += -step_size * exp_avg / denom (addcdiv's rounding).
        let _ = param.f_addcdiv_(&state.exp_avg.f_mul_scalar(-step_size)?, &denom)?;
        Ok(())
    }

    fn state_meta(&self) -> Value {
        let map = self.state.iter().map(|(name, s)| (name.clone(), json!({ "step": s.step }))).collect();
        Value::Object(map)
    }

    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (name, s) in &self.state {
            out.push((format!("state.{name}.exp_avg"), s.exp_avg.shallow_clone()));
            out.push((format!("state.{name}.exp_avg_sq"), s.exp_avg_sq.shallow_clone()));
            if let Some(m) = &s.max_exp_avg_sq {
                out.push((format!("state.{name}.max_exp_avg_sq"), m.shallow_clone()));
            }
        }
        out
    }

    fn load_state(
        &mut self,
        meta: &Value,
        tensors: &mut BTreeMap<String, Tensor>,
        groups: &[ParamGroup],
    ) -> Result<()> {
        let mut state = BTreeMap::new();
        for (param, entry) in state_entries(meta, groups)? {
            let step = entry.get("step").and_then(Value::as_u64).ok_or_else(|| {
                OptimError::State(format!("`state.{}.step` must be a non-negative integer", param.name))
            })?;
            let max_key = format!("state.{}.max_exp_avg_sq", param.name);
            let has_max = tensors.contains_key(&max_key);
            state.insert(
                param.name.clone(),
                AdamState {
                    step,
                    exp_avg: take_state_tensor(tensors, param, "exp_avg")?,
                    exp_avg_sq: take_state_tensor(tensors, param, "exp_avg_sq")?,
                    max_exp_avg_sq: if has_max {
                        Some(take_state_tensor(tensors, param, "max_exp_avg_sq")?)
                    } else {
                        None
                    },
                },
            );
        }
        self.state = state;
        Ok(())
    }
}
