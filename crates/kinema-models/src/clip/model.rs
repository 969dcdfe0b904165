//! The whole CLIP model: image tower under `visual.*`, text tower at the top level,
//! `logit_scale`.

use tch::{nn, Tensor};

use super::arch::ClipArch;
use super::text::TextTransformer;
use super::vision::VisionTransformer;
use crate::layers::init::{self, InitError};
use crate::layers::{torch_err, AttentionImpl, Transformer};
use crate::recognizer::ModelError;

/// OpenAI's CLIP (ViT image tower). Parameter names under the path given to
/// [`Clip::new`] are OpenAI's `state_dict` keys.
#[derive(Debug)]
pub struct Clip {
    /// `visual`.
    pub visual: VisionTransformer,
    /// The text encoder (top-level keys).
    pub text: TextTransformer,
    /// `logit_scale` [] (initialised to ln(1/0.07)).
    pub logit_scale: Tensor,
    arch: ClipArch,
}

impl Clip {
    /// Creates every CLIP parameter under `p` with OpenAI's initialisation, in OpenAI's
    /// `state_dict` order of the top-level tensors.
    pub fn new(p: &nn::Path<'_>, arch: &ClipArch, imp: AttentionImpl) -> Result<Self, InitError> {
        let logit_scale = init::var(p, "logit_scale", &[], nn::Init::Const((1.0f64 / 0.07).ln()))?;
        let visual = VisionTransformer::new(&(p / "visual"), arch, imp)?;
        let text = TextTransformer::new(p, arch, imp)?;
        Ok(Clip { visual, text, logit_scale, arch: *arch })
    }

    /// The hyper-parameters.
    pub fn arch(&self) -> &ClipArch {
        &self.arch
    }

    /// Chooses the attention kernel in both towers.
    pub fn set_attention_impl(&mut self, imp: AttentionImpl) {
        self.visual.transformer.set_attention_impl(imp);
        self.text.transformer.set_attention_impl(imp);
    }

    /// `images` [B, 3, R, R] -> [B, embed_dim].
    pub fn encode_image(&self, images: &Tensor) -> Result<Tensor, ModelError> {
        self.visual.forward(images)
    }

    /// `tokens` [B, 77] -> [B, embed_dim] (full context, as OpenAI).
    pub fn encode_text(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
        self.text.forward(tokens)
    }

    /// OpenAI's `CLIP.forward`: `(logits_per_image, logits_per_text)` =
    /// `exp(logit_scale) * norm(I) norm(T)^T` and its transpose.
    pub fn forward(&self, images: &Tensor, tokens: &Tensor) -> Result<(Tensor, Tensor), ModelError> {
        let err = torch_err("clip");
        let i = l2_normalize(&self.encode_image(images)?).map_err(&err)?;
        let t = l2_normalize(&self.encode_text(tokens)?).map_err(&err)?;
        let scale = self.logit_scale.f_exp().map_err(&err)?;
        let per_image = i.f_matmul(&t.f_tr().map_err(&err)?).and_then(|l| l.f_mul(&scale)).map_err(&err)?;
        let per_text = per_image.f_tr().map_err(err)?;
        Ok((per_image, per_text))
    }
}

/// `x / ||x||` over the last dimension (no epsilon, as upstream).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor, tch::TchError> {
    let norm = x.f_norm_scalaropt_dim(2, [-1i64], true)?;
    x.f_div(&norm)
}

/// OpenAI's `initialize_parameters` for a block stack of width `w` and `layers` layers:
/// in_proj N(0, w^-0.5), out_proj N(0, w^-0.5 (2L)^-0.5), c_fc N(0, (2w)^-0.5),
/// c_proj N(0, w^-0.5 (2L)^-0.5).
pub(crate) fn init_blocks_like_openai(t: &Transformer, p: &nn::Path<'_>, w: i64, layers: i64) -> Result<(), InitError> {
    let attn_std = (w as f64).powf(-0.5);
    let proj_std = attn_std * ((2 * layers.max(1)) as f64).powf(-0.5);
    let fc_std = ((2 * w) as f64).powf(-0.5);
    let wrap = |source| InitError { name: p.path("transformer"), dims: vec![w], source };
    for b in &t.resblocks {
        init::normal_(&b.attn.in_proj_weight, 0.0, attn_std).map_err(wrap)?;
        init::normal_(&b.attn.out_proj.weight, 0.0, proj_std).map_err(wrap)?;
        init::normal_(&b.mlp.c_fc.weight, 0.0, fc_std).map_err(wrap)?;
        init::normal_(&b.mlp.c_proj.weight, 0.0, proj_std).map_err(wrap)?;
    }
    Ok(())
}
