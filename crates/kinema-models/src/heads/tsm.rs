//! `type = "TSMHead"`: pooled features of every frame through dropout and `fc_cls`, then
//! the scores averaged over the `num_segments` frames of each clip.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use tch::{nn, Kind, Tensor};

use super::base::{head_config, BaseHead, HeadParts};
use super::{Head, HeadKind, HeadSpec};
use crate::recognizer::ModelError;

head_config! {
    /// MMAction2's `TSMHead` arguments.
    pub struct TsmHeadConfig {
        /// Frames per clip T (the scores of T consecutive rows are averaged).
        #[serde(default = "eight")]
        pub num_segments: i64,
        /// Dropout before the classifier.
        #[serde(default = "dropout")]
        pub dropout_ratio: f64,
        /// Standard deviation of the classifier's initial weights.
        #[serde(default = "init_std")]
        pub init_std: f64,
        /// The backbone shifts (with `temporal_pool`, clips then have T / 2 frames).
        #[serde(default = "yes")]
        pub is_shift: bool,
        /// The backbone pools time by 2.
        #[serde(default)]
        pub temporal_pool: bool,
    }
}

fn eight() -> i64 {
    8
}
fn dropout() -> f64 {
    0.8
}
fn init_std() -> f64 {
    0.001
}
fn yes() -> bool {
    true
}

/// The built TSM head.
#[derive(Debug)]
pub struct TsmHead {
    base: BaseHead,
    /// Rows per clip after the backbone.
    frames: i64,
}

#[derive(Debug)]
struct TsmHeadSpec(HeadParts, i64);

impl HeadSpec for TsmHeadSpec {
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Head>, ModelError> {
        Ok(Box::new(TsmHead { base: BaseHead::new(p, self.0.clone())?, frames: self.1 }))
    }
}

impl Head for TsmHead {
    /// `num_segs` is not used: clips have `num_segments` frames, as in MMAction2.
    fn forward(&self, x: &Tensor, _num_segs: i64, train: bool) -> Result<Tensor, ModelError> {
        let err = |source| ModelError::Torch { module: "cls_head".into(), source };
        let rows = x.size().first().copied().unwrap_or(0);
        if rows % self.frames != 0 {
            return Err(ModelError::Input {
                module: "cls_head".into(),
                message: format!("{rows} frames do not split into clips of num_segments = {}", self.frames),
            });
        }
        let scores = self.base.classify(&self.base.pool(x)?, train)?;
        let per_clip = scores.f_view([-1, self.frames, scores.size()[1]]).map_err(err)?;
        per_clip.f_mean_dim(1, false, Kind::Float).map_err(err)
    }

    fn base(&self) -> &BaseHead {
        &self.base
    }
}

impl Component<HeadKind> for TsmHead {
    type Config = TsmHeadConfig;
    fn build(config: &TsmHeadConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn HeadSpec>, BoxError> {
        let frames =
            if config.is_shift && config.temporal_pool { config.num_segments / 2 } else { config.num_segments };
        if frames < 1 {
            return Err(Box::new(ModelError::config(
                "num_segments",
                format!("expected at least {}, got {}", if config.temporal_pool { 2 } else { 1 }, config.num_segments),
            )));
        }
        Ok(Box::new(TsmHeadSpec(config.parts()?, frames)))
    }
}

register!(HeadKind, "TSMHead", TsmHead);
