//! MMAction2's `BaseHead`: the classifier `fc_cls`, the loss (with `label_smooth_eps`
//! and the logged top-k accuracies) and `average_clip`; plus the config keys every head
//! shares.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::layers::init::{self, normal_};
use crate::losses::ClassificationLoss;
use crate::recognizer::{LossOutput, ModelError};

/// `topk`: one k or several.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TopK {
    /// One k.
    One(usize),
    /// Several.
    Many(Vec<usize>),
}

impl TopK {
    /// The ks.
    pub fn values(&self) -> Vec<usize> {
        match self {
            TopK::One(k) => vec![*k],
            TopK::Many(ks) => ks.clone(),
        }
    }
}

/// `consensus`: MMAction2's `AvgConsensus` over the segment dimension.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsensusCfg {
    /// "AvgConsensus".
    #[serde(rename = "type")]
    pub kind: String,
    /// The dimension averaged: 1 (segments).
    #[serde(default = "one")]
    pub dim: i64,
}

fn one() -> i64 {
    1
}

impl Default for ConsensusCfg {
    fn default() -> Self {
        ConsensusCfg { kind: "AvgConsensus".into(), dim: 1 }
    }
}

/// How the views of one test sample are combined (`average_clips`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Averaging {
    /// Softmax per view, then the mean (`"prob"`).
    Prob,
    /// The mean of the raw scores (`"score"`).
    Score,
    /// Raw scores (no key): only for one row per sample.
    None,
}

/// Defines a head config with the keys of every MMAction2 head plus the given ones, and
/// its `parts()` view.
macro_rules! head_config {
    ($(#[$meta:meta])* pub struct $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Number of classes K.
            pub num_classes: i64,
            /// Channels of the backbone's features.
            pub in_channels: i64,
            /// The loss (default: `CrossEntropyLoss`).
            #[serde(default = "crate::heads::base::default_loss")]
            pub loss_cls: kinema_core::ComponentSpec<crate::losses::LossKind>,
            /// "avg": global average pooling of the feature maps; none: the features are used
            /// as they are (flattened).
            #[serde(default = "crate::heads::base::avg")]
            pub spatial_type: Option<String>,
            /// Averaging over segments: `{type = "AvgConsensus", dim = 1}`.
            #[serde(default)]
            pub consensus: crate::heads::ConsensusCfg,
            /// Multi-label classification: not available (false).
            #[serde(default)]
            pub multi_class: bool,
            /// Label smoothing: targets become `(1 - eps) * one_hot + eps / K`.
            #[serde(default)]
            pub label_smooth_eps: f64,
            /// The top-k accuracies logged with the loss.
            #[serde(default = "crate::heads::base::default_topk")]
            pub topk: crate::heads::TopK,
            /// Combining the views of a test sample: "prob" (mean of softmaxes), "score"
            /// (mean of scores); none: raw scores (one view per sample only).
            #[serde(default)]
            pub average_clips: Option<String>,
            $($extra)*
        }

        impl $name {
            /// The shared keys, checked.
            pub fn parts(&self) -> Result<crate::heads::base::HeadParts, kinema_core::registry::BoxError> {
                crate::heads::base::HeadParts::new(
                    self.num_classes,
                    self.in_channels,
                    &self.loss_cls,
                    self.spatial_type.as_deref(),
                    &self.consensus,
                    self.multi_class,
                    self.label_smooth_eps,
                    &self.topk,
                    self.average_clips.as_deref(),
                    self.dropout_ratio,
                    self.init_std,
                )
            }
        }
    };
}
pub(crate) use head_config;

pub(crate) fn default_loss() -> kinema_core::ComponentSpec<crate::losses::LossKind> {
    kinema_core::ComponentSpec::new(serde_json::json!({"type": "CrossEntropyLoss"}))
}
pub(crate) fn avg() -> Option<String> {
    Some("avg".into())
}
pub(crate) fn default_topk() -> TopK {
    TopK::Many(vec![1, 5])
}

/// The checked shared keys of a head config, with its loss built.
#[derive(Debug, Clone)]
pub struct HeadParts {
    num_classes: i64,
    in_channels: i64,
    loss: Arc<dyn ClassificationLoss>,
    pool: bool,
    label_smooth_eps: f64,
    topk: Vec<usize>,
    averaging: Averaging,
    dropout: f64,
    init_std: f64,
}

impl HeadParts {
    /// Checks the shared keys and builds the loss: MMAction2's `BaseHead` arguments plus
    /// `spatial_type`, `consensus`, `dropout_ratio` and `init_std`, one per config key.
    /// Heads defined outside this crate call it from their own config.
    #[allow(clippy::too_many_arguments)] // one per shared config key
    pub fn new(
        num_classes: i64,
        in_channels: i64,
        loss_cls: &kinema_core::ComponentSpec<crate::losses::LossKind>,
        spatial_type: Option<&str>,
        consensus: &ConsensusCfg,
        multi_class: bool,
        label_smooth_eps: f64,
        topk: &TopK,
        average_clips: Option<&str>,
        dropout: f64,
        init_std: f64,
    ) -> Result<Self, kinema_core::registry::BoxError> {
        let bad = |key: &str, message: String| Box::new(ModelError::config(key, message));
        if num_classes < 1 || in_channels < 1 {
            return Err(bad(
                "num_classes",
                format!("expected positive num_classes and in_channels, got {num_classes} and {in_channels}"),
            ));
        }
        let pool = match spatial_type {
            Some("avg") => true,
            None => false,
            Some(other) => return Err(bad("spatial_type", format!("expected \"avg\" or no key, got \"{other}\""))),
        };
        if consensus.kind != "AvgConsensus" || consensus.dim != 1 {
            return Err(bad("consensus", format!("expected {{type = \"AvgConsensus\", dim = 1}}, got {consensus:?}")));
        }
        if multi_class {
            return Err(bad("multi_class", "multi-label heads are not available; expected false".into()));
        }
        if !(0.0..1.0).contains(&label_smooth_eps) {
            return Err(bad("label_smooth_eps", format!("expected 0 <= eps < 1, got {label_smooth_eps}")));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(bad("dropout_ratio", format!("expected 0 <= p < 1, got {dropout}")));
        }
        let topk = topk.values();
        if topk.is_empty() || topk.contains(&0) {
            return Err(bad("topk", format!("expected positive ks, got {topk:?}")));
        }
        let averaging = match average_clips {
            Some("prob") => Averaging::Prob,
            Some("score") => Averaging::Score,
            None => Averaging::None,
            Some(other) => {
                return Err(bad("average_clips", format!("expected \"prob\", \"score\" or no key, got \"{other}\"")))
            }
        };
        let site = kinema_core::registry::BuildSite::detached(kinema_core::config::KeyPath::parse("loss_cls"));
        let loss = kinema_core::registry::build::<crate::losses::LossKind>(&loss_cls.value, &site, &())?;
        Ok(HeadParts {
            num_classes,
            in_channels,
            loss: Arc::from(loss.into_inner()),
            pool,
            label_smooth_eps,
            topk,
            averaging,
            dropout,
            init_std,
        })
    }
}

/// A built head's shared part.
#[derive(Debug)]
pub struct BaseHead {
    parts: HeadParts,
    /// `fc_cls.weight` [K, C].
    pub weight: Tensor,
    /// `fc_cls.bias` [K].
    pub bias: Tensor,
}

fn err(source: tch::TchError) -> ModelError {
    ModelError::Torch { module: "cls_head".into(), source }
}

impl BaseHead {
    /// Creates `fc_cls` under `p`: weight from N(0, `init_std`), bias 0 (`normal_init`).
    pub fn new(p: &nn::Path<'_>, parts: HeadParts) -> Result<Self, ModelError> {
        let fc = p / "fc_cls";
        let init = |e| ModelError::part("cls_head", e);
        let weight =
            init::var(&fc, "weight", &[parts.num_classes, parts.in_channels], nn::Init::Const(0.0)).map_err(init)?;
        normal_(&weight, 0.0, parts.init_std).map_err(err)?;
        let bias = init::var(&fc, "bias", &[parts.num_classes], nn::Init::Const(0.0)).map_err(init)?;
        Ok(BaseHead { parts, weight, bias })
    }

    /// Global average pooling (when `spatial_type = "avg"`): [N, C, H, W] -> [N, C, 1, 1].
    pub fn pool(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        if self.parts.pool {
            x.f_adaptive_avg_pool2d([1, 1]).map_err(err)
        } else {
            Ok(x.shallow_clone())
        }
    }

    /// Dropout (training only), then `fc_cls` on the flattened features [N, ...].
    pub fn classify(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let x = if self.parts.dropout > 0.0 {
            x.f_dropout(self.parts.dropout, train).map_err(err)?
        } else {
            x.shallow_clone()
        };
        let x = x.f_flatten(1, -1).map_err(err)?;
        if x.size()[1] != self.parts.in_channels {
            return Err(ModelError::Input {
                module: "cls_head".into(),
                message: format!(
                    "in_channels is {} but its input has {} features per sample (set model.cls_head.in_channels = {})",
                    self.parts.in_channels,
                    x.size()[1],
                    x.size()[1]
                ),
            });
        }
        x.f_linear(&self.weight, Some(&self.bias)).map_err(err)
    }

    /// MMAction2's `loss_by_feat`.
    pub fn loss(&self, scores: &Tensor, labels: &Tensor) -> Result<LossOutput, ModelError> {
        let b = scores.size()[0];
        if labels.size() != [b] {
            return Err(ModelError::Input {
                module: "cls_head".into(),
                message: format!("expected {b} labels for {b} score rows, got {:?}", labels.size()),
            });
        }
        let min_label = if b > 0 { labels.f_min().map_err(err)?.int64_value(&[]) } else { 0 };
        if min_label < 0 {
            return Err(ModelError::Input {
                module: "cls_head".into(),
                message: "training needs a class label for every sample (got -1: unknown)".into(),
            });
        }
        let mut out = LossOutput::new();
        let k_classes = self.parts.num_classes;
        for &k in &self.parts.topk {
            let k_eff = (k as i64).min(k_classes);
            let (_, top) = scores.detach().f_topk(k_eff, 1, true, true).map_err(err)?;
            let hit =
                top.f_eq_tensor(&labels.f_unsqueeze(1).map_err(err)?).map_err(err)?.f_any_dim(1, false).map_err(err)?;
            out.push((
                format!("top{k}_acc"),
                hit.f_to_kind(Kind::Double).map_err(err)?.f_mean(Kind::Double).map_err(err)?,
            ));
        }
        let loss = if self.parts.label_smooth_eps != 0.0 {
            let eps = self.parts.label_smooth_eps;
            let one_hot = labels.f_one_hot(k_classes).map_err(err)?.f_to_kind(Kind::Float).map_err(err)?;
            let soft =
                one_hot.f_mul_scalar(1.0 - eps).map_err(err)?.f_add_scalar(eps / k_classes as f64).map_err(err)?;
            self.parts.loss.forward(scores, &soft)?
        } else {
            self.parts.loss.forward(scores, labels)?
        };
        out.insert(0, ("loss_cls".into(), loss));
        Ok(out)
    }

    /// MMAction2's `predict_by_feat` + `average_clip`: the rows of each of `batch_size`
    /// samples combined -> [batch_size, K].
    pub fn predict(&self, scores: &Tensor, batch_size: i64) -> Result<Tensor, ModelError> {
        let rows = scores.size()[0];
        if batch_size < 1 || rows % batch_size != 0 {
            return Err(ModelError::Input {
                module: "cls_head".into(),
                message: format!("{rows} score rows do not split into {batch_size} samples"),
            });
        }
        let views = rows / batch_size;
        let grouped = scores.f_view([batch_size, views, -1]).map_err(err)?;
        match self.parts.averaging {
            Averaging::Prob => {
                grouped.f_softmax(2, Kind::Float).map_err(err)?.f_mean_dim(1, false, Kind::Float).map_err(err)
            }
            Averaging::Score => grouped.f_mean_dim(1, false, Kind::Float).map_err(err),
            Averaging::None if views == 1 => grouped.f_squeeze_dim(1).map_err(err),
            Averaging::None => Err(ModelError::config(
                "cls_head.average_clips",
                format!("each sample has {views} score rows; set \"prob\" or \"score\" to combine them"),
            )),
        }
    }
}
