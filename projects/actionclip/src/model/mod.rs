//! The ActionCLIP recognizer: CLIP image features per frame, a temporal adapter, L2
//! norm; zero-shot scores against prompt features; contrastive training losses.
//!
//! * this file: the model, its parts and the video/text encoders;
//! * [`scoring`]: prompt text features (cached) and zero-shot class scores;
//! * [`training`]: per-sample template draws and the contrastive losses;
//! * `recognizer`: the engine's [`Recognizer`](kinema_models::Recognizer) trait.

mod recognizer;
pub mod scoring;
pub mod training;

use std::path::PathBuf;

use kinema_models::clip::{Clip, ClipArch};
use kinema_models::layers::AttentionImpl;
use kinema_models::{DataPreprocessor, ModelError};
use tch::{nn, Device, Tensor};

use crate::adapters::{AdapterDims, AdapterSpec, TemporalAdapter};
use crate::checkpoint::SourceFormat;
use crate::losses::VideoTextLoss;
use crate::prompts::TokenizedPrompts;

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
    /// Encode prompts only up to the batch's last end-of-text token, and a template's
    /// shared leading words once, for the label set's features (same features, faster).
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
    prompts: Option<TokenizedPrompts>,
    text_features: Option<Tensor>,
    options: RunOptions,
    training: bool,
    pending_pretrained: Option<PathBuf>,
    weights_format: SourceFormat,
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
            return Err(ModelError::config("num_adapter_segs", format!("must be positive, got {}", spec.num_segs)));
        }
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let clip =
            Clip::new(&(&root / "clip"), &spec.clip, options.attention).map_err(|e| ModelError::part("clip", e))?;
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
            weights_format: SourceFormat::Auto,
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
    pub fn prompts(&self) -> Option<&TokenizedPrompts> {
        self.prompts.as_ref()
    }

    /// Weights to load when training starts ([`Recognizer::init_weights`]).
    pub fn set_pending_pretrained(&mut self, path: PathBuf) {
        self.pending_pretrained = Some(path);
    }

    /// The layout of the checkpoints this model reads (`pretrained_format`; `Auto`
    /// detects it from the tensors).
    pub fn set_weights_format(&mut self, format: SourceFormat) {
        self.weights_format = format;
    }

    /// Sets the label set and templates; text features are recomputed on next use.
    pub fn set_prompts(&mut self, prompts: TokenizedPrompts) {
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
}
