//! Classification losses (the registry kind `loss`, MMAction2's `loss_cls`): class
//! scores and targets to a scalar.

mod cross_entropy;

pub use cross_entropy::{CrossEntropyLoss, CrossEntropyLossConfig};

use kinema_core::Kind;
use tch::Tensor;

use crate::recognizer::ModelError;

/// The registry kind of classification losses.
pub struct LossKind;

impl Kind for LossKind {
    const NAME: &'static str = "loss";
    type Context = ();
    type Output = dyn ClassificationLoss;
}

/// A classification loss.
pub trait ClassificationLoss: Send + Sync + std::fmt::Debug {
    /// `scores` [B, K] logits; `targets` either class indices (int64 [B]) or, with the
    /// shape of `scores`, soft labels (MMAction2 tells them apart the same way).
    fn forward(&self, scores: &Tensor, targets: &Tensor) -> Result<Tensor, ModelError>;
}
