//! `MeanScoreHead`: a classification head in a user's crate, for MMAction2's
//! `Recognizer2D`: a linear classifier on every image's pooled features, scores averaged
//! over the segments of a sample (TSN averages features instead). It follows
//! docs/models.md "Adding a family": a config, a spec, the built head, a registration.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_models::heads::{BaseHead, ConsensusCfg, Head, HeadKind, HeadParts, HeadSpec, TopK};
use kinema_models::recognizer::ModelError;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// A linear classifier per image, scores averaged over segments.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeanScoreHeadConfig {
    /// Number of classes.
    pub num_classes: i64,
    /// Channels of the backbone's last feature map.
    pub in_channels: i64,
    /// Standard deviation of the classifier's initial weights.
    #[serde(default = "std")]
    pub init_std: f64,
}

fn std() -> f64 {
    0.01
}

/// The built head (and its registry entry).
#[derive(Debug)]
pub struct MeanScoreHead {
    base: BaseHead,
}

#[derive(Debug)]
struct Spec(HeadParts);

impl HeadSpec for Spec {
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Head>, ModelError> {
        Ok(Box::new(MeanScoreHead { base: BaseHead::new(p, self.0.clone())? }))
    }
}

impl Head for MeanScoreHead {
    fn forward(&self, x: &Tensor, num_segs: i64, train: bool) -> Result<Tensor, ModelError> {
        let scores = self.base.classify(&self.base.pool(x)?, train)?;
        let k = scores.size()[1];
        scores
            .f_view([-1, num_segs, k])
            .and_then(|s| s.f_mean_dim(1, false, Kind::Float))
            .map_err(|source| ModelError::Torch { module: "cls_head".into(), source })
    }

    fn base(&self) -> &BaseHead {
        &self.base
    }
}

impl Component<HeadKind> for MeanScoreHead {
    type Config = MeanScoreHeadConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn HeadSpec>, BoxError> {
        let loss = kinema_core::ComponentSpec::new(serde_json::json!({"type": "CrossEntropyLoss"}));
        let parts = HeadParts::new(
            c.num_classes,
            c.in_channels,
            &loss,
            Some("avg"),
            &ConsensusCfg::default(),
            false,
            0.0,
            &TopK::One(1),
            Some("prob"),
            0.0,
            c.init_std,
        )?;
        Ok(Box::new(Spec(parts)))
    }
}

register!(HeadKind, "MeanScoreHead", MeanScoreHead);
