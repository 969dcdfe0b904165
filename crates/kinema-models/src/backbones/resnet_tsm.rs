//! `type = "ResNetTSM"`: MMAction2's TSM backbone, a [`ResNet`] whose blocks shift a
//! fraction of their channels one frame forward and one backward in time (see
//! [`TemporalShift`](super::temporal_shift::TemporalShift)). Shifted convolutions get
//! MMAction2's wrapped names (`layer1.0.conv1.conv.net.weight`).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use tch::nn;

use super::resnet::{resnet_config, PretrainedLayout, ResNet};
use super::temporal_shift::{ShiftPlace, TemporalLayout};
use super::{Backbone, BackboneKind, BackboneSpec};
use crate::recognizer::ModelError;

resnet_config! {
    /// MMAction2's `ResNetTSM` arguments: every `ResNet` key plus the temporal ones.
    pub struct ResNetTsmConfig {
        /// Frames per clip T: consecutive images of the batch in groups of T are one clip.
        #[serde(default = "eight")]
        pub num_segments: i64,
        /// Shift channels in time (false: a plain ResNet with TSM's names).
        #[serde(default = "crate::backbones::resnet::config::yes")]
        pub is_shift: bool,
        /// Non-local blocks per stage: only zeros (none).
        #[serde(default = "no_non_local")]
        pub non_local: Vec<serde_json::Value>,
        /// Non-local block settings: only an empty table.
        #[serde(default)]
        pub non_local_cfg: serde_json::Map<String, serde_json::Value>,
        /// `C / shift_div` channels shift each way.
        #[serde(default = "eight")]
        pub shift_div: i64,
        /// "blockres" (before each residual branch's first convolution) or "block"
        /// (before each whole block).
        #[serde(default = "blockres")]
        pub shift_place: String,
        /// Max-pool time by 2 before `layer2`.
        #[serde(default)]
        pub temporal_pool: bool,
        /// `pretrained` is a 2-d torchvision ResNet (MMAction2's `load_original_weights`
        /// renaming); false: a state dict in this backbone's own names.
        #[serde(default = "crate::backbones::resnet::config::yes")]
        pub pretrained2d: bool,
    }
}

fn eight() -> i64 {
    8
}
fn blockres() -> String {
    "blockres".into()
}
fn no_non_local() -> Vec<serde_json::Value> {
    vec![0.into(); 4]
}

/// True when `v` holds a non-zero number anywhere.
fn any_nonzero(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Array(items) => items.iter().any(any_nonzero),
        serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
        serde_json::Value::Bool(b) => *b,
        _ => true,
    }
}

impl ResNetTsmConfig {
    /// The temporal layout, after checking the TSM keys.
    pub fn temporal_layout(&self) -> Result<TemporalLayout, ModelError> {
        if self.num_segments < 1 {
            return Err(ModelError::config("num_segments", format!("expected at least 1, got {}", self.num_segments)));
        }
        if self.temporal_pool && (self.num_segments < 2 || self.num_segments % 2 != 0) {
            return Err(ModelError::config(
                "num_segments",
                format!("temporal_pool halves the frames: expected an even num_segments, got {}", self.num_segments),
            ));
        }
        if self.shift_div < 1 {
            return Err(ModelError::config("shift_div", format!("expected at least 1, got {}", self.shift_div)));
        }
        let place = match self.shift_place.as_str() {
            "blockres" => ShiftPlace::BlockRes,
            "block" => ShiftPlace::Block,
            other => {
                return Err(ModelError::config(
                    "shift_place",
                    format!("expected \"blockres\" or \"block\", got \"{other}\""),
                ))
            }
        };
        if self.non_local.iter().any(any_nonzero) || !self.non_local_cfg.is_empty() {
            return Err(ModelError::config("non_local", "non-local blocks are not available in Kinema's ResNetTSM"));
        }
        Ok(TemporalLayout {
            num_segments: self.num_segments,
            shift: self.is_shift.then_some((place, self.shift_div)),
            temporal_pool: self.temporal_pool,
        })
    }
}

/// The registry entry of `ResNetTSM` (builds a [`ResNet`] with a temporal layout).
pub struct ResNetTsm;

impl BackboneSpec for ResNetTsmConfig {
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Backbone>, ModelError> {
        let layout = self.temporal_layout()?;
        let mut net = ResNet::new(p, &self.resnet(), Some(&layout))?;
        net.set_pretrained_layout(PretrainedLayout {
            torchvision: self.pretrained2d,
            copy_counters: !self.pretrained2d,
        });
        Ok(Box::new(net))
    }
    fn num_segments(&self) -> Option<i64> {
        Some(self.num_segments)
    }
}

impl Component<BackboneKind> for ResNetTsm {
    type Config = ResNetTsmConfig;
    fn build(config: &ResNetTsmConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn BackboneSpec>, BoxError> {
        config.resnet().arch()?;
        config.temporal_layout()?;
        Ok(Box::new(config.clone()))
    }
}

register!(BackboneKind, "ResNetTSM", ResNetTsm);
