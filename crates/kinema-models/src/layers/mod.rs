//! Generic building blocks with PyTorch's parameter names, reusable by any model: MMCV's
//! [`ConvModule`] with a PyTorch [`BatchNorm2d`] for ResNets, and for transformers: fp32 [`LayerNorm`](layer_norm::LayerNorm), [`MultiheadAttention`](attention::MultiheadAttention)
//! (`in_proj_weight` naming), the pre-norm [`ResidualAttentionBlock`](residual_block::ResidualAttentionBlock)
//! with a QuickGELU MLP, and a [`Transformer`](transformer::Transformer) stack of them, which can run causal
//! attention after a shared prefix's cached keys and values ([`kv_cache`]).
//!
//! Every constructor takes an `nn::Path` and names its parameters exactly like the
//! PyTorch module it mirrors, so `state_dict` keys load without renaming.

pub mod attention;
pub mod conv_module;
pub mod init;
pub mod kv_cache;
pub mod layer_norm;
pub mod linear;
pub mod residual_block;
pub mod transformer;

pub use attention::{AttentionImpl, MultiheadAttention};
pub use conv_module::{BatchNorm2d, ConvGeometry, ConvModule};
pub use kv_cache::{KvCache, LayerKv};
pub use layer_norm::{LayerNorm, LayerNormStyle};
pub use linear::Linear;
pub use residual_block::{QuickGeluMlp, ResidualAttentionBlock};
pub use transformer::Transformer;

use crate::recognizer::ModelError;

/// Wraps a libtorch error with the module path it happened in.
pub(crate) fn torch_err(module: &str) -> impl Fn(tch::TchError) -> ModelError + '_ {
    move |source| ModelError::Torch { module: module.to_string(), source }
}
