//! The original ActionCLIP's `Transf_cls` fusion (`TAggregate`): a class token and a
//! position table `[1, T+1, D]`, a post-norm `torch.nn.TransformerEncoder` (ReLU MLP,
//! dropout, final LayerNorm), output = the class token.
//!
//! Keys under `adapter.transformer`: `cls_token`, `pos_embed`,
//! `transformer_enc.layers.{i}.{self_attn.*, linear1, linear2, norm1, norm2}`,
//! `transformer_enc.norm`.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::Component;
use kinema_models::layers::{init, AttentionImpl, LayerNorm, LayerNormStyle, Linear, MultiheadAttention};
use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::{check_input, init_err, torch_err, AdapterDims, AdapterKind, AdapterSpec, TemporalAdapter};

/// `Transf_cls`: class-token transformer encoder (the original uses 8 heads, a 2048-wide
/// ReLU MLP, dropout 0.1 and as many layers as `num_adapter_layers`, 6).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransfClsConfig {
    /// Attention heads.
    #[serde(default = "eight")]
    pub heads: i64,
    /// Hidden width of each layer's MLP.
    #[serde(default = "ff")]
    pub dim_feedforward: i64,
    /// Dropout probability in training.
    #[serde(default = "drop")]
    pub dropout: f64,
}

fn eight() -> i64 {
    8
}
fn ff() -> i64 {
    2048
}
fn drop() -> f64 {
    0.1
}

#[derive(Debug, Clone)]
struct TransfClsSpec {
    config: TransfClsConfig,
    layers: Option<i64>,
}

#[derive(Debug)]
struct EncoderLayer {
    self_attn: MultiheadAttention,
    linear1: Linear,
    linear2: Linear,
    norm1: LayerNorm,
    norm2: LayerNorm,
}

/// The built `Transf_cls` adapter.
#[derive(Debug)]
pub struct TransfClsAdapter {
    cls_token: Tensor,
    pos_embed: Tensor,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    embed_dim: i64,
    segs: i64,
    dropout: f64,
}

impl AdapterSpec for TransfClsSpec {
    fn name(&self) -> &'static str {
        "Transf_cls"
    }

    fn instantiate(&self, p: &nn::Path<'_>, dims: &AdapterDims) -> Result<Box<dyn TemporalAdapter>, ModelError> {
        let d = dims.embed_dim;
        let c = &self.config;
        if c.heads <= 0 || d % c.heads != 0 {
            return Err(ModelError::config(
                "adapter.heads",
                format!("Transf_cls: width {d} is not divisible by {} heads", c.heads),
            ));
        }
        let p = p / "transformer";
        let zero = nn::Init::Const(0.0);
        let cls_token = init::var(&p, "cls_token", &[1, 1, d], zero).map_err(init_err)?;
        let pos_embed = init::var(&p, "pos_embed", &[1, dims.num_segs + 1, d], zero).map_err(init_err)?;
        init::fmod_normal_(&pos_embed, 0.0, 0.02).map_err(torch_err)?;
        init::fmod_normal_(&cls_token, 0.0, 0.02).map_err(torch_err)?;
        let enc = &p / "transformer_enc";
        let lp = &enc / "layers";
        let ln = LayerNormStyle::Fp32 { eps: 1e-5 };
        let mut layers = Vec::new();
        for i in 0..self.layers.unwrap_or(dims.num_layers) {
            let q = &lp / i;
            let layer = EncoderLayer {
                self_attn: MultiheadAttention::new(&(&q / "self_attn"), d, c.heads, AttentionImpl::default())
                    .map_err(init_err)?,
                linear1: Linear::new(&(&q / "linear1"), d, c.dim_feedforward, true).map_err(init_err)?,
                linear2: Linear::new(&(&q / "linear2"), c.dim_feedforward, d, true).map_err(init_err)?,
                norm1: LayerNorm::new(&(&q / "norm1"), d, ln).map_err(init_err)?,
                norm2: LayerNorm::new(&(&q / "norm2"), d, ln).map_err(init_err)?,
            };
            // `TAggregate._init_weights`: Linear weights fmod-normal(0.02), biases 0.
            for lin in [&layer.self_attn.out_proj, &layer.linear1, &layer.linear2] {
                init::fmod_normal_(&lin.weight, 0.0, 0.02).map_err(torch_err)?;
                if let Some(b) = &lin.bias {
                    init::fill_(b, 0.0).map_err(torch_err)?;
                }
            }
            layers.push(layer);
        }
        let norm = LayerNorm::new(&(&enc / "norm"), d, ln).map_err(init_err)?;
        Ok(Box::new(TransfClsAdapter {
            cls_token,
            pos_embed,
            layers,
            norm,
            embed_dim: d,
            segs: dims.num_segs,
            dropout: c.dropout,
        }))
    }

    fn with_layers(&self, layers: i64) -> Box<dyn AdapterSpec> {
        Box::new(TransfClsSpec { layers: Some(layers), ..self.clone() })
    }
}

impl TemporalAdapter for TransfClsAdapter {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let (b, _) = check_input(x, self.embed_dim, Some(self.segs))?;
        let cls = self.cls_token.f_expand([b, -1, -1], false).map_err(torch_err)?;
        let h =
            Tensor::f_cat(&[cls, x.shallow_clone()], 1).and_then(|h| h.f_add(&self.pos_embed)).map_err(torch_err)?;
        let mut h = h.f_transpose(0, 1).map_err(torch_err)?;
        let p = self.dropout;
        for layer in &self.layers {
            let a = layer.self_attn.forward(&h, None)?.f_dropout(p, train).map_err(torch_err)?;
            h = layer.norm1.forward(&h.f_add(&a).map_err(torch_err)?)?;
            let m = layer.linear1.forward(&h)?.f_relu().and_then(|m| m.f_dropout(p, train)).map_err(torch_err)?;
            let m = layer.linear2.forward(&m)?.f_dropout(p, train).map_err(torch_err)?;
            h = layer.norm2.forward(&h.f_add(&m).map_err(torch_err)?)?;
        }
        let h = self.norm.forward(&h)?;
        h.f_select(0, 0).and_then(|o| o.f_to_kind(x.kind())).map_err(torch_err)
    }

    fn required_segs(&self) -> Option<i64> {
        Some(self.segs)
    }
}

impl Component<AdapterKind> for TransfClsAdapter {
    type Config = TransfClsConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn AdapterSpec>, BoxError> {
        if !(0.0..1.0).contains(&config.dropout) {
            return Err(format!("`dropout` must lie in [0, 1), got {}", config.dropout).into());
        }
        if config.dim_feedforward <= 0 {
            return Err(format!("`dim_feedforward` must be positive, got {}", config.dim_feedforward).into());
        }
        Ok(Box::new(TransfClsSpec { config: config.clone(), layers: None }))
    }
}
