//! MMAction2's ActionCLIP loss: `loss_weight * CE(logits, arange(N))` per direction.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::recognizer::LossOutput;
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

use super::{torch_err, VideoTextLoss, VideoTextLossKind};

/// Cross-entropy against the diagonal in both directions (MMAction2's
/// `CrossEntropyLoss(loss_weight=0.5)` applied to video->text and text->video logits).
/// Same-class pairs in a batch count as negatives, as upstream.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossEntropyLossConfig {
    /// The weight of each direction.
    #[serde(default = "half")]
    pub loss_weight: f64,
}

fn half() -> f64 {
    0.5
}

impl Default for CrossEntropyLossConfig {
    fn default() -> Self {
        CrossEntropyLossConfig { loss_weight: 0.5 }
    }
}

/// The built loss.
#[derive(Debug, Clone)]
pub struct CrossEntropyLoss {
    weight: f64,
}

impl CrossEntropyLoss {
    /// With each direction weighted `loss_weight`.
    pub fn new(loss_weight: f64) -> Self {
        CrossEntropyLoss { weight: loss_weight }
    }
}

impl VideoTextLoss for CrossEntropyLoss {
    fn forward(&self, logits: &Tensor, _labels: &Tensor) -> Result<LossOutput, ModelError> {
        let n = logits.size().first().copied().unwrap_or(0);
        let target = Tensor::f_arange(n, (Kind::Int64, logits.device())).map_err(torch_err)?;
        let ce = |l: &Tensor| -> Result<Tensor, ModelError> {
            l.f_cross_entropy_loss::<Tensor>(&target, None, Reduction::Mean, -100, 0.0)
                .and_then(|x| x.f_mul_scalar(self.weight))
                .map_err(torch_err)
        };
        let v2t = ce(logits)?;
        let t2v = ce(&logits.f_tr().map_err(torch_err)?)?;
        Ok(vec![("sim_loss_v2t".into(), v2t), ("sim_loss_t2v".into(), t2v)])
    }
}

impl Component<VideoTextLossKind> for CrossEntropyLoss {
    type Config = CrossEntropyLossConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn VideoTextLoss>, BoxError> {
        if !config.loss_weight.is_finite() {
            return Err(format!("`loss_weight` must be finite, got {}", config.loss_weight).into());
        }
        Ok(Box::new(CrossEntropyLoss::new(config.loss_weight)))
    }
}
