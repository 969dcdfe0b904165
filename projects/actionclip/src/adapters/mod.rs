//! Temporal adapters (the original ActionCLIP's "fusion" / "visual prompt" modules):
//! per-frame CLIP features `[B, T, D]` -> one video feature `[B, D]`.
//!
//! The adapter is a registered kind so configs pick it by `type`:
//! * `TransformerAdapter`: MMAction2's adapter (CLIP blocks, fp32 LayerNorm eps 1e-5).
//! * `Transf`: the original's temporal transformer (TF-style LayerNorm eps 1e-12).
//! * `meanP`: the mean over frames, no parameters.
//! * `Conv_1D`: the original's depthwise temporal shift convolution.
//! * `LSTM`: a one-layer LSTM with a residual connection.
//! * `Transf_cls`: a `torch.nn.TransformerEncoder` over a class token.
//!
//! Building happens in two steps: the registry builds an [`AdapterSpec`] from the
//! config table, and the model instantiates it under its `adapter` path once the
//! feature width and the frame count are known.

mod conv1d;
mod lstm;
mod mean_pool;
mod transf_cls;
mod transformer;

pub use conv1d::{Conv1dAdapter, Conv1dAdapterConfig};
pub use lstm::{LstmAdapter, LstmAdapterConfig};
pub use mean_pool::{MeanPoolAdapter, MeanPoolConfig};
pub use transf_cls::{TransfClsAdapter, TransfClsConfig};
pub use transformer::{OriginalTransfConfig, TransformerAdapter, TransformerAdapterConfig};

use kinema_core::Kind;
use kinema_models::ModelError;
use tch::{nn, Tensor};

/// The registry kind of temporal adapters.
pub struct AdapterKind;

impl Kind for AdapterKind {
    const NAME: &'static str = "adapter";
    type Context = ();
    type Output = dyn AdapterSpec;
}

/// The sizes an adapter is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterDims {
    /// The feature width `D` (CLIP's `embed_dim`).
    pub embed_dim: i64,
    /// CLIP's text width (the adapter's heads are `text_width / 64`, as upstream).
    pub text_width: i64,
    /// Frames per clip `T` (`num_adapter_segs`).
    pub num_segs: i64,
    /// Blocks, for adapters that have them (`num_adapter_layers`).
    pub num_layers: i64,
}

/// A validated adapter config, ready to create its parameters.
pub trait AdapterSpec: Send + Sync + std::fmt::Debug {
    /// The registered name (`"TransformerAdapter"`, `"meanP"`, ...).
    fn name(&self) -> &'static str;
    /// Creates the parameters under `p` (the model's `adapter` path), initialised as
    /// upstream's `init_weights` (from libtorch's global generator).
    fn instantiate(&self, p: &nn::Path<'_>, dims: &AdapterDims) -> Result<Box<dyn TemporalAdapter>, ModelError>;
    /// Overrides the block count (when read from a checkpoint).
    fn with_layers(&self, _layers: i64) -> Box<dyn AdapterSpec>;
}

/// A built temporal adapter.
pub trait TemporalAdapter: Send + std::fmt::Debug {
    /// `x` [B, T, D] frame features -> [B, D] video features. `train` enables dropout
    /// where the module has it (`Transf_cls`).
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError>;
    /// The frame count the adapter requires, if it is tied to one (position tables).
    fn required_segs(&self) -> Option<i64>;
}

/// Wraps a libtorch error with the adapter's path.
pub(crate) fn torch_err(source: tch::TchError) -> ModelError {
    ModelError::Torch { module: "adapter".into(), source }
}

/// Wraps a parameter-creation error.
pub(crate) fn init_err(e: kinema_models::layers::init::InitError) -> ModelError {
    ModelError::part("adapter", e)
}

/// Checks `x` is `[B, T, D]` with the expected `D` (and `T` when given).
pub(crate) fn check_input(x: &Tensor, embed_dim: i64, segs: Option<i64>) -> Result<(i64, i64), ModelError> {
    let size = x.size();
    match size.as_slice() {
        [b, t, d] if *d == embed_dim && segs.is_none_or(|s| s == *t) => Ok((*b, *t)),
        _ => Err(ModelError::Input {
            module: "adapter".into(),
            message: match segs {
                Some(s) => format!("expected frame features [B, {s}, {embed_dim}], got {size:?}"),
                None => format!("expected frame features [B, T, {embed_dim}], got {size:?}"),
            },
        }),
    }
}

/// Registers every adapter. (Called for its side effect of linking this module.)
mod registrations {
    use super::*;
    use kinema_core::register;
    register!(AdapterKind, "TransformerAdapter", TransformerAdapter);
    register!(AdapterKind, "Transf", transformer::OriginalTransf);
    register!(AdapterKind, "meanP", MeanPoolAdapter);
    register!(AdapterKind, "Conv_1D", Conv1dAdapter);
    register!(AdapterKind, "LSTM", LstmAdapter);
    register!(AdapterKind, "Transf_cls", TransfClsAdapter);
}
