//! The ActionCLIP recognizer: CLIP image features per frame, a temporal adapter, L2
//! norm; zero-shot scores against prompt features; contrastive training losses.

use std::path::PathBuf;

use kinema_models::clip::{l2_normalize, Clip, ClipArch};
use kinema_models::layers::AttentionImpl;
use kinema_models::recognizer::{LossOutput, ModelBatch, StepEnv};
use kinema_models::{DataPreprocessor, ModelError, Recognizer};
use rand::Rng;
use tch::{nn, Device, Kind, Tensor};

use crate::adapters::{AdapterDims, AdapterSpec, TemporalAdapter};
use crate::losses::VideoTextLoss;
use crate::prompts::PromptSet;
use crate::text_cache::{self, ContentHash};

/// The random stream of template draws (see [`ActionClip::draw_template_ids`]).
pub const TEMPLATE_STREAM: u64 = 0x7465_6d70_6c61_7465;

/// Prompts encoded per text-encoder call when computing a label set's features.
pub const TEXT_CHUNK: i64 = 256;

/// Prediction uses this fixed similarity scale (not `exp(logit_scale)`), as upstream.
pub const PREDICT_SCALE: f64 = 100.0;

/// The shapes of an ActionCLIP model.
#[derive(Debug)]
pub struct ActionClipSpec {
    /// CLIP's hyper-parameters.
    pub clip: ClipArch,
    /// The temporal adapter.
    pub adapter: Box<dyn AdapterSpec>,
    /// Frames per clip `T` (`num_adapter_segs`).
    pub num_segs: i64,
    /// Adapter blocks (`num_adapter_layers`).
    pub num_layers: i64,
}

/// How the model runs (not part of its weights).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Attention kernel.
    pub attention: AttentionImpl,
    /// Encode prompts only up to the batch's last end-of-text token (same features,
    /// faster).
    pub truncate_prompts: bool,
    /// Keep text features on disk here, keyed by weights + prompts.
    pub text_cache_dir: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { attention: AttentionImpl::default(), truncate_prompts: true, text_cache_dir: None }
    }
}

/// MMAction2's `ActionClip` (`projects/actionclip`), parameters named `clip.*` and
/// `adapter.*` as its checkpoints.
pub struct ActionClip {
    vs: nn::VarStore,
    clip: Clip,
    adapter: Box<dyn TemporalAdapter>,
    adapter_name: &'static str,
    num_segs: i64,
    num_layers: i64,
    preprocessor: Box<dyn DataPreprocessor>,
    loss: Box<dyn VideoTextLoss>,
    prompts: Option<PromptSet>,
    text_features: Option<Tensor>,
    options: RunOptions,
    training: bool,
    pending_pretrained: Option<(std::path::PathBuf, crate::checkpoint::SourceFormat)>,
}

impl std::fmt::Debug for ActionClip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionClip")
            .field("clip", &self.clip.arch())
            .field("adapter", &self.adapter_name)
            .field("num_segs", &self.num_segs)
            .field("num_layers", &self.num_layers)
            .field("classes", &self.prompts.as_ref().map(|p| p.num_classes()))
            .finish()
    }
}

fn err(module: &str) -> impl Fn(tch::TchError) -> ModelError + '_ {
    move |source| ModelError::Torch { module: module.to_string(), source }
}

impl ActionClip {
    /// Creates the model on `device` with random weights (CLIP as OpenAI initialises it,
    /// the adapter as MMAction2's `init_weights`), drawing from libtorch's global
    /// generator (seed it first).
    pub fn new(
        spec: &ActionClipSpec,
        device: Device,
        preprocessor: Box<dyn DataPreprocessor>,
        loss: Box<dyn VideoTextLoss>,
        options: RunOptions,
    ) -> Result<Self, ModelError> {
        if spec.num_segs <= 0 {
            return Err(ModelError::Other(format!("num_adapter_segs must be positive, got {}", spec.num_segs)));
        }
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let clip = Clip::new(&(&root / "clip"), &spec.clip, options.attention)
            .map_err(|e| ModelError::Other(format!("clip: {e}")))?;
        let dims = AdapterDims {
            embed_dim: spec.clip.embed_dim,
            text_width: spec.clip.transformer_width,
            num_segs: spec.num_segs,
            num_layers: spec.num_layers,
        };
        let adapter = spec.adapter.instantiate(&(&root / "adapter"), &dims)?;
        Ok(ActionClip {
            vs,
            clip,
            adapter,
            adapter_name: spec.adapter.name(),
            num_segs: spec.num_segs,
            num_layers: spec.num_layers,
            preprocessor,
            loss,
            prompts: None,
            text_features: None,
            options,
            training: false,
            pending_pretrained: None,
        })
    }

    /// The CLIP model.
    pub fn clip(&self) -> &Clip {
        &self.clip
    }

    /// The adapter's registered name.
    pub fn adapter_name(&self) -> &'static str {
        self.adapter_name
    }

    /// Frames per clip `T`.
    pub fn num_segs(&self) -> i64 {
        self.num_segs
    }

    /// Adapter blocks.
    pub fn num_layers(&self) -> i64 {
        self.num_layers
    }

    /// The input side length (CLIP's `image_resolution`).
    pub fn input_resolution(&self) -> i64 {
        self.clip.arch().image_resolution
    }

    /// The prompts scores are computed against, if set.
    pub fn prompts(&self) -> Option<&PromptSet> {
        self.prompts.as_ref()
    }

    /// Weights to load when training starts ([`Recognizer::init_weights`]).
    pub fn set_pending_pretrained(&mut self, path: std::path::PathBuf, format: crate::checkpoint::SourceFormat) {
        self.pending_pretrained = Some((path, format));
    }

    /// Sets the label set and templates; text features are recomputed on next use.
    pub fn set_prompts(&mut self, prompts: PromptSet) {
        self.prompts = Some(prompts);
        self.text_features = None;
    }

    /// Changes how the model runs (attention kernel, truncation, cache folder).
    pub fn set_run_options(&mut self, options: RunOptions) {
        self.clip.set_attention_impl(options.attention);
        self.options = options;
        self.text_features = None;
    }

    /// Forgets the cached text features (after the weights changed).
    pub fn invalidate_text_features(&mut self) {
        self.text_features = None;
    }

    /// Raw frames (any numeric dtype) -> normalised fp32 by the data preprocessor.
    pub fn preprocess(&self, frames: &Tensor) -> Result<Tensor, ModelError> {
        self.preprocessor.process(frames)
    }

    /// `images` [N, 3, R, R] normalised -> CLIP image features [N, D].
    pub fn encode_image(&self, images: &Tensor) -> Result<Tensor, ModelError> {
        self.clip.encode_image(images)
    }

    /// `tokens` [N, 77] -> CLIP text features [N, D] (unnormalised), truncated to the
    /// last end-of-text position when the run options say so.
    pub fn encode_text(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
        if self.options.truncate_prompts {
            self.clip.text.forward_truncated(tokens)
        } else {
            self.clip.text.forward(tokens)
        }
    }

    /// `frames` [B, T, 3, R, R] normalised -> video features [B, D] (unnormalised;
    /// MMAction2's `encode_video`).
    pub fn encode_video(&self, frames: &Tensor) -> Result<Tensor, ModelError> {
        let size = frames.size();
        let r = self.input_resolution();
        let (b, t) = match size.as_slice() {
            [b, t, 3, h, w] if *h == r && *w == r => (*b, *t),
            _ => {
                return Err(ModelError::Input {
                    module: "actionclip".into(),
                    message: format!("expected frames [B, T, 3, {r}, {r}], got {size:?}"),
                })
            }
        };
        let e = err("actionclip");
        let images = frames.f_reshape([b * t, 3, r, r]).map_err(&e)?;
        let feats = self.encode_image(&images)?;
        let feats = feats.f_view([b, t, -1]).map_err(&e)?;
        self.adapter.forward(&feats, self.training)
    }

    /// Splits `frames` [B, N, 3, R, R] into `V = N / T` views -> [B * V, T, 3, R, R], V.
    fn views(&self, frames: &Tensor) -> Result<(Tensor, i64), ModelError> {
        let size = frames.size();
        let t = self.num_segs;
        match size.as_slice() {
            [b, n, c, h, w] if *n > 0 && n % t == 0 => {
                let v = n / t;
                let x = frames.f_reshape([b * v, t, *c, *h, *w]).map_err(err("actionclip"))?;
                Ok((x, v))
            }
            _ => Err(ModelError::Input {
                module: "actionclip".into(),
                message: format!(
                    "expected frames [B, V*{t}, 3, H, W] (a multiple of the model's {t} frames per clip), got {size:?}"
                ),
            }),
        }
    }

    /// Normalised text features of every prompt `[K * C, D]`, computed once per
    /// prompt set (and read from / written to the disk cache when configured).
    pub fn text_features(&mut self) -> Result<Tensor, ModelError> {
        if let Some(t) = &self.text_features {
            return Ok(t.shallow_clone());
        }
        let prompts = self.prompts.as_ref().ok_or_else(|| {
            ModelError::Other("no class labels: set `labels_or_label_file` (or call set_prompts) to predict".into())
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
        let feats = tch::no_grad(|| -> Result<Tensor, ModelError> {
            // Chunks bound the activation memory (6400 prompts at once need several GB).
            // With truncation, prompts are grouped by length first so each chunk stops
            // at its own last end-of-text token; rows are put back in order after.
            let e = err("text");
            let order = if self.options.truncate_prompts {
                tokens.f_argmax(-1, false).and_then(|eot| eot.f_argsort(0, false)).map_err(&e)?
            } else {
                Tensor::f_arange(rows, (Kind::Int64, tokens.device())).map_err(&e)?
            };
            let sorted = tokens.f_index_select(0, &order).map_err(&e)?;
            let mut parts = Vec::new();
            let mut start = 0;
            while start < rows {
                let n = TEXT_CHUNK.min(rows - start);
                let chunk = sorted.f_narrow(0, start, n).map_err(&e)?;
                parts.push(l2_normalize(&self.encode_text(&chunk)?).map_err(&e)?);
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
        let (clips, v) = self.views(frames)?;
        let text = self.text_features()?;
        let c = self.prompts.as_ref().map(|p| p.num_classes() as i64).unwrap_or(1);
        let e = err("actionclip");
        let video = tch::no_grad(|| -> Result<Tensor, ModelError> {
            let f = self.encode_video(&clips)?;
            l2_normalize(&f).map_err(&e)
        })?;
        // `(100 * v) @ t^T`, in upstream's order (the rounding differs from `100 * (v @ t^T)`).
        let sim = video.f_mul_scalar(PREDICT_SCALE).and_then(|v| v.f_matmul(&text.f_tr()?)).map_err(&e)?;
        let k = sim.size()[1] / c;
        sim.f_view([b, v * k, c])
            .and_then(|s| s.f_softmax(2, Kind::Float))
            .and_then(|s| s.f_mean_dim(1, false, None))
            .map_err(e)
    }

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
            .ok_or_else(|| ModelError::Other("no class labels: set `labels_or_label_file` to train".into()))?;
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

impl Recognizer for ActionClip {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        self.text_features = None;
        &mut self.vs
    }

    fn set_training(&mut self, training: bool) {
        if training {
            self.text_features = None;
        }
        self.training = training;
    }

    fn init_weights(&mut self) -> Result<(), ModelError> {
        if let Some((path, format)) = self.pending_pretrained.take() {
            let ck = crate::checkpoint::read_checkpoint(&path, format, Some(self.num_segs))
                .map_err(|e| ModelError::Other(format!("model.pretrained: {e}")))?;
            self.text_features = None;
            crate::config::load_pretrained(self, &ck)
                .map_err(|e| ModelError::Other(format!("model.pretrained: {e}")))?;
        }
        Ok(())
    }

    fn loss(&mut self, batch: &ModelBatch, env: &StepEnv<'_>) -> Result<LossOutput, ModelError> {
        let k = self.prompts.as_ref().map(|p| p.num_templates()).unwrap_or(1);
        let ids = Self::draw_template_ids(env.seed, batch.epoch, &batch.indices, k);
        let frames = self.preprocessor.process(&batch.inputs)?;
        self.loss_with_templates(&frames, &batch.labels, &ids, env)
    }

    fn predict(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        let frames = self.preprocessor.process(&batch.inputs)?;
        self.predict_frames(&frames)
    }

    fn features(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        let frames = self.preprocessor.process(&batch.inputs)?;
        let b = frames.size().first().copied().unwrap_or(0);
        let (clips, v) = self.views(&frames)?;
        let f = self.encode_video(&clips)?;
        if v == 1 {
            Ok(f)
        } else {
            f.f_view([b, v, -1]).map_err(err("actionclip"))
        }
    }
}
