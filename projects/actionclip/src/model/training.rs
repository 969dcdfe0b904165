//! Training: per-sample template draws and the contrastive video-text losses.

use kinema_models::clip::l2_normalize;
use kinema_models::recognizer::{LossOutput, StepEnv};
use kinema_models::ModelError;
use rand::Rng;
use tch::{Device, Kind, Tensor};

use super::{err, ActionClip, TEMPLATE_STREAM};

impl ActionClip {
    /// Per-sample template indices for a training batch: uniform in `[0, K)`, drawn
    /// from a generator seeded by `(seed, epoch, dataset index)`, so a sample draws the
    /// same template whatever its batch, worker or rank.
    pub fn draw_template_ids(seed: u64, epoch: u64, indices: &[usize], num_templates: usize) -> Vec<usize> {
        indices
            .iter()
            .map(|&i| {
                let mut rng = kinema_core::rng::stream_rng(seed, TEMPLATE_STREAM, &[epoch, i as u64]);
                rng.random_range(0..num_templates.max(1))
            })
            .collect()
    }

    /// The training losses of normalised `frames` [B, T, 3, R, R] with classes
    /// `labels` [B], using template `template_ids[b]` for sample b (inject recorded
    /// draws here for parity tests).
    pub fn loss_with_templates(
        &mut self,
        frames: &Tensor,
        labels: &Tensor,
        template_ids: &[usize],
        env: &StepEnv<'_>,
    ) -> Result<LossOutput, ModelError> {
        self.text_features = None;
        let prompts = self
            .prompts
            .as_ref()
            .ok_or_else(|| ModelError::config("labels_or_label_file", "no class labels: set it to train"))?;
        let (c, k) = (prompts.num_classes(), prompts.num_templates());
        let b = frames.size().first().copied().unwrap_or(0) as usize;
        let e = err("actionclip");
        let labels_cpu: Vec<i64> = Vec::<i64>::try_from(
            labels
                .f_to_kind(Kind::Int64)
                .and_then(|l| l.f_flatten(0, -1))
                .map_err(&e)?
                .f_to_device(Device::Cpu)
                .map_err(&e)?,
        )
        .map_err(&e)?;
        if labels_cpu.len() != b || template_ids.len() != b {
            return Err(ModelError::Input {
                module: "actionclip".into(),
                message: format!(
                    "{b} samples but {} labels and {} template draws",
                    labels_cpu.len(),
                    template_ids.len()
                ),
            });
        }
        let mut rows = Vec::with_capacity(b);
        for (i, (&y, &t)) in labels_cpu.iter().zip(template_ids).enumerate() {
            if y < 0 || y as usize >= c {
                return Err(ModelError::Input {
                    module: "actionclip".into(),
                    message: format!("sample {i} has label {y}, outside the {c} classes"),
                });
            }
            if t >= k {
                return Err(ModelError::Input {
                    module: "actionclip".into(),
                    message: format!("sample {i} has template {t}, outside the {k} templates"),
                });
            }
            rows.push((t * c) as i64 + y);
        }
        let rows = Tensor::from_slice(&rows).to_device(prompts.tokens().device());
        let tokens =
            prompts.tokens().f_index_select(0, &rows).and_then(|t| t.f_to_device(self.vs.device())).map_err(&e)?;
        let (clips, v) = self.views(frames)?;
        if v != 1 {
            return Err(ModelError::Input {
                module: "actionclip".into(),
                message: format!("training takes one clip of {} frames per sample, got {v} clips", self.num_segs),
            });
        }
        let video = l2_normalize(&self.encode_video(&clips)?).map_err(&e)?;
        let text = l2_normalize(&self.encode_text(&tokens)?).map_err(&e)?;
        let video = env.gather.all_gather_with_grad(&video)?;
        let text = env.gather.all_gather_with_grad(&text)?;
        let all_labels = env.gather.all_gather_with_grad(&labels.f_to_kind(Kind::Int64).map_err(&e)?)?;
        let scale = self.clip.logit_scale.f_exp().map_err(&e)?;
        // `scale * v @ t^T` evaluates left to right upstream: `(scale * v) @ t^T`.
        let logits = video.f_mul(&scale).and_then(|v| v.f_matmul(&text.f_tr()?)).map_err(&e)?;
        self.loss.forward(&logits, &all_labels)
    }
}
