//! The original ActionCLIP's `meanP` fusion: the mean of the frame features, no
//! parameters (the variant X-CLIP's zero-shot table uses).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use super::{check_input, torch_err, AdapterDims, AdapterKind, AdapterSpec, TemporalAdapter};

/// `meanP`: video feature = mean over frames. Works with any frame count.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeanPoolConfig {}

/// The mean-pooling adapter (also its own spec: it has nothing to create).
#[derive(Debug, Clone, Copy)]
pub struct MeanPoolAdapter {
    embed_dim: i64,
}

impl AdapterSpec for MeanPoolAdapter {
    fn name(&self) -> &'static str {
        "meanP"
    }
    fn instantiate(&self, _p: &nn::Path<'_>, dims: &AdapterDims) -> Result<Box<dyn TemporalAdapter>, ModelError> {
        Ok(Box::new(MeanPoolAdapter { embed_dim: dims.embed_dim }))
    }
    fn with_layers(&self, _layers: i64) -> Box<dyn AdapterSpec> {
        Box::new(*self)
    }
}

impl TemporalAdapter for MeanPoolAdapter {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor, ModelError> {
        check_input(x, self.embed_dim, None)?;
        x.f_mean_dim(1, false, Kind::Float).and_then(|m| m.f_to_kind(x.kind())).map_err(torch_err)
    }
    fn required_segs(&self) -> Option<i64> {
        None
    }
}

impl Component<AdapterKind> for MeanPoolAdapter {
    type Config = MeanPoolConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn AdapterSpec>, BoxError> {
        Ok(Box::new(MeanPoolAdapter { embed_dim: 0 }))
    }
}
