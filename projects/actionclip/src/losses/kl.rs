//! The original ActionCLIP loss (`utils/KLLoss.py`): per direction
//! `KLDiv_mean(log_softmax(logits), softmax(target_scale * same_class)) * N`, weighted
//! `loss_weight` (the original averages the two directions: 0.5 each).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::recognizer::LossOutput;
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::{torch_err, VideoTextLoss, VideoTextLossKind};

/// KL divergence to soft same-class targets: pairs of the same class are positives.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KlLossConfig {
    /// The weight of each direction (0.5 = the original's average of the two).
    #[serde(default = "half")]
    pub loss_weight: f64,
    /// Targets are `softmax(target_scale * same_class_matrix)` (the original uses 10).
    #[serde(default = "ten")]
    pub target_scale: f64,
}

fn half() -> f64 {
    0.5
}
fn ten() -> f64 {
    10.0
}

/// The built loss.
#[derive(Debug, Clone)]
pub struct KlLoss {
    weight: f64,
    target_scale: f64,
}

impl KlLoss {
    /// With the original's constants (0.5 per direction, target scale 10).
    pub fn original() -> Self {
        KlLoss { weight: 0.5, target_scale: 10.0 }
    }

    fn direction(&self, logits: &Tensor, target: &Tensor) -> Result<Tensor, tch::TchError> {
        let n = logits.size().first().copied().unwrap_or(0) as f64;
        let log_p = logits.f_log_softmax(1, Kind::Float)?;
        let q = target.f_mul_scalar(self.target_scale)?.f_softmax(1, Kind::Float)?;
        // KLDivLoss(reduction='mean'): mean over all N*N of q * (log q - log p).
        let kl = q.f_xlogy(&q)?.f_sub(&q.f_mul(&log_p)?)?.f_mean(Kind::Float)?;
        kl.f_mul_scalar(n * self.weight)
    }
}

impl VideoTextLoss for KlLoss {
    fn forward(&self, logits: &Tensor, labels: &Tensor) -> Result<LossOutput, ModelError> {
        let l = labels.f_view([-1, 1]).map_err(torch_err)?;
        let same =
            l.f_eq_tensor(&l.f_tr().map_err(torch_err)?).and_then(|m| m.f_to_kind(Kind::Float)).map_err(torch_err)?;
        let v2t = self.direction(logits, &same).map_err(torch_err)?;
        let t2v = self.direction(&logits.f_tr().map_err(torch_err)?, &same).map_err(torch_err)?;
        Ok(vec![("sim_loss_v2t".into(), v2t), ("sim_loss_t2v".into(), t2v)])
    }
}

impl Component<VideoTextLossKind> for KlLoss {
    type Config = KlLossConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn VideoTextLoss>, BoxError> {
        if !config.loss_weight.is_finite() || !config.target_scale.is_finite() {
            return Err("`loss_weight` and `target_scale` must be finite".into());
        }
        Ok(Box::new(KlLoss { weight: config.loss_weight, target_scale: config.target_scale }))
    }
}
