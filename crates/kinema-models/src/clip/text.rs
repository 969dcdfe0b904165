//! OpenAI CLIP's text encoder (top-level keys `token_embedding`, `positional_embedding`,
//! `transformer`, `ln_final`, `text_projection`), with optional truncation of the
//! padding after the last end-of-text token.

use tch::{nn, Kind, Tensor};

use super::arch::ClipArch;
use crate::layers::init::{self, InitError};
use crate::layers::{torch_err, AttentionImpl, LayerNorm, LayerNormStyle, Transformer};
use crate::recognizer::ModelError;

/// Truncated prompt batches are cut to a multiple of this many positions.
pub const TRUNCATE_MULTIPLE: i64 = 16;

/// A shared prefix runs as this many identical rows (see [`TextTransformer::forward_shared_prefix`]).
const PREFIX_ROWS: i64 = 8;

/// The text tower. Token ids `[B, 77]` -> features `[B, embed_dim]`.
#[derive(Debug)]
pub struct TextTransformer {
    /// `token_embedding.weight` [vocab, W].
    pub token_embedding: Tensor,
    /// `positional_embedding` [context, W].
    pub positional_embedding: Tensor,
    /// `transformer`.
    pub transformer: Transformer,
    /// `ln_final`.
    pub ln_final: LayerNorm,
    /// `text_projection` [W, embed_dim].
    pub text_projection: Tensor,
    context_length: i64,
    vocab_size: i64,
    path: String,
}

impl TextTransformer {
    /// Creates the text parameters directly under `p` (CLIP keeps them at its top
    /// level), initialised like OpenAI's `initialize_parameters`.
    pub fn new(p: &nn::Path<'_>, arch: &ClipArch, imp: AttentionImpl) -> Result<Self, InitError> {
        let w = arch.transformer_width;
        let token_embedding = init::var(
            &(p / "token_embedding"),
            "weight",
            &[arch.vocab_size, w],
            nn::Init::Randn { mean: 0.0, stdev: 0.02 },
        )?;
        let positional_embedding = init::var(
            p,
            "positional_embedding",
            &[arch.context_length, w],
            nn::Init::Randn { mean: 0.0, stdev: 0.01 },
        )?;
        let transformer = Transformer::new(
            &(p / "transformer"),
            w,
            arch.transformer_layers,
            arch.transformer_heads,
            LayerNormStyle::CLIP,
            imp,
        )?;
        super::model::init_blocks_like_openai(&transformer, p, w, arch.transformer_layers)?;
        let ln_final = LayerNorm::new(&(p / "ln_final"), w, LayerNormStyle::CLIP)?;
        let text_projection = init::var(
            p,
            "text_projection",
            &[w, arch.embed_dim],
            nn::Init::Randn { mean: 0.0, stdev: (w as f64).powf(-0.5) },
        )?;
        Ok(TextTransformer {
            token_embedding,
            positional_embedding,
            transformer,
            ln_final,
            text_projection,
            context_length: arch.context_length,
            vocab_size: arch.vocab_size,
            path: p.components().collect::<Vec<_>>().join("."),
        })
    }

    /// The number of token positions (77).
    pub fn context_length(&self) -> i64 {
        self.context_length
    }

    /// `tokens` [B, context] (int) -> features [B, embed_dim]: every prompt encoded over
    /// all `context` positions, as OpenAI's `encode_text`.
    pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
        self.forward_impl_bool(tokens, false)
    }

    /// Like [`forward`](Self::forward), but only the first `max(eot) + 1` positions of
    /// the batch (rounded up to a multiple of [`TRUNCATE_MULTIPLE`]) are run. The causal
    /// mask makes every kept position independent of the cut ones, so the features are
    /// bit-identical to the full computation (tested), and padding-heavy prompt sets
    /// encode several times faster.
    pub fn forward_truncated(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
        self.forward_impl_bool(tokens, true)
    }

    /// Encodes only the first `len` positions (at least `max(eot) + 1`, rounded up to a
    /// multiple of [`TRUNCATE_MULTIPLE`], at most the context).
    pub fn forward_len(&self, tokens: &Tensor, len: i64) -> Result<Tensor, ModelError> {
        self.forward_impl(tokens, Some(len))
    }

    fn forward_impl_bool(&self, tokens: &Tensor, truncate: bool) -> Result<Tensor, ModelError> {
        self.forward_impl(tokens, if truncate { Some(0) } else { None })
    }

    /// Checks token ids `[B, context]` (integers within the vocabulary) and returns them
    /// as int64 with `B`; `None` for an empty batch.
    fn checked_tokens(&self, tokens: &Tensor) -> Result<Option<(i64, Tensor)>, ModelError> {
        let err = torch_err(&self.path);
        let size = tokens.size();
        let b = match size.as_slice() {
            [b, l] if *l == self.context_length => *b,
            _ => {
                return Err(ModelError::Input {
                    module: "text".into(),
                    message: format!("expected token ids [B, {}], got {:?}", self.context_length, size),
                })
            }
        };
        if matches!(tokens.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
            return Err(ModelError::Input {
                module: "text".into(),
                message: format!("expected integer token ids, got {:?}", tokens.kind()),
            });
        }
        let tokens = tokens.f_to_kind(Kind::Int64).map_err(&err)?;
        if b == 0 {
            return Ok(None);
        }
        let (min, max) =
            (tokens.f_min().map_err(&err)?.int64_value(&[]), tokens.f_max().map_err(&err)?.int64_value(&[]));
        if min < 0 || max >= self.vocab_size {
            return Err(ModelError::Input {
                module: "text".into(),
                message: format!("token ids must lie in [0, {}), found [{min}, {max}]", self.vocab_size),
            });
        }
        Ok(Some((b, tokens)))
    }

    /// Features `[0, embed_dim]` of an empty batch.
    fn no_features(&self, device: tch::Device) -> Result<Tensor, ModelError> {
        Tensor::f_zeros([0, self.text_projection.size()[1]], (self.text_projection.kind(), device))
            .map_err(torch_err(&self.path))
    }

    /// Token and positional embeddings of `tokens` [B, n] at positions `start..start + n`,
    /// sequence first: [n, B, W].
    fn embed(&self, tokens: &Tensor, start: i64) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let x = Tensor::f_embedding(&self.token_embedding, tokens, -1, false, false).map_err(&err)?;
        let pos = self.positional_embedding.f_narrow(0, start, tokens.size()[1]).map_err(&err)?;
        let x = x.f_add(&pos.f_to_kind(x.kind()).map_err(&err)?).map_err(&err)?;
        x.f_permute([1, 0, 2]).map_err(err)
    }

    /// `ln_final` of the states `x` [n, B, W] at each row's position `at` [B], projected.
    fn project_at(&self, x: &Tensor, at: &Tensor) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let x = x.f_permute([1, 0, 2]).map_err(&err)?;
        let x = self.ln_final.forward(&x)?;
        let rows = Tensor::f_arange(x.size()[0], (Kind::Int64, x.device())).map_err(&err)?;
        let picked = x.f_index(&[Some(rows), Some(at.shallow_clone())]).map_err(&err)?;
        picked.f_matmul(&self.text_projection).map_err(err)
    }

    fn forward_impl(&self, tokens: &Tensor, min_len: Option<i64>) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let Some((_, tokens)) = self.checked_tokens(tokens)? else { return self.no_features(tokens.device()) };
        // The end-of-text token has the largest id, so argmax finds it.
        let eot = tokens.f_argmax(-1, false).map_err(&err)?;
        let len = match min_len {
            Some(m) => {
                let needed = (eot.f_max().map_err(&err)?.int64_value(&[]) + 1).max(m);
                // Rounded up to whole SIMD blocks: libtorch's CPU attention kernel
                // computes a row shorter than one vector (16 floats) with scalar code,
                // whose `exp` differs from the vector one in the last bit. With whole
                // blocks every kept column is computed exactly as at full length, so the
                // features are bit-identical (tested).
                let blocks = (needed + TRUNCATE_MULTIPLE - 1) / TRUNCATE_MULTIPLE * TRUNCATE_MULTIPLE;
                blocks.min(self.context_length)
            }
            None => self.context_length,
        };
        let tokens = tokens.f_narrow(1, 0, len).map_err(&err)?;
        let x = self.embed(&tokens, 0)?;
        let mask = causal_mask(len, x.device()).map_err(&err)?;
        let x = self.transformer.forward(&x, Some(&mask))?;
        self.project_at(&x, &eot)
    }

    /// Like [`forward_truncated`](Self::forward_truncated), but the positions every prompt
    /// of the batch shares at its start (the start-of-text token and a template's words
    /// before the label: "a video of") run once, and each prompt runs only from there to
    /// its end-of-text token ([`kv_cache`](crate::layers::kv_cache)). Bit-identical to
    /// [`forward`](Self::forward) (tested); with K400 labels and "a video of {}" about a
    /// quarter of the positions of `forward_truncated` remain.
    pub fn forward_shared_prefix(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let err = torch_err(&self.path);
        let Some((b, tokens)) = self.checked_tokens(tokens)? else { return self.no_features(tokens.device()) };
        let eot = tokens.f_argmax(-1, false).map_err(&err)?;
        let first_eot = eot.f_min().map_err(&err)?.int64_value(&[]);
        let end = eot.f_max().map_err(&err)?.int64_value(&[]) + 1;
        // The shared prefix: positions where every row has row 0's token, stopping before
        // the first end-of-text token so that every row keeps at least that position.
        let same = tokens.f_eq_tensor(&tokens.f_narrow(0, 0, 1).map_err(&err)?).map_err(&err)?;
        let same: Vec<bool> = Vec::try_from(same.f_all_dims(0, false).map_err(&err)?).map_err(&err)?;
        let p = same.iter().take(first_eot as usize).take_while(|s| **s).count() as i64;
        let cache = if p > 0 {
            // Run as PREFIX_ROWS copies: a product with one row would take MKL's
            // matrix-vector path, which sums in another order (last-bit differences).
            let prefix = tokens.f_narrow(0, 0, PREFIX_ROWS.min(b)).and_then(|t| t.f_narrow(1, 0, p)).map_err(&err)?;
            let (_, cache) = self.transformer.forward_causal_after(&self.embed(&prefix, 0)?, None, true)?;
            cache.map(|c| c.row(0)).transpose().map_err(&err)?
        } else {
            None
        };
        let rest = tokens.f_narrow(1, p, end - p).map_err(&err)?;
        let (x, _) = self.transformer.forward_causal_after(&self.embed(&rest, p)?, cache.as_ref(), false)?;
        debug_assert_eq!(x.size()[1], b);
        self.project_at(&x, &eot.f_sub_scalar(p).map_err(&err)?)
    }
}

/// OpenAI's causal mask: `-inf` strictly above the diagonal, 0 elsewhere, [len, len].
pub fn causal_mask(len: i64, device: tch::Device) -> Result<Tensor, tch::TchError> {
    crate::layers::kv_cache::causal_mask_after(len, 0, len, device)
}
