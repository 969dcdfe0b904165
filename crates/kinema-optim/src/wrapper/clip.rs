//! Gradient clipping with the arithmetic of `torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`.

use tch::{Kind, Tensor};

use super::config::{ClipGradCfg, ClipType, NormType};
use crate::error::{OptimError, Result};

/// A validated `clip_grad` setting.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipGrad {
    /// Scale the gradients so that their total norm of order `norm_type` is at most `max_norm`.
    Norm {
        /// The maximum norm.
        max_norm: f64,
        /// The order (`f64::INFINITY` for the max norm).
        norm_type: f64,
        /// Fail on a non-finite total norm.
        error_if_nonfinite: bool,
    },
    /// Clamp each gradient element to `[-clip_value, clip_value]`.
    Value {
        /// The bound.
        clip_value: f64,
    },
}

impl ClipGrad {
    /// Validates a `clip_grad` table.
    pub fn from_cfg(c: &ClipGradCfg) -> Result<Self> {
        match c.clip_type {
            ClipType::Norm => {
                if c.clip_value.is_some() {
                    return Err(OptimError::config("clip_grad.clip_value", "only used with type = \"value\""));
                }
                let max_norm = c.max_norm.ok_or_else(|| {
                    OptimError::config("clip_grad.max_norm", "missing; clipping by norm needs `max_norm`")
                })?;
                let norm_type = match &c.norm_type {
                    NormType::Number(v) => *v,
                    NormType::Text(t) if t == "inf" => f64::INFINITY,
                    NormType::Text(t) if t == "-inf" => f64::NEG_INFINITY,
                    NormType::Text(t) => {
                        return Err(OptimError::config(
                            "clip_grad.norm_type",
                            format!("expected a number or \"inf\", found \"{t}\""),
                        ))
                    }
                };
                Ok(ClipGrad::Norm { max_norm, norm_type, error_if_nonfinite: c.error_if_nonfinite })
            }
            ClipType::Value => {
                if c.max_norm.is_some() {
                    return Err(OptimError::config("clip_grad.max_norm", "only used with type = \"norm\""));
                }
                let clip_value = c.clip_value.ok_or_else(|| {
                    OptimError::config("clip_grad.clip_value", "missing; clipping by value needs `clip_value`")
                })?;
                Ok(ClipGrad::Value { clip_value })
            }
        }
    }

    /// Clips `grads` in place. Returns the total norm before clipping for clipping by norm
    /// (`None` when clipping by value or when there are no gradients).
    pub fn apply(&self, grads: &mut [Tensor]) -> Result<Option<f64>> {
        if grads.is_empty() {
            return Ok(None);
        }
        let _guard = tch::no_grad_guard();
        match *self {
            ClipGrad::Norm { max_norm, norm_type, error_if_nonfinite } => {
                let total = total_norm(grads, norm_type)?;
                let value = total.f_double_value(&[])?;
                if error_if_nonfinite && !value.is_finite() {
                    return Err(OptimError::NonFiniteGradNorm { value });
                }
                clip_with_norm(grads, max_norm, &total)?;
                Ok(Some(value))
            }
            ClipGrad::Value { clip_value } => {
                for g in grads.iter_mut() {
                    let _ = g.f_clamp_(-clip_value, clip_value)?;
                }
                Ok(None)
            }
        }
    }
}

/// The norm of the per-tensor norms (PyTorch's `_get_total_norm`), as a 0-d tensor.
pub fn total_norm(grads: &[Tensor], norm_type: f64) -> Result<Tensor> {
    let norms = grads.iter().map(|g| vector_norm(g, norm_type)).collect::<Result<Vec<_>>>()?;
    let device = grads[0].device();
    let norms = norms.iter().map(|n| n.f_to_device(device)).collect::<Result<Vec<_>, _>>()?;
    vector_norm(&Tensor::f_stack(&norms, 0)?, norm_type)
}

/// `torch.linalg.vector_norm(t, ord)` over all elements.
fn vector_norm(t: &Tensor, ord: f64) -> Result<Tensor> {
    let flat = t.f_reshape([-1])?;
    Ok(flat.f_linalg_norm(ord, None::<&[i64]>, false, None::<Kind>)?)
}

/// Multiplies every gradient by `min(max_norm / (total + 1e-6), 1)` (PyTorch's
/// `_clip_grads_with_norm_`; `float / tensor` is `reciprocal() * float` in PyTorch).
fn clip_with_norm(grads: &mut [Tensor], max_norm: f64, total: &Tensor) -> Result<()> {
    let coef = total.f_add_scalar(1e-6)?.f_reciprocal()?.f_mul_scalar(max_norm)?;
    let coef = coef.f_clamp_max(1.0)?;
    for g in grads.iter_mut() {
        let c = coef.f_to_device(g.device())?;
        let _ = g.f_mul_(&c)?;
    }
    Ok(())
}
