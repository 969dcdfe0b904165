//! `FormatShape` (NHWC frames to the network layout) and `PackActionInputs`.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::TransformError;
use crate::imgproc::ops;
use crate::sample::{InputFormat, Modality, Sample, U8Array};
use crate::transform::{Transform, TransformKind};

/// Reorders the frames into the network layout (MMAction2 `FormatShape`): `NCHW` gives
/// `[M, C, H, W]` (Flow: `[M / clip_len, clip_len * C, H, W]`), `NCTHW` gives
/// `[crops * clips, C, clip_len, H, W]`. Sets `inputs`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatShapeConfig {
    /// `NCHW` or `NCTHW`.
    pub input_format: String,
    /// Drop the leading axis when it is 1 (needs `num_clips == 1`).
    #[serde(default)]
    pub collapse: bool,
}

/// The built `FormatShape`.
pub struct FormatShape {
    format: InputFormat,
    collapse: bool,
}

impl FormatShape {
    /// A formatter to `format`.
    pub fn new(format: InputFormat, collapse: bool) -> Self {
        FormatShape { format, collapse }
    }
}

impl Component<TransformKind> for FormatShape {
    type Config = FormatShapeConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        let format = match c.input_format.as_str() {
            "NCHW" => InputFormat::Nchw,
            "NCTHW" => InputFormat::Ncthw,
            "NCTHW_Heatmap" | "NPTCHW" => {
                return Err(format!(
                    "input_format \"{}\" (pose/proposal data) is not supported; use NCHW or NCTHW",
                    c.input_format
                )
                .into())
            }
            other => return Err(format!("input_format \"{other}\" is invalid; expected NCHW or NCTHW").into()),
        };
        Ok(Box::new(FormatShape { format, collapse: c.collapse }))
    }
}
kinema_core::register!(TransformKind, "FormatShape", FormatShape);

impl Transform for FormatShape {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let frames = s.imgs.take().ok_or(TransformError::Missing("imgs"))?;
        let (m, h, w, c) = (frames.count, frames.height, frames.width, frames.channels);
        if self.collapse && s.num_clips != Some(1) {
            s.imgs = Some(frames);
            return Err(TransformError::Invalid("collapse = true needs num_clips == 1".into()));
        }
        let (data, mut shape) = match self.format {
            InputFormat::Nchw => {
                let data = ops::nhwc_to_nchw(&frames);
                if s.modality == Modality::Flow {
                    let t = s.clip_len.ok_or(TransformError::Missing("clip_len"))?;
                    if t == 0 || m % t != 0 {
                        return Err(TransformError::Invalid(format!("{m} flow frames do not split into clips of {t}")));
                    }
                    (data, vec![m / t, t * c, h, w])
                } else {
                    (data, vec![m, c, h, w])
                }
            }
            InputFormat::Ncthw => {
                let clips = s.num_clips.ok_or(TransformError::Missing("num_clips"))?;
                let t = s.clip_len.ok_or(TransformError::Missing("clip_len"))?;
                if clips * t == 0 || m % (clips * t) != 0 {
                    return Err(TransformError::Invalid(format!(
                        "{m} frames do not split into {clips} clips of {t} frames"
                    )));
                }
                (ops::nhwc_to_ncthw(&frames, t), vec![m / t, c, t, h, w])
            }
        };
        if self.collapse {
            if shape[0] != 1 {
                return Err(TransformError::Invalid(format!("collapse = true but the leading axis is {}", shape[0])));
            }
            shape.remove(0);
        }
        s.input_format = Some(self.format);
        s.inputs = Some(U8Array { data, shape });
        Ok(())
    }
}

/// Marks the sample as packed for the model (MMAction2 `PackActionInputs`): `inputs`
/// (from FormatShape, or the NHWC frames when there is none), the label, and the
/// `meta_keys` to keep as meta information.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackActionInputsConfig {
    /// Keys to collect into `inputs` instead of the images (not supported; must be absent).
    #[serde(default)]
    pub collect_keys: Option<Vec<String>>,
    /// Sample fields kept in each sample's meta information.
    #[serde(default = "default_meta_keys")]
    pub meta_keys: Vec<String>,
    /// Extra fields for the algorithm (not supported; must be empty).
    #[serde(default)]
    pub algorithm_keys: Vec<String>,
}

fn default_meta_keys() -> Vec<String> {
    ["img_shape", "img_key", "video_id", "timestamp"].map(String::from).to_vec()
}

/// The built `PackActionInputs`.
pub struct PackActionInputs {
    meta_keys: Vec<String>,
}

impl PackActionInputs {
    /// A packer keeping MMAction2's default meta keys.
    pub fn with_defaults() -> Self {
        PackActionInputs { meta_keys: default_meta_keys() }
    }
}

impl Component<TransformKind> for PackActionInputs {
    type Config = PackActionInputsConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        if c.collect_keys.is_some() {
            return Err("collect_keys is not supported; the frames are always the inputs".into());
        }
        if !c.algorithm_keys.is_empty() {
            return Err("algorithm_keys is not supported".into());
        }
        Ok(Box::new(PackActionInputs { meta_keys: c.meta_keys.clone() }))
    }
}
kinema_core::register!(TransformKind, "PackActionInputs", PackActionInputs);

impl Transform for PackActionInputs {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        if s.inputs.is_none() {
            let frames = s.imgs.take().ok_or(TransformError::Missing("imgs"))?;
            let shape = frames.shape().to_vec();
            s.inputs = Some(U8Array { data: frames.data, shape });
        }
        s.meta_keys = self.meta_keys.clone();
        s.packed = true;
        Ok(())
    }
}
