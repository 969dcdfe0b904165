//! `torch.nn.MultiheadAttention` (batch_first=False, bias, no bias_k/v, no dropout) with
//! its parameter names: `in_proj_weight` [3W, W] (rows Q, K, V), `in_proj_bias` [3W],
//! `out_proj.weight` [W, W], `out_proj.bias` [W].

use tch::{nn, Kind, Tensor};

use super::init::{self, InitError};
use super::linear::Linear;
use super::torch_err;
use crate::recognizer::ModelError;

/// Which kernel computes `softmax(Q K^T / sqrt(d) + mask) V`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttentionImpl {
    /// libtorch's `scaled_dot_product_attention` (what PyTorch's MHA itself calls when
    /// no attention weights are requested). Within 1e-5 of [`AttentionImpl::Plain`]
    /// (tested in `tests/attention_paths.rs`).
    #[default]
    Fused,
    /// Explicit `bmm`, additive mask, softmax, `bmm`.
    Plain,
}

/// Multi-head self-attention over `[L, N, W]` inputs (sequence first).
#[derive(Debug)]
pub struct MultiheadAttention {
    /// `in_proj_weight` [3W, W].
    pub in_proj_weight: Tensor,
    /// `in_proj_bias` [3W].
    pub in_proj_bias: Tensor,
    /// `out_proj` (W -> W).
    pub out_proj: Linear,
    width: i64,
    heads: i64,
    imp: AttentionImpl,
    path: String,
}

impl MultiheadAttention {
    /// Creates the parameters under `p` for `heads` heads of width `width / heads`,
    /// initialised like PyTorch (xavier-uniform in_proj, zero biases).
    pub fn new(p: &nn::Path<'_>, width: i64, heads: i64, imp: AttentionImpl) -> Result<Self, InitError> {
        let in_proj_weight =
            init::var(p, "in_proj_weight", &[3 * width, width], init::xavier_uniform(3 * width, width))?;
        let in_proj_bias = init::var(p, "in_proj_bias", &[3 * width], nn::Init::Const(0.0))?;
        let out_proj = Linear::new(&(p / "out_proj"), width, width, true)?;
        if let Some(b) = &out_proj.bias {
            init::fill_(b, 0.0).map_err(|source| InitError {
                name: p.path("out_proj.bias"),
                dims: vec![width],
                source,
            })?;
        }
        Ok(MultiheadAttention {
            in_proj_weight,
            in_proj_bias,
            out_proj,
            width,
            heads: heads.max(1),
            imp,
            path: p.components().collect::<Vec<_>>().join("."),
        })
    }

    /// The module path (`visual.transformer.resblocks.0.attn`) errors name.
    pub(crate) fn path_str(&self) -> &str {
        &self.path
    }

    /// The number of heads.
    pub fn heads(&self) -> i64 {
        self.heads
    }

    /// Chooses the attention kernel.
    pub fn set_impl(&mut self, imp: AttentionImpl) {
        self.imp = imp;
    }

    /// Self-attention: `x` [L, N, W] -> [L, N, W]. `mask` is an additive float mask
    /// [L, L] (`-inf` where attention is forbidden) or `None`.
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor, ModelError> {
        let (l, n) = self.check_input(x)?;
        let (q, k, v) = self.project(x, l, n)?;
        let out = self.attend(&q, &k, &v, mask)?;
        self.merge(&out, l, n)
    }

    /// `(L, N)` of an input `[L, N, W]`, or an error naming this module.
    pub(crate) fn check_input(&self, x: &Tensor) -> Result<(i64, i64), ModelError> {
        let size = x.size();
        match size.as_slice() {
            [l, n, w] if *w == self.width => Ok((*l, *n)),
            _ => Err(ModelError::Input {
                module: self.path.clone(),
                message: format!("expected input [L, N, {}], got {:?}", self.width, size),
            }),
        }
    }

    /// The queries, keys and values of `x` [L, N, W], each `[N, H, L, W / H]`.
    pub(crate) fn project(&self, x: &Tensor, l: i64, n: i64) -> Result<(Tensor, Tensor, Tensor), ModelError> {
        let err = torch_err(&self.path);
        let (h, hd) = (self.heads, self.width / self.heads);
        let qkv = x.f_linear(&self.in_proj_weight, Some(&self.in_proj_bias)).map_err(&err)?;
        let parts = qkv.f_chunk(3, -1).map_err(&err)?;
        let heads = |t: &Tensor| -> Result<Tensor, ModelError> {
            t.f_contiguous()
                .and_then(|t| t.f_view([l, n * h, hd]))
                .and_then(|t| t.f_transpose(0, 1))
                .and_then(|t| t.f_view([n, h, l, hd]))
                .map_err(&err)
        };
        Ok((heads(&parts[0])?, heads(&parts[1])?, heads(&parts[2])?))
    }

    /// `softmax(Q K^T / sqrt(d) + mask) V` for `[N, H, Lq, d]` queries and `[N, H, Lk, d]`
    /// keys and values, with an additive mask `[Lq, Lk]`, by the chosen kernel.
    pub(crate) fn attend(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let mask = match mask {
            Some(m) => Some(m.f_to_kind(q.kind()).map_err(&err)?),
            None => None,
        };
        match self.imp {
            AttentionImpl::Fused => {
                Tensor::f_scaled_dot_product_attention(q, k, v, mask.as_ref(), 0.0, false, None::<f64>, false)
                    .map_err(&err)
            }
            AttentionImpl::Plain => {
                let scale = 1.0 / ((self.width / self.heads) as f64).sqrt();
                let scores = q.f_mul_scalar(scale).and_then(|q| q.f_matmul(&k.f_transpose(-2, -1)?)).map_err(&err)?;
                let scores = match &mask {
                    Some(m) => scores.f_add(m).map_err(&err)?,
                    None => scores,
                };
                let kind = scores.kind();
                scores
                    .f_softmax(-1, Kind::Float)
                    .and_then(|p| p.f_to_kind(kind))
                    .and_then(|p| p.f_matmul(v))
                    .map_err(&err)
            }
        }
    }

    /// Heads `[N, H, L, d]` back to `[L, N, W]`, through `out_proj`.
    pub(crate) fn merge(&self, out: &Tensor, l: i64, n: i64) -> Result<Tensor, ModelError> {
        let out = out
            .f_permute([2, 0, 1, 3])
            .and_then(|t| t.f_contiguous())
            .and_then(|t| t.f_view([l, n, self.width]))
            .map_err(torch_err(&self.path))?;
        self.out_proj.forward(&out)
    }
}
