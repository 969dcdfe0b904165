//! `InvertColors`: a transform that replaces every pixel value v by 255 - v.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::{register, Component};
use kinema_data::{Sample, Transform, TransformError, TransformKind};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Inverts the colours of every frame, with probability `prob`.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvertColorsConfig {
    /// Probability of inverting a sample (drawn from the sample's own RNG).
    #[serde(default = "one")]
    pub prob: f64,
}

fn one() -> f64 {
    1.0
}

/// The transform.
pub struct InvertColors {
    prob: f64,
}

impl Component<TransformKind> for InvertColors {
    type Config = InvertColorsConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        if !(0.0..=1.0).contains(&config.prob) {
            return Err(format!("prob must be in [0, 1], got {}", config.prob).into());
        }
        Ok(Box::new(InvertColors { prob: config.prob }))
    }
}
register!(TransformKind, "InvertColors", InvertColors);

impl Transform for InvertColors {
    fn apply(&self, sample: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        if rng.random::<f64>() >= self.prob {
            return Ok(());
        }
        let frames = sample.imgs.as_mut().ok_or(TransformError::Missing("imgs"))?;
        frames.data.iter_mut().for_each(|v| *v = 255 - *v);
        Ok(())
    }
}
