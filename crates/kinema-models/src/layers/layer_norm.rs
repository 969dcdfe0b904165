//! LayerNorm as OpenAI CLIP computes it (fp32 inside, cast back), and the TF-style
//! variant (epsilon inside the square root, computed in the input dtype) of the
//! TensorFlow-style modules some published video models use.

use tch::{nn, Kind, Tensor};

use super::init::{self, InitError};
use super::torch_err;
use crate::recognizer::ModelError;

/// How a [`LayerNorm`] computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerNormStyle {
    /// `torch.nn.LayerNorm` on the input cast to fp32, result cast back (OpenAI CLIP's
    /// subclass; MMAction2's adapter). Usual eps 1e-5.
    Fp32 {
        /// Added to the variance.
        eps: f64,
    },
    /// `(x - mean) / sqrt(var + eps) * w + b` in the input dtype (the original
    /// TF-style modules). Usual eps 1e-12.
    TfStyle {
        /// Added to the variance.
        eps: f64,
    },
}

impl LayerNormStyle {
    /// OpenAI CLIP's LayerNorm (fp32, eps 1e-5).
    pub const CLIP: LayerNormStyle = LayerNormStyle::Fp32 { eps: 1e-5 };
    /// The TensorFlow-style LayerNorm (eps inside the square root, usual eps 1e-12).
    pub const TF: LayerNormStyle = LayerNormStyle::TfStyle { eps: 1e-12 };
}

/// Layer normalisation over the last dimension with `weight` and `bias`.
#[derive(Debug)]
pub struct LayerNorm {
    /// `weight` [D], initialised to ones.
    pub weight: Tensor,
    /// `bias` [D], initialised to zeros.
    pub bias: Tensor,
    dim: i64,
    style: LayerNormStyle,
    path: String,
}

impl LayerNorm {
    /// Creates `weight` (ones) and `bias` (zeros) of size `dim` under `p`.
    pub fn new(p: &nn::Path<'_>, dim: i64, style: LayerNormStyle) -> Result<Self, InitError> {
        let weight = init::var(p, "weight", &[dim], nn::Init::Const(1.0))?;
        let bias = init::var(p, "bias", &[dim], nn::Init::Const(0.0))?;
        Ok(LayerNorm { weight, bias, dim, style, path: p.components().collect::<Vec<_>>().join(".") })
    }

    /// Normalises the last dimension of `x` (which must be `D`).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        match self.style {
            LayerNormStyle::Fp32 { eps } => {
                let kind = x.kind();
                let y = x.f_to_kind(Kind::Float).map_err(&err)?;
                let y = y.f_layer_norm([self.dim], Some(&self.weight), Some(&self.bias), eps, true).map_err(&err)?;
                y.f_to_kind(kind).map_err(err)
            }
            LayerNormStyle::TfStyle { eps } => {
                let u = x.f_mean_dim(-1, true, None).map_err(&err)?;
                let centered = x.f_sub(&u).map_err(&err)?;
                let s = centered.f_square().map_err(&err)?.f_mean_dim(-1, true, None).map_err(&err)?;
                let normed =
                    centered.f_div(&s.f_add_scalar(eps).map_err(&err)?.f_sqrt().map_err(&err)?).map_err(&err)?;
                normed.f_mul(&self.weight).map_err(&err)?.f_add(&self.bias).map_err(err)
            }
        }
    }
}
