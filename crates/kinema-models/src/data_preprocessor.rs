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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum FormatShape {
    /// `[B, N, 3, H, W]` (2D recognizers such as ActionCLIP).
    #[serde(rename = "NCHW")]
    Nchw,
    /// `[B, V, 3, T, H, W]` (3D recognizers).
    #[serde(rename = "NCTHW")]
    Ncthw,
}

/// MMAction2's `ActionDataPreprocessor`: `(x - mean) / std` per channel in fp32
/// (optionally swapping BGR to RGB first).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionDataPreprocessorConfig {
    /// Per-channel mean subtracted (in the input's 0-255 scale).
    #[serde(default = "default_mean")]
    pub mean: Vec<f64>,
    /// Per-channel standard deviation divided by.
    #[serde(default = "default_std")]
    pub std: Vec<f64>,
    /// Layout of the frames: "NCHW" (`[B, N, C, H, W]`) or "NCTHW" (`[B, V, C, T, H, W]`).
    #[serde(default = "default_format")]
    pub format_shape: FormatShape,
    /// Reverse the channel order before normalising (BGR input).
    #[serde(default)]
    pub to_rgb: bool,
}

fn default_mean() -> Vec<f64> {
    vec![122.771, 116.746, 104.093]
}
fn default_std() -> Vec<f64> {
    vec![68.500, 66.632, 70.323]
}
fn default_format() -> FormatShape {
    FormatShape::Nchw
}

impl Default for ActionDataPreprocessorConfig {
    fn default() -> Self {
        ActionDataPreprocessorConfig {
            mean: default_mean(),
            std: default_std(),
            format_shape: default_format(),
            to_rgb: false,
        }
    }
}

/// The built [`ActionDataPreprocessorConfig`].
#[derive(Debug)]
pub struct ActionDataPreprocessor {
    mean: Tensor,
    std: Tensor,
    format: FormatShape,
    to_rgb: bool,
}

impl ActionDataPreprocessor {
    /// Builds the preprocessor on `device`.
    pub fn new(config: &ActionDataPreprocessorConfig, device: tch::Device) -> Result<Self, ModelError> {
        let c = config.mean.len();
        if c == 0 || config.std.len() != c {
            return Err(ModelError::Other(format!(
                "data_preprocessor: `mean` ({} values) and `std` ({} values) must have one value per channel",
                config.mean.len(),
                config.std.len()
            )));
        }
        if let Some(s) = config.std.iter().find(|s| **s == 0.0 || !s.is_finite()) {
            return Err(ModelError::Other(format!("data_preprocessor: `std` must be finite and non-zero, found {s}")));
        }
        let shape: Vec<i64> = match config.format_shape {
            FormatShape::Nchw => vec![c as i64, 1, 1],
            FormatShape::Ncthw => vec![c as i64, 1, 1, 1],
        };
        let err = |source| ModelError::Torch { module: "data_preprocessor".into(), source };
        let mean = Tensor::f_from_slice(&config.mean)
            .and_then(|t| t.f_to_kind(DType::Float))
            .and_then(|t| t.f_view(shape.as_slice()))
            .and_then(|t| t.f_to_device(device))
            .map_err(err)?;
        let std = Tensor::f_from_slice(&config.std)
            .and_then(|t| t.f_to_kind(DType::Float))
            .and_then(|t| t.f_view(shape.as_slice()))
            .and_then(|t| t.f_to_device(device))
            .map_err(err)?;
        Ok(ActionDataPreprocessor { mean, std, format: config.format_shape, to_rgb: config.to_rgb })
    }
}

impl DataPreprocessor for ActionDataPreprocessor {
    fn process(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        let err = |source| ModelError::Torch { module: "data_preprocessor".into(), source };
        let size = inputs.size();
        let c = self.mean.size()[0];
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
        if size[channel_dim] != c {
            return Err(ModelError::Input {
                module: "data_preprocessor".into(),
                message: format!("expected {c} channels at dimension {channel_dim}, got {size:?}"),
            });
        }
        let mut x = inputs.f_to_kind(DType::Float).map_err(err)?;
        if self.to_rgb {
            x = x.f_flip([channel_dim as i64]).map_err(err)?;
        }
        x.f_sub(&self.mean).and_then(|x| x.f_div(&self.std)).map_err(err)
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
