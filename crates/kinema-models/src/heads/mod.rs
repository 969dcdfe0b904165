//! Classification heads of 2D recognizers (the registry kind `head`, MMAction2's
//! `cls_head`): `TSNHead` (consensus over segments, then the classifier) and `TSMHead`
//! (the classifier per frame, then the consensus).
//!
//! What every head shares (the loss with label smoothing and top-k logging, averaging
//! the views of a test sample) is [`BaseHead`], MMAction2's `BaseHead`.

mod base;
mod tsm;
mod tsn;

pub use base::{Averaging, BaseHead, ConsensusCfg, HeadParts, TopK};
pub use tsm::{TsmHead, TsmHeadConfig};
pub use tsn::{TsnHead, TsnHeadConfig};

use kinema_core::Kind;
use tch::{nn, Tensor};

use crate::recognizer::{LossOutput, ModelError};

/// The registry kind of classification heads.
pub struct HeadKind;

impl Kind for HeadKind {
    const NAME: &'static str = "head";
    type Context = ();
    type Output = dyn HeadSpec;
}

/// A validated head config, ready to create its parameters.
pub trait HeadSpec: Send + Sync + std::fmt::Debug {
    /// Creates the parameters under `p` (`cls_head`), initialised as MMAction2 does.
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Head>, ModelError>;
}

/// A built head.
pub trait Head: Send + std::fmt::Debug {
    /// Backbone features `[B * S, C, H, W]` (S = views of each sample) -> class scores:
    /// `[B, K]` for TSN (segments averaged first), `[B * S / T, K]` for TSM (frames
    /// averaged per clip of T). `train` enables dropout.
    fn forward(&self, x: &Tensor, num_segs: i64, train: bool) -> Result<Tensor, ModelError>;
    /// The shared part.
    fn base(&self) -> &BaseHead;
    /// `loss_cls` (and the logged `top{k}_acc`) of scores against class indices [B].
    fn loss(&self, scores: &Tensor, labels: &Tensor) -> Result<LossOutput, ModelError> {
        self.base().loss(scores, labels)
    }
    /// Scores of `batch_size` samples: the rows of each sample averaged (`average_clips`).
    fn predict(&self, scores: &Tensor, batch_size: i64) -> Result<Tensor, ModelError> {
        self.base().predict(scores, batch_size)
    }
}
