//! OpenAI CLIP's `VisionTransformer` (`visual.*`): patch convolution without bias,
//! class token, positional embedding, `ln_pre`, blocks, `ln_post` on the class token,
//! projection `proj`.

use tch::{nn, Kind, Tensor};

use super::arch::ClipArch;
use crate::layers::init::{self, InitError};
use crate::layers::{torch_err, AttentionImpl, LayerNorm, LayerNormStyle, Transformer};
use crate::recognizer::ModelError;

/// The image tower. Images `[B, 3, R, R]` (normalised) -> features `[B, embed_dim]`.
#[derive(Debug)]
pub struct VisionTransformer {
    /// `conv1.weight` [W, 3, P, P] (no bias).
    pub conv1: Tensor,
    /// `class_embedding` [W].
    pub class_embedding: Tensor,
    /// `positional_embedding` [grid^2 + 1, W].
    pub positional_embedding: Tensor,
    /// `ln_pre`.
    pub ln_pre: LayerNorm,
    /// `transformer`.
    pub transformer: Transformer,
    /// `ln_post`.
    pub ln_post: LayerNorm,
    /// `proj` [W, embed_dim].
    pub proj: Tensor,
    patch: i64,
    resolution: i64,
    width: i64,
    path: String,
}

impl VisionTransformer {
    /// Creates the tower under `p` (usually `clip / "visual"`), initialised like OpenAI's
    /// `VisionTransformer.__init__` plus `CLIP.initialize_parameters`.
    pub fn new(p: &nn::Path<'_>, arch: &ClipArch, imp: AttentionImpl) -> Result<Self, InitError> {
        let w = arch.vision_width;
        let scale = (w as f64).powf(-0.5);
        let g = arch.grid();
        let patch = arch.vision_patch_size;
        let fan_in = 3 * patch * patch;
        let class_embedding = init::var(p, "class_embedding", &[w], nn::Init::Randn { mean: 0.0, stdev: scale })?;
        let positional_embedding =
            init::var(p, "positional_embedding", &[g * g + 1, w], nn::Init::Randn { mean: 0.0, stdev: scale })?;
        let proj = init::var(p, "proj", &[w, arch.embed_dim], nn::Init::Randn { mean: 0.0, stdev: scale })?;
        let conv1 = init::var(&(p / "conv1"), "weight", &[w, 3, patch, patch], init::torch_linear_weight(fan_in))?;
        let ln_pre = LayerNorm::new(&(p / "ln_pre"), w, LayerNormStyle::CLIP)?;
        let transformer = Transformer::new(
            &(p / "transformer"),
            w,
            arch.vision_layers,
            arch.vision_heads(),
            LayerNormStyle::CLIP,
            imp,
        )?;
        super::model::init_blocks_like_openai(&transformer, p, w, arch.vision_layers)?;
        let ln_post = LayerNorm::new(&(p / "ln_post"), w, LayerNormStyle::CLIP)?;
        Ok(VisionTransformer {
            conv1,
            class_embedding,
            positional_embedding,
            ln_pre,
            transformer,
            ln_post,
            proj,
            patch,
            resolution: arch.image_resolution,
            width: w,
            path: p.components().collect::<Vec<_>>().join("."),
        })
    }

    /// The input side length the positional embedding was made for.
    pub fn input_resolution(&self) -> i64 {
        self.resolution
    }

    /// `images` [B, 3, R, R] -> features [B, embed_dim] (before normalisation).
    pub fn forward(&self, images: &Tensor) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let size = images.size();
        match size.as_slice() {
            [_, 3, h, w] if *h == self.resolution && *w == self.resolution => {}
            _ => {
                return Err(ModelError::Input {
                    module: self.path.clone(),
                    message: format!(
                        "expected images [B, 3, {r}, {r}] (the checkpoint's input resolution), got {size:?}",
                        r = self.resolution
                    ),
                })
            }
        }
        let x = images.f_to_kind(self.conv1.kind()).map_err(&err)?;
        let x = x.f_conv2d(&self.conv1, None::<&Tensor>, [self.patch, self.patch], [0, 0], [1, 1], 1).map_err(&err)?;
        let b = size[0];
        // [B, W, g, g] -> [B, g*g, W]
        let x = x.f_reshape([b, self.width, -1]).and_then(|x| x.f_permute([0, 2, 1])).map_err(&err)?;
        let cls = self
            .class_embedding
            .f_to_kind(x.kind())
            .and_then(|c| c.f_add(&Tensor::f_zeros([b, 1, self.width], (x.kind(), x.device()))?))
            .map_err(&err)?;
        let x = Tensor::f_cat(&[cls, x], 1).map_err(&err)?;
        let x = x.f_add(&self.positional_embedding.f_to_kind(x.kind()).map_err(&err)?).map_err(&err)?;
        let x = self.ln_pre.forward(&x)?;
        let x = x.f_permute([1, 0, 2]).map_err(&err)?;
        let x = self.transformer.forward(&x, None)?;
        let x = x.f_permute([1, 0, 2]).map_err(&err)?;
        let cls = self.ln_post.forward(&x.f_select(1, 0).map_err(&err)?)?;
        cls.f_matmul(&self.proj).map_err(err)
    }

    /// The parameter kind (fp32 after loading).
    pub fn kind(&self) -> Kind {
        self.conv1.kind()
    }
}
