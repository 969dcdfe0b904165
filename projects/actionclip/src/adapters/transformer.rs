//! The transformer adapter: learned frame position embeddings, CLIP residual attention
//! blocks (width `embed_dim`, heads `text_width / 64`), a residual around the whole
//! stack, then the mean over frames.
//!
//! MMAction2's `TransformerAdapter` (`frame_position_embeddings` [T, D], fp32
//! LayerNorm eps 1e-5) and the original ActionCLIP's `Transf` (TF-style LayerNorm eps
//! 1e-12) share this code.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::layers::{init, AttentionImpl, LayerNormStyle, Transformer};
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use super::{check_input, init_err, torch_err, AdapterDims, AdapterSpec, TemporalAdapter};

/// MMAction2's `TransformerAdapter`: `mean_t(blocks(x + pos) + x)`; blocks and frames
/// come from the model's `num_adapter_layers` and `num_adapter_segs`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformerAdapterConfig {}

/// The original ActionCLIP's `Transf` fusion: as `TransformerAdapter` but with its
/// TF-style LayerNorm (epsilon inside the square root, no fp32 upcast).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginalTransfConfig {
    /// The LayerNorm epsilon (the original uses 1e-12).
    #[serde(default = "tf_eps")]
    pub layer_norm_eps: f64,
}

fn tf_eps() -> f64 {
    1e-12
}

/// The spec both registrations build.
#[derive(Debug, Clone)]
pub struct TransformerSpec {
    name: &'static str,
    ln: LayerNormStyle,
    layers: Option<i64>,
}

impl TransformerSpec {
    /// MMAction2's adapter.
    pub fn mmaction() -> Self {
        TransformerSpec { name: "TransformerAdapter", ln: LayerNormStyle::CLIP, layers: None }
    }

    /// The original's `Transf` with LayerNorm epsilon `eps`.
    pub fn original(eps: f64) -> Self {
        TransformerSpec { name: "Transf", ln: LayerNormStyle::TfStyle { eps }, layers: None }
    }
}

impl AdapterSpec for TransformerSpec {
    fn name(&self) -> &'static str {
        self.name
    }

    fn instantiate(&self, p: &nn::Path<'_>, dims: &AdapterDims) -> Result<Box<dyn TemporalAdapter>, ModelError> {
        let layers = self.layers.unwrap_or(dims.num_layers);
        let heads = (dims.text_width / 64).max(1);
        if dims.embed_dim % heads != 0 {
            return Err(ModelError::config(
                "adapter",
                format!(
                    "width {} is not divisible by {heads} heads (text width {} / 64)",
                    dims.embed_dim, dims.text_width
                ),
            ));
        }
        let table = init::var(
            &(p / "frame_position_embeddings"),
            "weight",
            &[dims.num_segs, dims.embed_dim],
            nn::Init::Randn { mean: 0.0, stdev: 0.02 },
        )
        .map_err(init_err)?;
        let transformer =
            Transformer::new(&(p / "transformer"), dims.embed_dim, layers, heads, self.ln, AttentionImpl::default())
                .map_err(init_err)?;
        init_like_mmaction(&transformer).map_err(torch_err)?;
        Ok(Box::new(TransformerAdapter { table, transformer, embed_dim: dims.embed_dim, segs: dims.num_segs }))
    }

    fn with_layers(&self, layers: i64) -> Box<dyn AdapterSpec> {
        Box::new(TransformerSpec { layers: Some(layers), ..self.clone() })
    }
}

/// `init_weights` of MMAction2's adapter (and the original's): Linear weights N(0, 0.02),
/// Linear biases 0, LayerNorms 1/0; `in_proj_weight` keeps PyTorch's xavier-uniform and
/// `in_proj_bias` 0.
fn init_like_mmaction(t: &Transformer) -> Result<(), tch::TchError> {
    for b in &t.resblocks {
        for lin in [&b.attn.out_proj, &b.mlp.c_fc, &b.mlp.c_proj] {
            init::normal_(&lin.weight, 0.0, 0.02)?;
            if let Some(bias) = &lin.bias {
                init::fill_(bias, 0.0)?;
            }
        }
    }
    Ok(())
}

/// The built transformer adapter.
#[derive(Debug)]
pub struct TransformerAdapter {
    table: Tensor,
    transformer: Transformer,
    embed_dim: i64,
    segs: i64,
}

impl TemporalAdapter for TransformerAdapter {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor, ModelError> {
        let (_, t) = check_input(x, self.embed_dim, Some(self.segs))?;
        let pos = self.table.f_narrow(0, 0, t).map_err(torch_err)?;
        let h = x.f_add(&pos.f_unsqueeze(0).map_err(torch_err)?).map_err(torch_err)?;
        let h = h.f_transpose(0, 1).map_err(torch_err)?;
        let h = self.transformer.forward(&h, None)?;
        let h = h.f_transpose(0, 1).map_err(torch_err)?;
        let h = h.f_to_kind(x.kind()).and_then(|h| h.f_add(x)).map_err(torch_err)?;
        h.f_mean_dim(1, false, Kind::Float).and_then(|m| m.f_to_kind(x.kind())).map_err(torch_err)
    }

    fn required_segs(&self) -> Option<i64> {
        Some(self.segs)
    }
}

impl Component<super::AdapterKind> for TransformerAdapter {
    type Config = TransformerAdapterConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn AdapterSpec>, BoxError> {
        Ok(Box::new(TransformerSpec::mmaction()))
    }
}

/// Registration handle of the original `Transf` fusion.
pub struct OriginalTransf;

impl Component<super::AdapterKind> for OriginalTransf {
    type Config = OriginalTransfConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn AdapterSpec>, BoxError> {
        if !(config.layer_norm_eps > 0.0 && config.layer_norm_eps.is_finite()) {
            return Err(format!("`layer_norm_eps` must be a positive number, got {}", config.layer_norm_eps).into());
        }
        Ok(Box::new(TransformerSpec::original(config.layer_norm_eps)))
    }
}
