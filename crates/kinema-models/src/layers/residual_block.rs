//! OpenAI CLIP's `ResidualAttentionBlock`: `x + attn(ln_1(x))`, then
//! `x + mlp(ln_2(x))` with `mlp = c_proj(QuickGELU(c_fc(.)))`.

use tch::{nn, Tensor};

use super::attention::{AttentionImpl, MultiheadAttention};
use super::init::InitError;
use super::layer_norm::{LayerNorm, LayerNormStyle};
use super::linear::Linear;
use super::torch_err;
use crate::recognizer::ModelError;

/// `x * sigmoid(1.702 x)` (not the erf GELU).
pub fn quick_gelu(x: &Tensor) -> Result<Tensor, tch::TchError> {
    x.f_mul(&x.f_mul_scalar(1.702)?.f_sigmoid()?)
}

/// The block's MLP: `c_fc` (W -> 4W), QuickGELU, `c_proj` (4W -> W).
#[derive(Debug)]
pub struct QuickGeluMlp {
    /// `mlp.c_fc`.
    pub c_fc: Linear,
    /// `mlp.c_proj`.
    pub c_proj: Linear,
    path: String,
}

impl QuickGeluMlp {
    /// Creates `c_fc` and `c_proj` under `p`.
    pub fn new(p: &nn::Path<'_>, width: i64) -> Result<Self, InitError> {
        Ok(QuickGeluMlp {
            c_fc: Linear::new(&(p / "c_fc"), width, 4 * width, true)?,
            c_proj: Linear::new(&(p / "c_proj"), 4 * width, width, true)?,
            path: p.components().collect::<Vec<_>>().join("."),
        })
    }

    /// Applies the MLP to the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let h = self.c_fc.forward(x)?;
        let h = quick_gelu(&h).map_err(torch_err(&self.path))?;
        self.c_proj.forward(&h)
    }
}

/// A pre-norm transformer block with PyTorch names `attn`, `ln_1`, `mlp.c_fc`,
/// `mlp.c_proj`, `ln_2`.
#[derive(Debug)]
pub struct ResidualAttentionBlock {
    /// `attn`.
    pub attn: MultiheadAttention,
    /// `ln_1`.
    pub ln_1: LayerNorm,
    /// `mlp`.
    pub mlp: QuickGeluMlp,
    /// `ln_2`.
    pub ln_2: LayerNorm,
    path: String,
}

impl ResidualAttentionBlock {
    /// The module path errors name.
    pub(crate) fn path_str(&self) -> &str {
        &self.path
    }

    /// Creates a block of width `width` with `heads` heads under `p`.
    pub fn new(
        p: &nn::Path<'_>,
        width: i64,
        heads: i64,
        ln: LayerNormStyle,
        imp: AttentionImpl,
    ) -> Result<Self, InitError> {
        Ok(ResidualAttentionBlock {
            attn: MultiheadAttention::new(&(p / "attn"), width, heads, imp)?,
            ln_1: LayerNorm::new(&(p / "ln_1"), width, ln)?,
            mlp: QuickGeluMlp::new(&(p / "mlp"), width)?,
            ln_2: LayerNorm::new(&(p / "ln_2"), width, ln)?,
            path: p.components().collect::<Vec<_>>().join("."),
        })
    }

    /// `x` [L, N, W] -> [L, N, W]; `mask` as in [`MultiheadAttention::forward`].
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let a = self.attn.forward(&self.ln_1.forward(x)?, mask)?;
        let x = x.f_add(&a).map_err(&err)?;
        let m = self.mlp.forward(&self.ln_2.forward(&x)?)?;
        x.f_add(&m).map_err(err)
    }
}
