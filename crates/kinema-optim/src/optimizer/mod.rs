//! Optimizers with saveable state: PyTorch's `Adam`, `AdamW` and `SGD`, with the exact
//! update rules of PyTorch's single-tensor implementation, run under `no_grad` on tch
//! tensors.
//!
//! An optimizer is built from its config table (`type = "AdamW"`, `lr`, `betas`, ...) and
//! holds its defaults (the base settings) and its per-parameter state, keyed by parameter
//! name. The parameter groups live outside it (in the [`OptimWrapper`](crate::OptimWrapper))
//! and are passed to [`Optimizer::step`].

mod adam;
mod sgd;

use std::collections::BTreeMap;

use serde_json::Value;
use tch::Tensor;

use crate::error::{OptimError, Result};
use crate::group::{Param, ParamGroup};

pub use adam::{Adam, AdamConfig, AdamOptimizer, AdamW, AdamWConfig};
pub use sgd::{Sgd, SgdConfig, SgdOptimizer};

/// Registry kind of optimizers (`optim_wrapper.optimizer`); built with no context.
pub struct OptimizerKind;

impl kinema_core::Kind for OptimizerKind {
    const NAME: &'static str = "optimizer";
    type Context = ();
    type Output = dyn Optimizer;
}

/// An optimization algorithm with per-parameter state that can be saved and restored.
pub trait Optimizer: Send {
    /// The registered type (`"AdamW"`).
    fn type_name(&self) -> &'static str;

    /// The default settings: a group without parameters (MMEngine's `base_param_settings`,
    /// the template of every group).
    fn defaults(&self) -> &ParamGroup;

    /// One update of the parameter `p` with the settings of its `group` (called under
    /// `no_grad`).
    fn update(&mut self, p: &Param, group: &ParamGroup) -> Result<()>;

    /// One update of every parameter of `groups` for which `has_grad` is true (PyTorch
    /// skips parameters whose `.grad` is `None`). Runs under `no_grad`.
    fn step(&mut self, groups: &[ParamGroup], has_grad: &dyn Fn(&Param) -> bool) -> Result<()> {
        let _guard = tch::no_grad_guard();
        for group in groups {
            for p in group.params() {
                if has_grad(p) {
                    self.update(p, group)?;
                }
            }
        }
        Ok(())
    }

    /// The scalar state per parameter name (`{"<name>": {"step": 3}}`).
    fn state_meta(&self) -> Value;

    /// The tensor state, named `state.<param name>.<key>` (`exp_avg`, `exp_avg_sq`,
    /// `max_exp_avg_sq`, `momentum_buffer`).
    fn state_tensors(&self) -> Vec<(String, Tensor)>;

    /// Replaces the state with a saved one. `meta` is what [`Optimizer::state_meta`]
    /// returned; the tensors this optimizer needs are removed from `tensors` (what remains
    /// is left to the caller to report). Names and shapes are checked against `groups`.
    fn load_state(&mut self, meta: &Value, tensors: &mut BTreeMap<String, Tensor>, groups: &[ParamGroup])
        -> Result<()>;
}

/// `dst.add_(src, alpha=alpha)` with PyTorch's rounding: ATen's `add` with `alpha` fuses the
/// multiply-add, which `addcmul` with a 0-d tensor reproduces bit for bit.
pub(crate) fn add_scaled_(dst: &mut Tensor, src: &Tensor, alpha: f64) -> Result<()> {
    if alpha == 1.0 {
        let _ = dst.f_add_(src)?;
    } else {
        let a = Tensor::f_scalar_tensor(alpha, (dst.kind(), dst.device()))?;
        let _ = dst.f_addcmul_(src, &a)?;
    }
    Ok(())
}

/// `a.add(b, alpha=alpha)` (out of place) with PyTorch's rounding.
pub(crate) fn add_scaled(a: &Tensor, b: &Tensor, alpha: f64) -> Result<Tensor> {
    if alpha == 1.0 {
        Ok(a.f_add(b)?)
    } else {
        let s = Tensor::f_scalar_tensor(alpha, (a.kind(), a.device()))?;
        Ok(a.f_addcmul(b, &s)?)
    }
}

/// Every parameter of `groups` by name.
pub(crate) fn params_by_name(groups: &[ParamGroup]) -> BTreeMap<&str, &Param> {
    groups.iter().flat_map(|g| g.params()).map(|p| (p.name.as_str(), p)).collect()
}

/// Takes `state.<name>.<key>` out of `tensors`, checks its shape against `param` and copies
/// it to the parameter's kind and device.
pub(crate) fn take_state_tensor(tensors: &mut BTreeMap<String, Tensor>, param: &Param, key: &str) -> Result<Tensor> {
    let full = format!("state.{}.{key}", param.name);
    let t = tensors.remove(&full).ok_or_else(|| OptimError::State(format!("missing tensor `{full}`")))?;
    if t.size() != param.tensor.size() {
        return Err(OptimError::State(format!(
            "tensor `{full}` has shape {:?}, but parameter `{}` has shape {:?}",
            t.size(),
            param.name,
            param.tensor.size()
        )));
    }
    let t = t.f_to_kind(param.tensor.kind())?.f_to_device(param.tensor.device())?;
    deep_copy(&t)
}

/// A detached copy of `t` with its own storage (PyTorch's `t.detach().clone()`).
pub(crate) fn deep_copy(t: &Tensor) -> Result<Tensor> {
    let mut out = t.f_detach()?.f_zeros_like()?;
    out.f_copy_(t)?;
    Ok(out)
}

/// The per-parameter entries of a saved `state` object, checked against the groups.
pub(crate) fn state_entries<'a, 'g>(
    meta: &'a Value,
    groups: &'g [ParamGroup],
) -> Result<Vec<(&'g Param, &'a serde_json::Map<String, Value>)>> {
    let obj = meta.as_object().ok_or_else(|| OptimError::State("`state` must be an object".into()))?;
    let by_name = params_by_name(groups);
    obj.iter()
        .map(|(name, entry)| {
            let param = by_name.get(name.as_str()).ok_or_else(|| {
                OptimError::State(format!("the saved state has parameter `{name}`, which this model does not train"))
            })?;
            let entry =
                entry.as_object().ok_or_else(|| OptimError::State(format!("`state.{name}` must be an object")))?;
            Ok((*param, entry))
        })
        .collect()
}
