//! Prompt text features (computed once per prompt set, optionally cached on disk) and
//! zero-shot class scores.

use kinema_models::clip::l2_normalize;
use kinema_models::ModelError;
use tch::{Kind, Tensor};

use super::{err, ActionClip, PREDICT_SCALE, TEXT_CHUNK};
use crate::text_cache::{self, ContentHash};

impl ActionClip {
    /// Normalised text features of every prompt `[K * C, D]`, computed once per
    /// prompt set (and read from / written to the disk cache when configured).
    pub fn text_features(&mut self) -> Result<Tensor, ModelError> {
        if let Some(t) = &self.text_features {
            return Ok(t.shallow_clone());
        }
        let prompts = self.prompts.as_ref().ok_or_else(|| {
            ModelError::config(
                "labels_or_label_file",
                "no class labels to predict: set it (or pass --labels / --label-file)",
            )
        })?;
        let rows = prompts.tokens().size()[0];
        let key = match &self.options.text_cache_dir {
            Some(_) => Some(self.text_cache_key()?),
            None => None,
        };
        if let (Some(dir), Some(key)) = (&self.options.text_cache_dir, &key) {
            if let Some(t) = text_cache::load(dir, key, rows) {
                let t = t.f_to_device(self.vs.device()).map_err(err("text"))?;
                self.text_features = Some(t.shallow_clone());
                return Ok(t);
            }
        }
        let tokens = prompts.tokens().f_to_device(self.vs.device()).map_err(err("text"))?;
        let classes = prompts.num_classes().max(1) as i64;
        let feats = tch::no_grad(|| -> Result<Tensor, ModelError> {
            // Chunks bound the activation memory (6400 prompts at once need several GB).
            // With truncation, each template's prompts are grouped by length, so a chunk
            // shares the template's words before the label (run once) and stops at its
            // own last end-of-text token; rows are put back in order after.
            let e = err("text");
            let order = if self.options.truncate_prompts {
                let template = Tensor::f_arange(rows, (Kind::Int64, tokens.device()))
                    .and_then(|r| r.f_div_scalar_mode(classes, "floor"))
                    .map_err(&e)?;
                let eot = tokens.f_argmax(-1, false).map_err(&e)?;
                let key = (template * prompts.tokens().size()[1]).f_add(&eot).map_err(&e)?;
                key.f_argsort_stable(true, 0, false).map_err(&e)?
            } else {
                Tensor::f_arange(rows, (Kind::Int64, tokens.device())).map_err(&e)?
            };
            let sorted = tokens.f_index_select(0, &order).map_err(&e)?;
            let mut parts = Vec::new();
            let mut start = 0;
            while start < rows {
                // A chunk stays within one template's rows.
                let n = TEXT_CHUNK.min(rows - start).min(classes - start % classes);
                let chunk = sorted.f_narrow(0, start, n).map_err(&e)?;
                let f = if self.options.truncate_prompts {
                    self.clip.text.forward_shared_prefix(&chunk)?
                } else {
                    self.clip.text.forward(&chunk)?
                };
                parts.push(l2_normalize(&f).map_err(&e)?);
                start += n;
            }
            let feats = Tensor::f_cat(&parts, 0).map_err(&e)?;
            let inverse = order.f_argsort(0, false).map_err(&e)?;
            feats.f_index_select(0, &inverse).map_err(e)
        })?;
        if let (Some(dir), Some(key)) = (&self.options.text_cache_dir, &key) {
            if let Err(e) = text_cache::store(dir, key, &feats) {
                log::warn!("{e}");
            }
        }
        self.text_features = Some(feats.shallow_clone());
        Ok(feats)
    }

    /// The disk-cache key: text-tower weights + prompt tokens + truncation.
    fn text_cache_key(&self) -> Result<String, ModelError> {
        let mut h = ContentHash::default();
        let text = &self.clip.text;
        let e = err("text cache");
        for t in [&text.token_embedding, &text.positional_embedding, &text.text_projection] {
            h.update_tensor(t).map_err(&e)?;
        }
        for (name, t) in self.vs.variables().into_iter().collect::<std::collections::BTreeMap<_, _>>() {
            if name.starts_with("clip.transformer.") || name.starts_with("clip.ln_final.") {
                h.update(name.as_bytes());
                h.update_tensor(&t).map_err(&e)?;
            }
        }
        if let Some(p) = &self.prompts {
            h.update_tensor(p.tokens()).map_err(&e)?;
        }
        Ok(h.hex())
    }

    /// Class scores `[B, C]` of normalised `frames` [B, V*T, 3, R, R]: the mean over
    /// templates and views of `softmax_c(100 * v_hat . t_hat)`.
    pub fn predict_frames(&mut self, frames: &Tensor) -> Result<Tensor, ModelError> {
        let b = frames.size().first().copied().unwrap_or(0);
        let (clips, _) = self.views(frames)?;
        let size = clips.size();
        let (clips_n, t) = (size[0], size[1]);
        let e = err("actionclip");
        let images = clips.f_reshape([clips_n * t, size[2], size[3], size[4]]).map_err(&e)?;
        let feats = tch::no_grad(|| self.encode_image(&images))?;
        let feats = feats.f_view([clips_n, t, -1]).map_err(&e)?;
        self.score_clips(&feats, b)
    }

    /// Class scores `[B, C]` of `B * V` clips given as frame features [B * V, T, D]:
    /// the temporal adapter, then [`ActionClip::predict_frames`]'s scoring.
    pub fn score_clips(&mut self, frame_features: &Tensor, b: i64) -> Result<Tensor, ModelError> {
        let text = self.text_features()?;
        let c = self.prompts.as_ref().map(|p| p.num_classes() as i64).unwrap_or(1);
        let e = err("actionclip");
        let video = tch::no_grad(|| -> Result<Tensor, ModelError> {
            let f = self.adapter.forward(frame_features, self.training)?;
            l2_normalize(&f).map_err(&e)
        })?;
        // `(100 * v) @ t^T`, in upstream's order (the rounding differs from `100 * (v @ t^T)`).
        let sim = video.f_mul_scalar(PREDICT_SCALE).and_then(|v| v.f_matmul(&text.f_tr()?)).map_err(&e)?;
        let rows = sim.size()[0];
        let k = sim.size()[1] / c;
        if b <= 0 || rows % b != 0 {
            return Err(ModelError::Input {
                module: "actionclip".into(),
                message: format!("{rows} clips cannot be split into {b} samples"),
            });
        }
        sim.f_view([b, rows / b * k, c])
            .and_then(|s| s.f_softmax(2, Kind::Float))
            .and_then(|s| s.f_mean_dim(1, false, None))
            .map_err(e)
    }
}
