//! `type = "CrossEntropyLoss"`: MMAction2's cross-entropy, with `loss_weight` and
//! `class_weight`, for class indices and for soft labels (label smoothing lives in the
//! head, `label_smooth_eps`, as in MMAction2).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

use super::{ClassificationLoss, LossKind};
use crate::recognizer::ModelError;

/// MMAction2's `CrossEntropyLoss` arguments.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossEntropyLossConfig {
    /// The loss is multiplied by this.
    #[serde(default = "one")]
    pub loss_weight: f64,
    /// A weight per class (`F.cross_entropy`'s `weight`); none: equal weights.
    #[serde(default)]
    pub class_weight: Option<Vec<f64>>,
}

fn one() -> f64 {
    1.0
}

/// The built loss.
#[derive(Debug)]
pub struct CrossEntropyLoss {
    config: CrossEntropyLossConfig,
}

fn err(source: tch::TchError) -> ModelError {
    ModelError::Torch { module: "loss_cls".into(), source }
}

impl ClassificationLoss for CrossEntropyLoss {
    fn forward(&self, scores: &Tensor, targets: &Tensor) -> Result<Tensor, ModelError> {
        let k = scores.size().last().copied().unwrap_or(0);
        let class_weight = match &self.config.class_weight {
            Some(w) if w.len() as i64 != k => {
                return Err(ModelError::config(
                    "loss_cls.class_weight",
                    format!("has {} entries but the head scores {k} classes", w.len()),
                ))
            }
            Some(w) => Some(Tensor::from_slice(w).to_kind(Kind::Float).to_device(scores.device())),
            None => None,
        };
        let loss = if targets.size() == scores.size() {
            let mut lsm = scores.f_log_softmax(1, Kind::Float).map_err(err)?;
            if let Some(w) = &class_weight {
                lsm = lsm.f_mul(&w.f_unsqueeze(0).map_err(err)?).map_err(err)?;
            }
            let per_sample = targets
                .f_mul(&lsm)
                .map_err(err)?
                .f_sum_dim_intlist(1, false, Kind::Float)
                .map_err(err)?
                .f_neg()
                .map_err(err)?;
            match &class_weight {
                Some(w) => {
                    let norm =
                        w.f_unsqueeze(0).map_err(err)?.f_mul(targets).map_err(err)?.f_sum(Kind::Float).map_err(err)?;
                    per_sample.f_sum(Kind::Float).map_err(err)?.f_div(&norm).map_err(err)?
                }
                None => per_sample.f_mean(Kind::Float).map_err(err)?,
            }
        } else {
            scores
                .f_cross_entropy_loss::<&Tensor>(targets, class_weight.as_ref(), Reduction::Mean, -100, 0.0)
                .map_err(err)?
        };
        loss.f_mul_scalar(self.config.loss_weight).map_err(err)
    }
}

impl Component<LossKind> for CrossEntropyLoss {
    type Config = CrossEntropyLossConfig;
    fn build(
        config: &CrossEntropyLossConfig,
        _: &(),
        _: &BuildSite<'_>,
    ) -> Result<Box<dyn ClassificationLoss>, BoxError> {
        Ok(Box::new(CrossEntropyLoss { config: config.clone() }))
    }
}

register!(LossKind, "CrossEntropyLoss", CrossEntropyLoss);
