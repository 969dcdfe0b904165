//! MMCV's `ConvModule` for ResNets (`conv` -> `bn` -> optional ReLU) and a `BatchNorm2d`
//! that keeps PyTorch's five entries (`weight`, `bias`, `running_mean`, `running_var`,
//! `num_batches_tracked`), so MMAction2 checkpoints load strictly under their own names.

use tch::nn::init::{FanInOut, NonLinearity, NormalOrUniform};
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use super::init::{self, InitError};
use super::torch_err;
use crate::recognizer::ModelError;

/// PyTorch's `nn.BatchNorm2d` (eps 1e-5, momentum 0.1): batch statistics in training,
/// running statistics in evaluation; training updates the running statistics (with the
/// unbiased variance) and counts `num_batches_tracked`.
#[derive(Debug)]
pub struct BatchNorm2d {
    /// `weight` [C] (gamma), initialised to 1.
    pub weight: Tensor,
    /// `bias` [C] (beta), initialised to 0.
    pub bias: Tensor,
    /// `running_mean` [C].
    pub running_mean: Tensor,
    /// `running_var` [C].
    pub running_var: Tensor,
    /// `num_batches_tracked` [] (int64).
    pub num_batches_tracked: Tensor,
    path: String,
}

/// PyTorch's BatchNorm defaults.
const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

impl BatchNorm2d {
    /// Creates the five entries under `p` for `channels` channels.
    pub fn new(p: &nn::Path<'_>, channels: i64) -> Result<Self, InitError> {
        let weight = init::var(p, "weight", &[channels], Init::Const(1.0))?;
        let bias = init::var(p, "bias", &[channels], Init::Const(0.0))?;
        let running_mean = p.zeros_no_train("running_mean", &[channels]);
        let running_var = p.ones_no_train("running_var", &[channels]);
        let count = Tensor::zeros([], (Kind::Int64, p.device()));
        let num_batches_tracked = p.add("num_batches_tracked", count, false);
        Ok(BatchNorm2d {
            weight,
            bias,
            running_mean,
            running_var,
            num_batches_tracked,
            path: p.components().collect::<Vec<_>>().join("."),
        })
    }

    /// Normalises `x` [N, C, H, W]: with batch statistics (updating the running ones) when
    /// `train`, else with the running statistics.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let y = x
            .f_batch_norm(
                Some(&self.weight),
                Some(&self.bias),
                Some(&self.running_mean),
                Some(&self.running_var),
                train,
                BN_MOMENTUM,
                BN_EPS,
                true,
            )
            .map_err(torch_err(&self.path))?;
        if train {
            let _ = tch::no_grad(|| self.num_batches_tracked.shallow_clone().f_add_scalar_(1))
                .map_err(torch_err(&self.path))?;
        }
        Ok(y)
    }

    /// Stops (or restarts) training of `weight` and `bias` (`requires_grad`).
    pub fn set_trainable(&self, trainable: bool) {
        for t in [&self.weight, &self.bias] {
            let _ = t.shallow_clone().set_requires_grad(trainable);
        }
    }
}

/// The geometry of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Square kernel side.
    pub kernel: i64,
    /// Stride.
    pub stride: i64,
    /// Padding.
    pub padding: i64,
    /// Dilation.
    pub dilation: i64,
}

/// MMCV's `ConvModule` as MMAction2's ResNets use it: a bias-free `conv` (kaiming-normal,
/// fan-out, ReLU gain, as `kaiming_init`), then `bn`, then ReLU when `relu`. The
/// convolution's weight lives at `<path>.conv.weight`, or `<path>.conv.net.weight` when
/// `wrapped` (TSM's temporal shift wraps the convolution).
#[derive(Debug)]
pub struct ConvModule {
    /// The convolution's weight `[out, in, k, k]`.
    pub weight: Tensor,
    /// The batch norm.
    pub bn: BatchNorm2d,
    geometry: ConvGeometry,
    relu: bool,
    path: String,
}

impl ConvModule {
    /// Creates `conv.weight` (or `conv.net.weight`) and `bn.*` under `p`.
    pub fn new(p: &nn::Path<'_>, geometry: ConvGeometry, relu: bool, wrapped: bool) -> Result<Self, InitError> {
        let g = geometry;
        let kaiming =
            Init::Kaiming { dist: NormalOrUniform::Normal, fan: FanInOut::FanOut, non_linearity: NonLinearity::ReLU };
        let conv = if wrapped { p / "conv" / "net" } else { p / "conv" };
        let weight = init::var(&conv, "weight", &[g.out_channels, g.in_channels, g.kernel, g.kernel], kaiming)?;
        let bn = BatchNorm2d::new(&(p / "bn"), g.out_channels)?;
        Ok(ConvModule { weight, bn, geometry: g, relu, path: p.components().collect::<Vec<_>>().join(".") })
    }

    /// `conv(x)` only.
    pub fn conv(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let g = self.geometry;
        x.f_conv2d(&self.weight, None::<&Tensor>, [g.stride], [g.padding], [g.dilation], 1)
            .map_err(torch_err(&self.path))
    }

    /// `relu(bn(conv(x)))` (no ReLU when the module has none); `train` picks the batch
    /// norm's mode.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let y = self.bn.forward(&self.conv(x)?, train)?;
        if self.relu {
            y.f_relu().map_err(torch_err(&self.path))
        } else {
            Ok(y)
        }
    }

    /// Every trainable tensor of the module.
    pub fn parameters(&self) -> [&Tensor; 3] {
        [&self.weight, &self.bn.weight, &self.bn.bias]
    }
}
