//! Loss scaling for fp16 training with the semantics of PyTorch's `GradScaler`, using the
//! same ATen kernels (`_amp_foreach_non_finite_check_and_unscale_`, `_amp_update_scale_`).

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use super::config::GradScalerCfg;
use crate::error::{OptimError, Result};

/// A gradient scaler: multiplies the loss by `scale`, unscales gradients before the step,
/// skips steps with inf/NaN gradients and adapts the scale.
pub struct GradScaler {
    init_scale: f64,
    growth_factor: f64,
    backoff_factor: f64,
    growth_interval: i64,
    init_growth_tracker: i64,
    /// `Some(v)`: the scale is reset to `v` after every step (MMEngine's numeric `loss_scale`).
    fixed: Option<f64>,
    /// Lazily created on the loss's device: the scale (f32, 0-d) and the tracker (i32, 0-d).
    tensors: Option<(Tensor, Tensor)>,
    /// The scale and the tracker as of the last update (read back once per step).
    cache: (f64, i64),
}

impl GradScaler {
    /// A scaler with these arguments; `fixed` keeps the scale constant.
    pub fn new(cfg: &GradScalerCfg, fixed: bool, device: Device) -> Result<Self> {
        if !cfg.init_scale.is_finite() || cfg.init_scale <= 0.0 {
            return Err(OptimError::config(
                "loss_scale",
                format!("the scale must be positive, got {}", cfg.init_scale),
            ));
        }
        if cfg.growth_factor.is_nan() || cfg.growth_factor <= 1.0 {
            return Err(OptimError::config("loss_scale.growth_factor", "the growth factor must be > 1.0"));
        }
        if cfg.backoff_factor.is_nan() || cfg.backoff_factor >= 1.0 {
            return Err(OptimError::config("loss_scale.backoff_factor", "the backoff factor must be < 1.0"));
        }
        if cfg.growth_interval <= 0 {
            return Err(OptimError::config("loss_scale.growth_interval", "the growth interval must be > 0"));
        }
        let mut scaler = GradScaler {
            init_scale: cfg.init_scale,
            growth_factor: cfg.growth_factor,
            backoff_factor: cfg.backoff_factor,
            growth_interval: cfg.growth_interval,
            init_growth_tracker: 0,
            fixed: fixed.then_some(cfg.init_scale),
            tensors: None,
            cache: (cfg.init_scale, 0),
        };
        scaler.tensors(device)?;
        Ok(scaler)
    }

    fn tensors(&mut self, device: Device) -> Result<&(Tensor, Tensor)> {
        if self.tensors.is_none() {
            let scale = Tensor::f_full([], self.init_scale, (Kind::Float, device))?;
            let tracker = Tensor::f_full([], self.init_growth_tracker, (Kind::Int, device))?;
            self.tensors = Some((scale, tracker));
        }
        Ok(self.tensors.as_ref().expect("initialised above"))
    }

    /// The current scale.
    pub fn scale_value(&self) -> f64 {
        self.cache.0
    }

    /// `loss * scale`.
    pub fn scale(&mut self, loss: &Tensor) -> Result<Tensor> {
        let (scale, _) = self.tensors(loss.device())?;
        Ok(loss.f_mul(&scale.f_to_device(loss.device())?)?)
    }

    /// Divides `grads` by the scale in place; returns `found_inf` (f32, 0-d, non-zero when a
    /// gradient had an inf or NaN).
    pub fn unscale(&mut self, grads: &mut [Tensor]) -> Result<Tensor> {
        let device = grads.first().map(|g| g.device()).unwrap_or(Device::Cpu);
        let (scale, _) = self.tensors(device)?;
        let inv_scale = scale.f_to_kind(Kind::Double)?.f_reciprocal()?.f_to_kind(Kind::Float)?;
        let mut found_inf = Tensor::f_full([], 0.0, (Kind::Float, scale.device()))?;
        let _guard = tch::no_grad_guard();
        for g in grads.iter_mut() {
            if g.kind() == Kind::Half {
                return Err(OptimError::config(
                    "optim_wrapper",
                    "attempting to unscale FP16 gradients: AMP needs fp32 parameters (autocast computes in fp16)",
                ));
            }
            let inv = inv_scale.f_to_device(g.device())?;
            g.f_internal_amp_non_finite_check_and_unscale(&mut found_inf, &inv)?;
        }
        Ok(found_inf)
    }

    /// Updates the scale after a step: backoff on inf/NaN, growth after `growth_interval`
    /// good steps, or the fixed scale.
    pub fn update(&mut self, found_inf: &Tensor) -> Result<()> {
        let (growth, backoff, interval, fixed) =
            (self.growth_factor, self.backoff_factor, self.growth_interval, self.fixed);
        let device = found_inf.device();
        let (scale, tracker) = self.tensors(device)?;
        let (mut scale, tracker) = (scale.shallow_clone(), tracker.shallow_clone());
        match fixed {
            Some(v) => {
                let _ = scale.f_fill_(v)?;
            }
            None => {
                let _ = scale.f_internal_amp_update_scale_(&tracker, found_inf, growth, backoff, interval)?;
            }
        }
        self.cache = (scale.f_double_value(&[])?, tracker.f_int64_value(&[])?);
        Ok(())
    }

    /// PyTorch's `GradScaler.state_dict()`.
    pub fn state_dict(&self) -> Value {
        json!({
            "scale": self.cache.0,
            "growth_factor": self.growth_factor,
            "backoff_factor": self.backoff_factor,
            "growth_interval": self.growth_interval,
            "_growth_tracker": self.cache.1,
        })
    }

    /// The scaler described by `state` (validated; `self` is not changed).
    pub fn loaded(&self, state: &Value) -> Result<Self> {
        let err = |k: &str| OptimError::State(format!("`loss_scaler.{k}` is missing or of the wrong type"));
        let num = |k: &str| state.get(k).and_then(Value::as_f64).ok_or_else(|| err(k));
        let int = |k: &str| state.get(k).and_then(Value::as_i64).ok_or_else(|| err(k));
        let (scale, tracker) = (num("scale")?, int("_growth_tracker")?);
        let device = self.tensors.as_ref().map(|(s, _)| s.device());
        let mut out = GradScaler {
            init_scale: scale,
            growth_factor: num("growth_factor")?,
            backoff_factor: num("backoff_factor")?,
            growth_interval: int("growth_interval")?,
            init_growth_tracker: tracker,
            fixed: self.fixed,
            tensors: None,
            cache: (scale, tracker),
        };
        if let Some(device) = device {
            out.tensors(device)?;
        }
        Ok(out)
    }
}
