//! Backbones of 2D recognizers (the registry kind `backbone`): MMAction2's `ResNet` and
//! `ResNetTSM`.
//!
//! A backbone is built in two steps, like every sub-module here: the registry builds a
//! validated [`BackboneSpec`] from the config table, and the recognizer instantiates it
//! under its `backbone` path, so parameters get MMAction2's names
//! (`backbone.layer1.0.conv1.conv.weight`).

pub mod resnet;
pub mod resnet_tsm;
pub mod temporal_shift;

pub use resnet::{ResNet, ResNetConfig};
pub use resnet_tsm::{ResNetTsm, ResNetTsmConfig};
pub use temporal_shift::{ShiftPlace, TemporalLayout, TemporalShift};

use kinema_core::Kind;
use tch::{nn, Tensor};

use crate::recognizer::ModelError;

/// The registry kind of backbones (NAME `"backbone"`).
pub struct BackboneKind;

impl Kind for BackboneKind {
    const NAME: &'static str = "backbone";
    type Context = ();
    type Output = dyn BackboneSpec;
}

/// A validated backbone config, ready to create its parameters.
pub trait BackboneSpec: Send + Sync + std::fmt::Debug {
    /// Creates the parameters under `p` (initialised as MMAction2's `init_weights` does
    /// without pretrained weights).
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Backbone>, ModelError>;
    /// The frames per clip the backbone mixes (TSM's `num_segments`), if it has one.
    fn num_segments(&self) -> Option<i64> {
        None
    }
}

/// A built backbone.
pub trait Backbone: Send + std::fmt::Debug {
    /// `x` [N, 3, H, W] normalised images -> the feature maps of the configured stages
    /// (`out_indices`), in order. `train` switches batch norm and dropout to training.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>, ModelError>;
    /// Channels of the last feature map.
    fn out_channels(&self) -> i64;
    /// MMEngine's `init_weights` at train start: loads `pretrained` weights, when set,
    /// into the backbone's variables, which live in `vs` under `prefix` (`backbone`).
    fn init_weights(&self, vs: &nn::VarStore, prefix: &str) -> Result<(), ModelError>;
}
