//! Causal self-attention that continues after keys and values already computed: a batch
//! of sequences that all begin with the same tokens (a prompt template's words) runs that
//! prefix once, alone, keeps each layer's keys and values in a [`KvCache`], and then runs
//! only the rest of every sequence against them. Under a causal mask no position sees the
//! ones after it, so this computes what running each whole sequence would, position for
//! position.
//!
//! Keys are padded with masked zero rows to whole blocks of [`KEY_BLOCK`] ([`padded_causal_mask`]): libtorch's CPU
//! attention computes the tail of a row shorter than one SIMD vector with scalar code
//! whose `exp` differs from the vector one in the last bit; with whole blocks every kept
//! column is computed as at full length (bit-identical, tested in the text tower).

use tch::{Kind, Tensor};

use super::attention::MultiheadAttention;
use super::residual_block::ResidualAttentionBlock;
use super::torch_err;
use super::transformer::Transformer;
use crate::recognizer::ModelError;

/// Keys (and the additive mask) are padded to a multiple of this many positions.
pub const KEY_BLOCK: i64 = 16;

/// One layer's keys and values, `[N, H, L, W / H]` each.
#[derive(Debug)]
pub struct LayerKv {
    /// Keys.
    pub k: Tensor,
    /// Values.
    pub v: Tensor,
}

/// The keys and values of every layer for the first `len` positions.
#[derive(Debug)]
pub struct KvCache {
    /// One entry per layer, in order.
    pub layers: Vec<LayerKv>,
    /// The number of positions they cover.
    pub len: i64,
}

impl KvCache {
    /// The cache of sequence `row` alone (batch 1, which attention shares with any batch).
    pub fn row(&self, row: i64) -> Result<KvCache, tch::TchError> {
        let one = |t: &Tensor| t.f_narrow(0, row, 1);
        let layers = self.layers.iter().map(|l| Ok(LayerKv { k: one(&l.k)?, v: one(&l.v)? }));
        Ok(KvCache { layers: layers.collect::<Result<_, tch::TchError>>()?, len: self.len })
    }
}

/// The additive mask `[s, keys]` of `s` queries at positions `past..past + s` over `keys`
/// key positions: 0 where the key is at or before the query, `-inf` after it (including
/// every padding key).
pub fn causal_mask_after(s: i64, past: i64, keys: i64, device: tch::Device) -> Result<Tensor, tch::TchError> {
    Tensor::f_full([s, keys], f64::NEG_INFINITY, (Kind::Float, device))?.f_triu(past + 1)
}

/// The mask of `s` queries after `past` positions as [`MultiheadAttention::forward_causal_after`]
/// takes it: keys padded to whole [`KEY_BLOCK`]s, and at least one block of query rows (the
/// padding rows see every key, so their softmax stays finite; they are dropped after). A
/// product of fewer query rows with the keys takes another BLAS path, with last-bit
/// differences.
pub fn padded_causal_mask(s: i64, past: i64, device: tch::Device) -> Result<Tensor, tch::TchError> {
    let keys = (past + s + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK;
    causal_mask_after(s, past, keys, device)?.f_constant_pad_nd([0, 0, 0, KEY_BLOCK - s.min(KEY_BLOCK)])
}

impl MultiheadAttention {
    /// Causal self-attention of `x` [S, N, W] over the past keys and values (`[1 or N, H, P,
    /// d]`, shared by the batch when 1) and its own, with `mask` from
    /// [`padded_causal_mask`]`(S, P)`. Returns the output [S, N, W] and, with `keep`, the
    /// keys and values of all `P + S` positions (for a later call).
    pub fn forward_causal_after(
        &self,
        x: &Tensor,
        past: Option<&LayerKv>,
        mask: &Tensor,
        keep: bool,
    ) -> Result<(Tensor, Option<LayerKv>), ModelError> {
        let err = torch_err(self.path_str());
        let (s, n) = self.check_input(x)?;
        let (q, k, v) = self.project(x, s, n)?;
        let (k, v) = match past {
            Some(kv) => {
                let size = kv.k.size();
                let grow = |t: &Tensor, new: &Tensor| {
                    t.f_expand([n, size[1], size[2], size[3]], false).and_then(|t| Tensor::f_cat(&[&t, new], 2))
                };
                (grow(&kv.k, &k).map_err(&err)?, grow(&kv.v, &v).map_err(&err)?)
            }
            None => (k, v),
        };
        let (queries, keys) = (mask.size()[0], mask.size()[1]);
        // Zero rows after the real ones, up to the mask's size.
        let pad = |t: &Tensor, rows: i64| t.f_constant_pad_nd([0, 0, 0, rows - t.size()[2]]);
        let (q, kp, vp) = (pad(&q, queries), pad(&k, keys), pad(&v, keys));
        let out = self.attend(&q.map_err(&err)?, &kp.map_err(&err)?, &vp.map_err(&err)?, Some(mask))?;
        let out = self.merge(&out.f_narrow(2, 0, s).map_err(&err)?, s, n)?;
        Ok((out, keep.then_some(LayerKv { k, v })))
    }
}

impl ResidualAttentionBlock {
    /// [`forward`](Self::forward) with causal attention after `past`
    /// ([`MultiheadAttention::forward_causal_after`]).
    pub fn forward_causal_after(
        &self,
        x: &Tensor,
        past: Option<&LayerKv>,
        mask: &Tensor,
        keep: bool,
    ) -> Result<(Tensor, Option<LayerKv>), ModelError> {
        let err = torch_err(self.path_str());
        let (a, kv) = self.attn.forward_causal_after(&self.ln_1.forward(x)?, past, mask, keep)?;
        let x = x.f_add(&a).map_err(&err)?;
        let m = self.mlp.forward(&self.ln_2.forward(&x)?)?;
        Ok((x.f_add(&m).map_err(err)?, kv))
    }
}

impl Transformer {
    /// Runs `x` [S, N, W] (positions `past.len..`) through every block with causal
    /// attention after `past`; with `keep`, also returns the cache of all positions.
    pub fn forward_causal_after(
        &self,
        x: &Tensor,
        past: Option<&KvCache>,
        keep: bool,
    ) -> Result<(Tensor, Option<KvCache>), ModelError> {
        if let Some(cache) = past {
            if cache.layers.len() != self.resblocks.len() {
                return Err(ModelError::Input {
                    module: "transformer".into(),
                    message: format!(
                        "a key/value cache of {} layers for a transformer of {}",
                        cache.layers.len(),
                        self.resblocks.len()
                    ),
                });
            }
        }
        let past_len = past.map_or(0, |c| c.len);
        // One mask for every layer.
        let mask = padded_causal_mask(x.size()[0], past_len, x.device())
            .map_err(|source| ModelError::Torch { module: "transformer".into(), source })?;
        let mut x = x.shallow_clone();
        let mut layers = Vec::new();
        for (i, block) in self.resblocks.iter().enumerate() {
            let (y, kv) = block.forward_causal_after(&x, past.map(|c| &c.layers[i]), &mask, keep)?;
            x = y;
            layers.extend(kv);
        }
        let len = past_len + x.size()[0];
        Ok((x, keep.then_some(KvCache { layers, len })))
    }
}
