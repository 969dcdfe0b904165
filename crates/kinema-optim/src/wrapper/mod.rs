//! MMEngine's `OptimWrapper` / `AmpOptimWrapper`: parameter groups from `paramwise_cfg`,
//! gradient accumulation, clipping, loss scaling, and saveable state.

mod clip;
mod config;
pub mod constructor;
mod paramwise;
mod scaler;
mod state;
mod tsm_constructor;

use std::collections::HashMap;

use serde_json::Value;
use tch::{Device, Kind, Tensor};

pub use clip::{total_norm, ClipGrad};
pub use config::{
    build_optim_wrapper, AmpDtype, AmpOptimWrapperConfig, AmpWrapper, ClipGradCfg, ClipType, CustomKeyOptions,
    GradScalerCfg, LossScale, NormType, OptimWrapperConfig, OptimWrapperKind, ParamwiseCfg, PlainWrapper,
};
pub use constructor::{ConstructorKind, DefaultConstructor, GroupConstructor};
pub use scaler::GradScaler;
pub use state::OptimState;
pub use tsm_constructor::{TsmConstructor, TsmConstructorConfig, TsmParamwiseCfg};

use crate::error::{OptimError, Result};
use crate::group::{Param, ParamGroup};
use crate::optimizer::Optimizer;

/// What one [`OptimWrapper::update_params`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UpdateInfo {
    /// An update was due (end of an accumulation window): gradients were processed and zeroed.
    pub stepped: bool,
    /// The optimizer step was skipped because a gradient had an inf or NaN (AMP only).
    pub skipped: bool,
    /// The total gradient norm before clipping (only when clipping by norm).
    pub grad_norm: Option<f64>,
    /// The loss scale this iteration's loss was multiplied by (AMP only).
    pub loss_scale: Option<f64>,
}

/// The learning rates MMEngine logs: `lr` (the first group's) and `base_lr` (the base
/// settings', present when there is more than one group).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrLog {
    /// The first parameter group's learning rate.
    pub lr: f64,
    /// The base settings' learning rate.
    pub base_lr: Option<f64>,
}

/// What an optimizer wrapper is built for: the model's trainable parameters by full name, in
/// registration order (PyTorch's `named_parameters()` order), and the model's device.
pub struct OptimContext {
    /// Named trainable parameters (`clip.visual.conv1.weight`), in registration order.
    pub params: Vec<(String, Tensor)>,
    /// The device of the model (the loss scaler's tensors live there).
    pub device: Device,
}

/// The pieces a wrapper is assembled from (the registry entries fill it).
pub(crate) struct Parts<'a> {
    pub optimizer: Box<dyn Optimizer>,
    pub optimizer_cfg: &'a Value,
    pub constructor: Box<dyn constructor::GroupConstructor>,
    pub clip: Option<&'a ClipGradCfg>,
    pub accumulative_counts: u64,
    /// AMP: the autocast dtype, the scaler arguments and whether the scale is fixed.
    pub amp: Option<(AmpDtype, GradScalerCfg, bool)>,
    /// AMP: how many optimizer steps in a row may be skipped for inf/NaN gradients.
    pub max_skipped_steps: u64,
}

/// Identity of a gradient tensor right after it was zeroed: (version counter, data pointer).
type GradMark = (i64, usize);

/// An optimizer with its parameter groups, accumulation, clipping and (optionally) AMP loss
/// scaling. Build it from the `optim_wrapper` config with [`build_optim_wrapper`].
pub struct OptimWrapper {
    optimizer: Box<dyn Optimizer>,
    /// The parameter groups, then the base settings when there is more than one group.
    groups: Vec<ParamGroup>,
    num_groups: usize,
    clip: Option<ClipGrad>,
    accumulative_counts: u64,
    inner_count: u64,
    max_counts: Option<u64>,
    remainder_counts: u64,
    amp: Option<(AmpDtype, GradScaler)>,
    /// AMP: the most steps in a row that may be skipped, and how many were.
    max_skipped_steps: u64,
    skipped_in_a_row: u64,
    /// Gradients as they were after the last `zero_grad` (PyTorch sets them to `None`; tch
    /// can only zero them, so a parameter counts as having a gradient when its gradient
    /// changed since).
    marks: HashMap<String, GradMark>,
    grad_sync: Option<GradSync>,
}

/// Called with every defined gradient (in parameter order) when an accumulation window
/// ends, before unscaling and clipping: multi-process training averages them across
/// ranks there (DDP's all-reduce).
pub type GradSync = Box<dyn FnMut(&[Tensor]) -> std::result::Result<(), String> + Send>;

impl OptimWrapper {
    pub(crate) fn from_parts(parts: Parts<'_>, ctx: &OptimContext) -> Result<Self> {
        if parts.accumulative_counts == 0 {
            return Err(OptimError::config("accumulative_counts", "must be at least 1"));
        }
        let clip = parts.clip.map(ClipGrad::from_cfg).transpose()?;
        let mut groups = parts.constructor.groups(parts.optimizer.defaults(), parts.optimizer_cfg, &ctx.params)?;
        if groups.iter().all(|g| g.params().is_empty()) {
            return Err(OptimError::config(
                "optimizer",
                "got an empty parameter list: the model has no trainable parameters",
            ));
        }
        let num_groups = groups.len();
        if num_groups > 1 {
            groups.push(parts.optimizer.defaults().clone_settings());
        }
        let amp = match parts.amp {
            Some((dtype, cfg, fixed)) => Some((dtype, GradScaler::new(&cfg, fixed, ctx.device)?)),
            None => None,
        };
        Ok(OptimWrapper {
            optimizer: parts.optimizer,
            groups,
            num_groups,
            clip,
            accumulative_counts: parts.accumulative_counts,
            inner_count: 0,
            max_counts: None,
            remainder_counts: 0,
            amp,
            max_skipped_steps: parts.max_skipped_steps,
            skipped_in_a_row: 0,
            marks: HashMap::new(),
            grad_sync: None,
        })
    }

    /// Installs the gradient synchronisation of multi-process training (see [`GradSync`]).
    pub fn set_grad_sync(&mut self, sync: GradSync) {
        self.grad_sync = Some(sync);
    }

    /// The optimizer's registered type (`"AdamW"`).
    pub fn optimizer_type(&self) -> &'static str {
        self.optimizer.type_name()
    }

    /// MMEngine's `OptimWrapper.param_groups`: the optimizer's groups followed by the base
    /// settings when there is more than one group. This is what parameter schedulers drive
    /// and what `auto_scale_lr` scales.
    pub fn param_groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    /// [`OptimWrapper::param_groups`], mutable: pass it to the schedulers.
    pub fn param_groups_mut(&mut self) -> &mut [ParamGroup] {
        &mut self.groups
    }

    /// MMEngine's `Runner.scale_lr`: multiplies the learning rate of the optimizer's groups
    /// (not the base settings) by `ratio`. Call it before building the schedulers, which
    /// record each group's initial learning rate.
    pub fn scale_lr(&mut self, ratio: f64) {
        for group in &mut self.groups[..self.num_groups] {
            group.lr *= ratio;
        }
    }

    /// The optimizer's own groups (with parameters), without the base settings.
    pub fn optimizer_groups(&self) -> &[ParamGroup] {
        &self.groups[..self.num_groups]
    }

    /// MMEngine's `base_param_settings`: the optimizer's defaults, present when there is more
    /// than one group; schedulers drive it like a group, and its lr is logged as `base_lr`.
    pub fn base_param_settings(&self) -> Option<&ParamGroup> {
        self.groups.get(self.num_groups)
    }

    /// `lr` and `base_lr` as MMEngine logs them.
    pub fn lr_for_logging(&self) -> LrLog {
        LrLog { lr: self.groups[0].lr, base_lr: self.base_param_settings().map(|b| b.lr) }
    }

    /// The autocast dtype of the forward pass (`None` for full precision).
    pub fn autocast_dtype(&self) -> Option<Kind> {
        self.amp.as_ref().map(|(dtype, _)| match dtype {
            AmpDtype::Float16 => Kind::Half,
            AmpDtype::Bfloat16 => Kind::BFloat16,
        })
    }

    /// The current loss scale (AMP only).
    pub fn loss_scale(&self) -> Option<f64> {
        self.amp.as_ref().map(|(_, s)| s.scale_value())
    }

    /// Number of backward passes so far (MMEngine's `inner_count`).
    pub fn inner_count(&self) -> u64 {
        self.inner_count
    }

    /// MMEngine's `initialize_count_status`: the runner calls it before training with the
    /// current iteration and the total, so that the last, incomplete accumulation window
    /// divides its losses by its own length.
    pub fn initialize_count_status(&mut self, current_iter: u64, max_iters: u64) {
        self.inner_count = current_iter;
        self.max_counts = Some(max_iters);
        if !current_iter.is_multiple_of(self.accumulative_counts) {
            log::warn!(
                "Resumed iteration number is not divisible by `accumulative_counts`, which means the \
                 gradient of some iterations is lost and the result may be influenced slightly."
            );
        }
        self.remainder_counts = max_iters % self.accumulative_counts;
    }

    /// True when the next `update_params` ends an accumulation window.
    pub fn should_update(&self) -> bool {
        self.inner_count.is_multiple_of(self.accumulative_counts) || Some(self.inner_count) == self.max_counts
    }

    /// True when the next backward ends an accumulation window (DDP must synchronise).
    pub fn should_sync(&self) -> bool {
        (self.inner_count + 1).is_multiple_of(self.accumulative_counts) || Some(self.inner_count + 1) == self.max_counts
    }

    /// The loss divided by the accumulation factor (MMEngine's `scale_loss`).
    fn loss_factor(&self) -> Result<u64> {
        if self.accumulative_counts == 1 {
            return Ok(1);
        }
        let Some(max) = self.max_counts else { return Ok(self.accumulative_counts) };
        let factor = if self.inner_count < max - self.remainder_counts.min(max) {
            self.accumulative_counts
        } else {
            self.remainder_counts
        };
        if factor == 0 {
            return Err(OptimError::Accumulation(format!(
                "update {} is past max_iters = {max} (initialize_count_status was given wrong counts)",
                self.inner_count + 1
            )));
        }
        Ok(factor)
    }

    /// One training iteration's optimizer work, as MMEngine's `update_params`: divide the
    /// loss by the accumulation factor, (scale and) backpropagate, and at the end of an
    /// accumulation window unscale, clip, step (unless AMP found inf/NaN) and zero the
    /// gradients. Without AMP, a non-finite loss (checked before the backward pass) or, with
    /// clipping, a non-finite gradient norm is an error, and the weights and the optimizer
    /// state are left as they were (the run should stop without saving).
    pub fn update_params(&mut self, loss: &Tensor) -> Result<UpdateInfo> {
        if loss.numel() != 1 {
            return Err(OptimError::LossNotScalar { shape: loss.size() });
        }
        if self.amp.is_none() {
            let value = loss.f_double_value(&[])?;
            if !value.is_finite() {
                return Err(OptimError::NonFiniteLoss { value, inner_count: self.inner_count });
            }
        }
        let factor = self.loss_factor()?;
        let loss = loss.f_div_scalar(factor as f64)?;
        let mut info = UpdateInfo::default();
        match &mut self.amp {
            Some((_, scaler)) => {
                info.loss_scale = Some(scaler.scale_value());
                scaler.scale(&loss)?.f_backward()?;
            }
            None => loss.f_backward()?,
        }
        self.inner_count += 1;
        if self.should_update() {
            self.step(&mut info)?;
            self.zero_grad();
            info.stepped = true;
        }
        Ok(info)
    }

    /// Unscale (AMP), clip and step; the gradients stay.
    fn step(&mut self, info: &mut UpdateInfo) -> Result<()> {
        let marks = &self.marks;
        let has_grad = |p: &Param| has_fresh_grad(marks, p);
        let mut grads: Vec<Tensor> = self.groups[..self.num_groups]
            .iter()
            .flat_map(|g| g.params())
            .filter(|p| p.tensor.requires_grad() && has_grad(p))
            .map(|p| p.tensor.grad())
            .collect();
        if let Some(sync) = &mut self.grad_sync {
            let all: Vec<Tensor> = self.groups[..self.num_groups]
                .iter()
                .flat_map(|g| g.params())
                .filter(|p| p.tensor.requires_grad())
                .map(|p| p.tensor.grad())
                .filter(Tensor::defined)
                .collect();
            sync(&all).map_err(OptimError::GradSync)?;
        }
        let mut found_inf = None;
        if let Some((_, scaler)) = &mut self.amp {
            found_inf = Some(scaler.unscale(&mut grads)?);
        }
        if let Some(clip) = &self.clip {
            info.grad_norm = clip.apply(&mut grads)?;
        }
        match (&mut self.amp, found_inf) {
            (Some((_, scaler)), Some(found_inf)) => {
                info.skipped = found_inf.f_double_value(&[])? != 0.0;
                if info.skipped {
                    self.skipped_in_a_row += 1;
                    log::warn!("inf or NaN gradients: optimizer step skipped, loss scale reduced");
                } else {
                    self.skipped_in_a_row = 0;
                    self.optimizer.step(&self.groups[..self.num_groups], &has_grad)?;
                }
                scaler.update(&found_inf)?;
                if self.skipped_in_a_row > self.max_skipped_steps {
                    let loss_scale = scaler.scale_value();
                    return Err(OptimError::TooManySkippedSteps { count: self.skipped_in_a_row, loss_scale });
                }
            }
            _ => {
                if let Some(norm) = info.grad_norm.filter(|n| !n.is_finite()) {
                    return Err(OptimError::NonFiniteGradNorm { value: norm });
                }
                self.optimizer.step(&self.groups[..self.num_groups], &has_grad)?;
            }
        }
        Ok(())
    }

    /// Zeroes every gradient (PyTorch would set them to `None`; see [`OptimWrapper`]).
    pub fn zero_grad(&mut self) {
        let _guard = tch::no_grad_guard();
        for p in self.groups[..self.num_groups].iter().flat_map(|g| g.params()) {
            let mut grad = p.tensor.grad();
            if grad.defined() {
                let _ = grad.detach_().zero_();
                self.marks.insert(p.name.clone(), (grad.internal_version(), grad.data_ptr() as usize));
            }
        }
    }
}

/// True when `p` has a gradient that was written since the last `zero_grad`.
fn has_fresh_grad(marks: &HashMap<String, GradMark>, p: &Param) -> bool {
    let grad = p.tensor.grad();
    if !grad.defined() {
        return false;
    }
    match marks.get(&p.name) {
        Some(&(version, ptr)) => grad.internal_version() != version || grad.data_ptr() as usize != ptr,
        None => true,
    }
}
