//! `type = "TSNHead"`: pooled features averaged over the segments of each sample
//! (`AvgConsensus`), then dropout and `fc_cls`.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use tch::{nn, Kind, Tensor};

use super::base::{head_config, BaseHead, HeadParts};
use super::{Head, HeadKind, HeadSpec};
use crate::recognizer::ModelError;

head_config! {
    /// MMAction2's `TSNHead` arguments.
    pub struct TsnHeadConfig {
        /// Dropout before the classifier.
        #[serde(default = "dropout")]
        pub dropout_ratio: f64,
        /// Standard deviation of the classifier's initial weights.
        #[serde(default = "init_std")]
        pub init_std: f64,
    }
}

fn dropout() -> f64 {
    0.4
}
fn init_std() -> f64 {
    0.01
}

/// The built TSN head.
#[derive(Debug)]
pub struct TsnHead {
    base: BaseHead,
}

#[derive(Debug)]
struct TsnHeadSpec(HeadParts);

impl HeadSpec for TsnHeadSpec {
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Head>, ModelError> {
        Ok(Box::new(TsnHead { base: BaseHead::new(p, self.0.clone())? }))
    }
}

impl Head for TsnHead {
    fn forward(&self, x: &Tensor, num_segs: i64, train: bool) -> Result<Tensor, ModelError> {
        let err = |source| ModelError::Torch { module: "cls_head".into(), source };
        let pooled = self.base.pool(x)?;
        let mut shape = vec![-1, num_segs];
        shape.extend_from_slice(&pooled.size()[1..]);
        let grouped = pooled.f_reshape(&shape).map_err(err)?;
        let consensus = grouped.f_mean_dim(1, false, Kind::Float).map_err(err)?;
        self.base.classify(&consensus, train)
    }

    fn base(&self) -> &BaseHead {
        &self.base
    }
}

impl Component<HeadKind> for TsnHead {
    type Config = TsnHeadConfig;
    fn build(config: &TsnHeadConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn HeadSpec>, BoxError> {
        Ok(Box::new(TsnHeadSpec(config.parts()?)))
    }
}

register!(HeadKind, "TSNHead", TsnHead);
