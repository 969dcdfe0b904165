//! The original ActionCLIP's `Conv_1D` fusion: a depthwise temporal convolution
//! (`shift.weight` [D, 1, 3], no bias) initialised as a channel shift, a residual, the
//! mean over frames.
//!
//! Like the original, the `[B, T, D]` features are *reinterpreted* as `[B, D, T]`
//! (a `view`, not a transpose) before the convolution; kept for checkpoint parity.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::layers::init;
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use super::{check_input, init_err, torch_err, AdapterDims, AdapterKind, AdapterSpec, TemporalAdapter};

/// `Conv_1D`: depthwise kernel-3 convolution over the (reinterpreted) time axis.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conv1dAdapterConfig {}

/// The built `Conv_1D` adapter.
#[derive(Debug)]
pub struct Conv1dAdapter {
    weight: Tensor,
    embed_dim: i64,
}

#[derive(Debug, Clone, Copy)]
struct Conv1dSpec;

impl AdapterSpec for Conv1dSpec {
    fn name(&self) -> &'static str {
        "Conv_1D"
    }
    fn instantiate(&self, p: &nn::Path<'_>, dims: &AdapterDims) -> Result<Box<dyn TemporalAdapter>, ModelError> {
        let d = dims.embed_dim;
        let weight = init::var(&(p / "shift"), "weight", &[d, 1, 3], nn::Init::Const(0.0)).map_err(init_err)?;
        // The shift initialisation: first quarter takes the previous frame, the middle
        // half the current one, the last quarter the next one.
        // Literally the original's three slice assignments (with Python's
        // `-d // 4` = -ceil(d / 4) for the last one).
        let mut w = vec![0f32; (d * 3) as usize];
        let quarter = d / 4;
        for c in 0..quarter {
            w[(c * 3) as usize] = 1.0;
        }
        for c in quarter..(quarter + d / 2).min(d) {
            w[(c * 3 + 1) as usize] = 1.0;
        }
        for c in (d - (d + 3) / 4).max(0)..d {
            w[(c * 3 + 2) as usize] = 1.0;
        }
        let init_w = Tensor::from_slice(&w).view([d, 1, 3]);
        init::copy_(&weight, &init_w).map_err(torch_err)?;
        Ok(Box::new(Conv1dAdapter { weight, embed_dim: d }))
    }
    fn with_layers(&self, _layers: i64) -> Box<dyn AdapterSpec> {
        Box::new(*self)
    }
}

impl TemporalAdapter for Conv1dAdapter {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor, ModelError> {
        let (b, t) = check_input(x, self.embed_dim, None)?;
        let c = self.embed_dim;
        let h = x
            .f_contiguous()
            .and_then(|h| h.f_view([b, c, t]))
            .and_then(|h| h.f_to_kind(Kind::Float))
            .and_then(|h| h.f_conv1d(&self.weight, None::<&Tensor>, [1], [1], [1], c))
            .and_then(|h| h.f_permute([0, 2, 1]))
            .and_then(|h| h.f_to_kind(x.kind()))
            .and_then(|h| h.f_add(x))
            .map_err(torch_err)?;
        h.f_mean_dim(1, false, Kind::Float).and_then(|m| m.f_to_kind(x.kind())).map_err(torch_err)
    }
    fn required_segs(&self) -> Option<i64> {
        None
    }
}

impl Component<AdapterKind> for Conv1dAdapter {
    type Config = Conv1dAdapterConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn AdapterSpec>, BoxError> {
        Ok(Box::new(Conv1dSpec))
    }
}
