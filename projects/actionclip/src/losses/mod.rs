//! Video-text contrastive losses, picked by the model's `loss` table:
//!
//! * `CrossEntropyLoss` (MMAction2's): cross-entropy of the similarity logits against
//!   the diagonal (`arange(N)`), each direction weighted `loss_weight` (0.5).
//! * `KLLoss` (the original ActionCLIP's): KL divergence to soft targets
//!   `softmax(10 * same_class)`, so same-class pairs count as positives.
//!
//! Both return `sim_loss_v2t` and `sim_loss_t2v`; the engine sums them into `loss`.

mod cross_entropy;
mod kl;

pub use cross_entropy::{CrossEntropyLoss, CrossEntropyLossConfig};
pub use kl::{KlLoss, KlLossConfig};

use kinema_core::Kind;
use kinema_models::recognizer::LossOutput;
use kinema_models::ModelError;
use tch::Tensor;

/// The registry kind of video-text losses.
pub struct VideoTextLossKind;

impl Kind for VideoTextLossKind {
    const NAME: &'static str = "video_text_loss";
    type Context = ();
    type Output = dyn VideoTextLoss;
}

/// A symmetric video-text loss over a (gathered) batch.
pub trait VideoTextLoss: Send + Sync + std::fmt::Debug {
    /// `logits_per_video` [N, N] (`scale * v_hat t_hat^T`, row = video, column = text)
    /// and the class of each pair `labels` [N] -> named losses.
    fn forward(&self, logits_per_video: &Tensor, labels: &Tensor) -> Result<LossOutput, ModelError>;
}

pub(crate) fn torch_err(source: tch::TchError) -> ModelError {
    ModelError::Torch { module: "loss".into(), source }
}

mod registrations {
    use super::*;
    use kinema_core::register;
    register!(VideoTextLossKind, "CrossEntropyLoss", CrossEntropyLoss);
    register!(VideoTextLossKind, "KLLoss", KlLoss);
}
