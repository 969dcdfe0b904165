//! Data preprocessors (MMAction2's `data_preprocessor` kind): raw collated frames to
//! the normalised float tensor a model consumes.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component, Kind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{Kind as DType, Tensor};

use crate::recognizer::{ModelContext, ModelError};

/// The registry kind of data preprocessors.
pub struct DataPreprocessorKind;

impl Kind for DataPreprocessorKind {
    const NAME: &'static str = "data_preprocessor";
    type Context = ModelContext;
    type Output = dyn DataPreprocessor;
}

/// Turns a collated batch of frames into model input.
pub trait DataPreprocessor: Send + std::fmt::Debug {
    /// `inputs` (any numeric dtype, on the model's device) -> normalised fp32, same shape.
    fn process(&self, inputs: &Tensor) -> Result<Tensor, ModelError>;
}

/// The memory layout of the frames (`FormatShape`'s output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum FormatShape {
    /// `[B, N, 3, H, W]` (2D recognizers).
    #[serde(rename = "NCHW")]
    #[default]
    Nchw,
    /// `[B, V, 3, T, H, W]` (3D recognizers).
    #[serde(rename = "NCTHW")]
    Ncthw,
}

/// MMAction2's `ActionDataPreprocessor`: frames to fp32, optionally BGR -> RGB, then
/// `(x - mean) / std` per channel when `mean` and `std` are given (MMAction2's defaults
/// give neither: no normalisation).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionDataPreprocessorConfig {
    /// Per-channel mean subtracted (in the input's 0-255 scale); none: no normalisation.
    #[serde(default)]
    pub mean: Option<Vec<f64>>,
    /// Per-channel standard deviation divided by (given with `mean`).
    #[serde(default)]
    pub std: Option<Vec<f64>>,
    /// Layout of the frames: "NCHW" (`[B, N, C, H, W]`) or "NCTHW" (`[B, V, C, T, H, W]`).
    #[serde(default)]
    pub format_shape: FormatShape,
    /// Reverse the channel order before normalising (BGR input).
    #[serde(default)]
    pub to_rgb: bool,
    /// Accepted for MMAction2 configs: inputs always become fp32.
    #[serde(default = "yes")]
    pub to_float32: bool,
}

fn yes() -> bool {
    true
}

/// The built [`ActionDataPreprocessorConfig`].
#[derive(Debug)]
pub struct ActionDataPreprocessor {
    /// `(mean, std)` shaped to broadcast over the channel dimension; none: no normalisation.
    normalize: Option<(Tensor, Tensor)>,
    channels: Option<i64>,
    format: FormatShape,
    to_rgb: bool,
}

impl ActionDataPreprocessor {
    /// Builds the preprocessor on `device`.
    pub fn new(config: &ActionDataPreprocessorConfig, device: tch::Device) -> Result<Self, ModelError> {
        let normalize = match (&config.mean, &config.std) {
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(ModelError::config("data_preprocessor", "give both `mean` and `std`, or neither"))
            }
            (Some(mean), Some(std)) => {
                let c = mean.len();
                if c == 0 || std.len() != c {
                    return Err(ModelError::config(
                        "data_preprocessor.std",
                        format!("`mean` ({c} values) and `std` ({} values) must have one value per channel", std.len()),
                    ));
                }
                if let Some(s) = std.iter().find(|s| **s == 0.0 || !s.is_finite()) {
                    return Err(ModelError::config(
                        "data_preprocessor.std",
                        format!("must be finite and non-zero, found {s}"),
                    ));
                }
                let shape: Vec<i64> = match config.format_shape {
                    FormatShape::Nchw => vec![c as i64, 1, 1],
                    FormatShape::Ncthw => vec![c as i64, 1, 1, 1],
                };
                let err = |source| ModelError::Torch { module: "data_preprocessor".into(), source };
                let tensor = |values: &[f64]| {
                    Tensor::f_from_slice(values)
                        .and_then(|t| t.f_to_kind(DType::Float))
                        .and_then(|t| t.f_view(shape.as_slice()))
                        .and_then(|t| t.f_to_device(device))
                        .map_err(err)
                };
                Some((tensor(mean)?, tensor(std)?))
            }
        };
        let channels = config.mean.as_ref().map(|m| m.len() as i64);
        Ok(ActionDataPreprocessor { normalize, channels, format: config.format_shape, to_rgb: config.to_rgb })
    }
}

impl DataPreprocessor for ActionDataPreprocessor {
    fn process(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        let err = |source| ModelError::Torch { module: "data_preprocessor".into(), source };
        let size = inputs.size();
        let channel_dim = match (self.format, size.len()) {
            (FormatShape::Nchw, 5) => 2,
            (FormatShape::Ncthw, 6) => 2,
            _ => {
                let expected = match self.format {
                    FormatShape::Nchw => "[B, N, C, H, W]",
                    FormatShape::Ncthw => "[B, V, C, T, H, W]",
                };
                return Err(ModelError::Input {
                    module: "data_preprocessor".into(),
                    message: format!("expected {expected} frames, got {size:?}"),
                });
            }
        };
        if let Some(c) = self.channels.filter(|c| size[channel_dim] != *c) {
            return Err(ModelError::Input {
                module: "data_preprocessor".into(),
                message: format!("expected {c} channels at dimension {channel_dim}, got {size:?}"),
            });
        }
        let mut x = inputs.f_to_kind(DType::Float).map_err(err)?;
        if self.to_rgb {
            x = x.f_flip([channel_dim as i64]).map_err(err)?;
        }
        match &self.normalize {
            Some((mean, std)) => x.f_sub(mean).and_then(|x| x.f_div(std)).map_err(err),
            None => Ok(x),
        }
    }
}

impl Component<DataPreprocessorKind> for ActionDataPreprocessor {
    type Config = ActionDataPreprocessorConfig;
    fn build(
        config: &Self::Config,
        ctx: &ModelContext,
        _site: &BuildSite<'_>,
    ) -> Result<Box<dyn DataPreprocessor>, BoxError> {
        Ok(Box::new(ActionDataPreprocessor::new(config, ctx.device)?))
    }
}

register!(DataPreprocessorKind, "ActionDataPreprocessor", ActionDataPreprocessor);
