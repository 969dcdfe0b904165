//! SGD with momentum (`torch.optim.SGD`, single-tensor path).

use std::collections::BTreeMap;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tch::Tensor;

use super::{add_scaled, add_scaled_, deep_copy, state_entries, take_state_tensor, Optimizer, OptimizerKind};
use crate::error::{OptimError, Result};
use crate::group::{Hyper, Param, ParamGroup};

/// Stochastic gradient descent with optional (Nesterov) momentum, as `torch.optim.SGD`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SgdConfig {
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Momentum factor (0 disables momentum and its state).
    #[serde(default)]
    pub momentum: f64,
    /// Dampening of the momentum.
    #[serde(default)]
    pub dampening: f64,
    /// L2 penalty: `weight_decay * param` is added to the gradient.
    #[serde(default)]
    pub weight_decay: f64,
    /// Nesterov momentum (needs momentum > 0 and dampening = 0).
    #[serde(default)]
    pub nesterov: bool,
}

fn default_lr() -> f64 {
    1e-3
}

/// The `SGD` registry entry.
pub struct Sgd;

impl Component<OptimizerKind> for Sgd {
    type Config = SgdConfig;
    fn build(c: &SgdConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Optimizer>, BoxError> {
        Ok(Box::new(SgdOptimizer::new(c.lr, c.momentum, c.dampening, c.weight_decay, c.nesterov)?))
    }
}

register!(OptimizerKind, "SGD", Sgd);

/// SGD with its momentum buffers.
pub struct SgdOptimizer {
    defaults: ParamGroup,
    buffers: BTreeMap<String, Tensor>,
}

impl SgdOptimizer {
    /// An optimizer with these defaults.
    pub fn new(lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool) -> Result<Self> {
        let defaults = ParamGroup::new(Vec::new(), lr, weight_decay, Hyper::Sgd { momentum, dampening, nesterov })?;
        Ok(SgdOptimizer { defaults, buffers: BTreeMap::new() })
    }
}

impl Optimizer for SgdOptimizer {
    fn type_name(&self) -> &'static str {
        "SGD"
    }

    fn defaults(&self) -> &ParamGroup {
        &self.defaults
    }

    fn update(&mut self, p: &Param, group: &ParamGroup) -> Result<()> {
        let Hyper::Sgd { momentum, dampening, nesterov } = group.hyper else {
            return Err(OptimError::State(format!("group of `{}` has no SGD hyper-parameters", p.name)));
        };
        let mut param = p.tensor.shallow_clone();
        let mut grad = param.grad();
        if group.weight_decay != 0.0 {
            grad = add_scaled(&grad, &param, group.weight_decay)?;
        }
        if momentum != 0.0 {
            let buf = match self.buffers.get_mut(&p.name) {
                Some(buf) => {
                    let _ = buf.f_mul_scalar_(momentum)?;
                    add_scaled_(buf, &grad, 1.0 - dampening)?;
                    buf.shallow_clone()
                }
                None => {
                    let buf = deep_copy(&grad)?;
                    self.buffers.insert(p.name.clone(), buf.shallow_clone());
                    buf
                }
            };
            grad = if nesterov { add_scaled(&grad, &buf, momentum)? } else { buf };
        }
        add_scaled_(&mut param, &grad, -group.lr)
    }

    fn state_meta(&self) -> Value {
        Value::Object(self.buffers.keys().map(|name| (name.clone(), json!({}))).collect())
    }

    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        self.buffers.iter().map(|(name, b)| (format!("state.{name}.momentum_buffer"), b.shallow_clone())).collect()
    }

    fn load_state(
        &mut self,
        meta: &Value,
        tensors: &mut BTreeMap<String, Tensor>,
        groups: &[ParamGroup],
    ) -> Result<()> {
        let mut buffers = BTreeMap::new();
        for (param, _) in state_entries(meta, groups)? {
            buffers.insert(param.name.clone(), take_state_tensor(tensors, param, "momentum_buffer")?);
        }
        self.buffers = buffers;
        Ok(())
    }
}
