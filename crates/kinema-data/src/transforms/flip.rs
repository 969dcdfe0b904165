//! `Flip`: mirror all frames of a sample with a probability.

use std::collections::BTreeMap;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::reject_lazy;
use crate::error::TransformError;
use crate::imgproc::ops;
use crate::sample::{FlipDirection, Label, Modality, Sample};
use crate::transform::{Transform, TransformKind};

/// Flips every frame with probability `flip_ratio` (MMAction2 `Flip`): `rand() <
/// flip_ratio` decides for the whole sample. Flow samples also invert their x-flow
/// images. Sets `flip` and `flip_direction`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlipConfig {
    /// Probability of flipping.
    #[serde(default = "half")]
    pub flip_ratio: f64,
    /// `horizontal` or `vertical`.
    #[serde(default)]
    pub direction: FlipDirection,
    /// Label replacements applied when flipping (`{"3" = 4}`: class 3 becomes 4).
    #[serde(default)]
    pub flip_label_map: Option<BTreeMap<String, i64>>,
    /// Keypoint pairs (keypoints are not supported; must be absent).
    #[serde(default)]
    pub left_kp: Option<Vec<i64>>,
    /// Keypoint pairs (keypoints are not supported; must be absent).
    #[serde(default)]
    pub right_kp: Option<Vec<i64>>,
    /// Not supported; must be false.
    #[serde(default)]
    pub lazy: bool,
}

fn half() -> f64 {
    0.5
}

/// The built transform.
pub struct Flip {
    ratio: f64,
    direction: FlipDirection,
    label_map: BTreeMap<i64, i64>,
}

impl Component<TransformKind> for Flip {
    type Config = FlipConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        reject_lazy(c.lazy)?;
        if c.left_kp.is_some() || c.right_kp.is_some() {
            return Err("left_kp / right_kp need keypoints, which Kinema does not support".into());
        }
        if !(0.0..=1.0).contains(&c.flip_ratio) {
            return Err(format!("flip_ratio {} must be in [0, 1]", c.flip_ratio).into());
        }
        let mut label_map = BTreeMap::new();
        for (k, v) in c.flip_label_map.iter().flatten() {
            let key: i64 =
                k.trim().parse().map_err(|_| format!("flip_label_map key \"{k}\" is not an integer class"))?;
            label_map.insert(key, *v);
        }
        Ok(Box::new(Flip { ratio: c.flip_ratio, direction: c.direction, label_map }))
    }
}
kinema_core::register!(TransformKind, "Flip", Flip);

impl Transform for Flip {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        if s.modality == Modality::Flow && self.direction != FlipDirection::Horizontal {
            return Err(TransformError::Invalid("Flow samples can only be flipped horizontally".into()));
        }
        let flip = rng.random::<f64>() < self.ratio;
        s.flip = Some(flip);
        s.flip_direction = Some(self.direction);
        if !flip {
            return Ok(());
        }
        if let Label::Index(l) = &mut s.label {
            if let Some(&to) = self.label_map.get(l) {
                *l = to;
            }
        }
        if let Some(frames) = &mut s.imgs {
            ops::flip(frames, self.direction);
            if s.modality == Modality::Flow {
                ops::invert_even_frames(frames);
            }
        }
        Ok(())
    }
}
