//! OpenAI CLIP's `Transformer`: a stack of residual attention blocks named
//! `resblocks.{i}`.

use tch::{nn, Tensor};

use super::attention::AttentionImpl;
use super::init::InitError;
use super::layer_norm::LayerNormStyle;
use super::residual_block::ResidualAttentionBlock;

use crate::recognizer::ModelError;

/// `layers` blocks of width `width` applied in order, sequence-first `[L, N, W]`.
#[derive(Debug)]
pub struct Transformer {
    /// `resblocks.{i}`.
    pub resblocks: Vec<ResidualAttentionBlock>,
    width: i64,
}

impl Transformer {
    /// Creates `resblocks.0 .. resblocks.{layers-1}` under `p`.
    pub fn new(
        p: &nn::Path<'_>,
        width: i64,
        layers: i64,
        heads: i64,
        ln: LayerNormStyle,
        imp: AttentionImpl,
    ) -> Result<Self, InitError> {
        let blocks = p / "resblocks";
        let resblocks = (0..layers)
            .map(|i| ResidualAttentionBlock::new(&(&blocks / i), width, heads, ln, imp))
            .collect::<Result<_, _>>()?;
        Ok(Transformer { resblocks, width })
    }

    /// The block width.
    pub fn width(&self) -> i64 {
        self.width
    }

    /// The number of blocks.
    pub fn layers(&self) -> usize {
        self.resblocks.len()
    }

    /// Chooses the attention kernel of every block.
    pub fn set_attention_impl(&mut self, imp: AttentionImpl) {
        for b in &mut self.resblocks {
            b.attn.set_impl(imp);
        }
    }

    /// `x` [L, N, W] -> [L, N, W], every block with the same additive `mask` [L, L].
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor, ModelError> {
        let mut x = x.shallow_clone();
        for block in &self.resblocks {
            x = block.forward(&x, mask)?;
        }
        Ok(x)
    }
}
