//! The original ActionCLIP's `LSTM` fusion: a one-layer batch-first LSTM
//! (`lstm_visual.{weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0}`) whose output is
//! added to its input, then the mean over frames.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::layers::init;
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use super::{check_input, init_err, torch_err, AdapterDims, AdapterKind, AdapterSpec, TemporalAdapter};

/// `LSTM`: hidden size = feature width; PyTorch's default LSTM initialisation.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LstmAdapterConfig {}

/// The built `LSTM` adapter.
#[derive(Debug)]
pub struct LstmAdapter {
    params: Vec<Tensor>,
    embed_dim: i64,
}

#[derive(Debug, Clone, Copy)]
struct LstmSpec;

impl AdapterSpec for LstmSpec {
    fn name(&self) -> &'static str {
        "LSTM"
    }
    fn instantiate(&self, p: &nn::Path<'_>, dims: &AdapterDims) -> Result<Box<dyn TemporalAdapter>, ModelError> {
        let d = dims.embed_dim;
        let p = p / "lstm_visual";
        // PyTorch's LSTM default: every tensor U(+-1/sqrt(hidden)).
        let bound = 1.0 / (d.max(1) as f64).sqrt();
        let u = nn::Init::Uniform { lo: -bound, up: bound };
        let params = vec![
            init::var(&p, "weight_ih_l0", &[4 * d, d], u).map_err(init_err)?,
            init::var(&p, "weight_hh_l0", &[4 * d, d], u).map_err(init_err)?,
            init::var(&p, "bias_ih_l0", &[4 * d], u).map_err(init_err)?,
            init::var(&p, "bias_hh_l0", &[4 * d], u).map_err(init_err)?,
        ];
        Ok(Box::new(LstmAdapter { params, embed_dim: d }))
    }
    fn with_layers(&self, _layers: i64) -> Box<dyn AdapterSpec> {
        Box::new(*self)
    }
}

impl TemporalAdapter for LstmAdapter {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let (b, _) = check_input(x, self.embed_dim, None)?;
        let h0 = Tensor::f_zeros([1, b, self.embed_dim], (Kind::Float, x.device())).map_err(torch_err)?;
        let xf = x.f_to_kind(Kind::Float).map_err(torch_err)?;
        let (out, _, _) =
            Tensor::f_lstm(&xf, &[h0.shallow_clone(), h0], &self.params, true, 1, 0.0, train, false, true)
                .map_err(torch_err)?;
        let h = out.f_to_kind(x.kind()).and_then(|h| h.f_add(x)).map_err(torch_err)?;
        h.f_mean_dim(1, false, Kind::Float).and_then(|m| m.f_to_kind(x.kind())).map_err(torch_err)
    }
    fn required_segs(&self) -> Option<i64> {
        None
    }
}

impl Component<AdapterKind> for LstmAdapter {
    type Config = LstmAdapterConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn AdapterSpec>, BoxError> {
        Ok(Box::new(LstmSpec))
    }
}
