//! The contract between models and the engine.
//!
//! The engine builds the model from the config's `model` table
//! (`registry::build::<RecognizerKind>`), moves batches to the model's device, and calls
//! [`Recognizer::loss`] in training and [`Recognizer::predict`] in validation and test.
//! Parameter names in the model's `VarStore` are the PyTorch `state_dict` keys
//! (`clip.visual.conv1.weight`), so checkpoints load without renaming.

use kinema_core::Kind;
use kinema_torch::checkpoint::{Checkpoint, LoadReport};
use tch::{nn, Device, Tensor};

use crate::weights::NamedTensors;

/// What every model build function receives.
#[derive(Debug, Clone)]
pub struct ModelContext {
    /// Where the parameters live.
    pub device: Device,
    /// The run's seed (random initialisation is seeded by the engine before building).
    pub seed: u64,
}

/// The registry kind of whole models (MMAction2's recognizers: `Recognizer2D`, ...).
pub struct RecognizerKind;

impl Kind for RecognizerKind {
    const NAME: &'static str = "model";
    type Context = ModelContext;
    type Output = dyn Recognizer;
}

/// One batch as the model sees it.
#[derive(Debug)]
pub struct ModelBatch {
    /// Raw frames as collated by the loader, uint8, `[B, N, 3, H, W]` for `NCHW` pipelines
    /// (N = views x frames) or `[B, V, 3, T, H, W]` for `NCTHW`; on the model's device.
    pub inputs: Tensor,
    /// Ground-truth class per sample, int64 `[B]` (-1 when unknown); on the model's device.
    pub labels: Tensor,
    /// The dataset index of each sample (seeds per-sample random choices).
    pub indices: Vec<usize>,
    /// The epoch (seeds per-sample random choices).
    pub epoch: u64,
}

/// Named scalar losses; the engine sums every entry whose name contains `loss`
/// (MMEngine's `parse_losses`) and logs each one.
pub type LossOutput = Vec<(String, Tensor)>;

/// Cross-process feature exchange for losses that need the global batch (contrastive
/// losses). Single-process runs use [`LocalGather`].
pub trait FeatureGather: Send + Sync {
    /// Concatenates `t` from every rank along dim 0, in rank order. The gradient that flows
    /// back is this rank's slice only (MMAction2's `GatherLayer` semantics).
    fn all_gather_with_grad(&self, t: &Tensor) -> Result<Tensor, ModelError>;
    /// The number of processes.
    fn world_size(&self) -> usize;
    /// This process's rank.
    fn rank(&self) -> usize;
}

/// The single-process [`FeatureGather`]: the identity.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalGather;

impl FeatureGather for LocalGather {
    fn all_gather_with_grad(&self, t: &Tensor) -> Result<Tensor, ModelError> {
        Ok(t.shallow_clone())
    }
    fn world_size(&self) -> usize {
        1
    }
    fn rank(&self) -> usize {
        0
    }
}

/// Everything a training step may need besides the batch.
pub struct StepEnv<'a> {
    /// The run's seed, for per-sample random choices (with the batch's indices and epoch).
    pub seed: u64,
    /// Feature exchange across ranks.
    pub gather: &'a dyn FeatureGather,
}

/// A model the engine can train and evaluate, and the inference tools run.
pub trait Recognizer: Send {
    /// The parameters, named like the PyTorch `state_dict`.
    fn var_store(&self) -> &nn::VarStore;
    /// Mutable access to the parameters (loading checkpoints, moving devices).
    fn var_store_mut(&mut self) -> &mut nn::VarStore;
    /// Switches dropout and similar layers between training and evaluation behaviour.
    fn set_training(&mut self, training: bool);
    /// Training-time initialisation (MMEngine's `init_weights`, which the runner calls
    /// only when training starts, before resuming): e.g. loading `pretrained` weights.
    /// Testing and inference never call it.
    fn init_weights(&mut self) -> Result<(), ModelError> {
        Ok(())
    }
    /// The training losses of a batch (`mode='loss'`).
    fn loss(&mut self, batch: &ModelBatch, env: &StepEnv<'_>) -> Result<LossOutput, ModelError>;
    /// Raw collated frames (uint8, on the model's device) -> the normalised input the
    /// model computes on (the model's data preprocessor).
    fn preprocess(&self, inputs: &Tensor) -> Result<Tensor, ModelError>;
    /// Class scores `[B, C]` of preprocessed inputs, views already averaged.
    fn predict_inputs(&mut self, inputs: &Tensor) -> Result<Tensor, ModelError>;
    /// Class scores `[B, C]` for a batch (`mode='predict'`), views already averaged.
    fn predict(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        let inputs = self.preprocess(&batch.inputs)?;
        self.predict_inputs(&inputs)
    }
    /// Raw features of a batch (`mode='tensor'`).
    fn features(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError>;
    /// Per-frame features `[N, ...]` of preprocessed single frames `[N, 3, H, W]`, for
    /// models whose clip scores see each frame only through such features (an image
    /// encoder followed by a temporal head): overlapping windows of a long video then
    /// share them, each frame encoded once. `None` (the default) for models that mix
    /// frames earlier (temporal shift, 3D convolutions): windows run the whole model.
    fn frame_features(&mut self, _frames: &Tensor) -> Result<Option<Tensor>, ModelError> {
        Ok(None)
    }
    /// Class scores `[W, C]` of `W` clips given as their frames' features `[W, T, ...]`
    /// from [`Recognizer::frame_features`]; equal to [`Recognizer::predict_inputs`] on
    /// those frames.
    fn score_frame_features(&mut self, _features: &Tensor) -> Result<Tensor, ModelError> {
        Err(ModelError::Input {
            module: "recognizer".into(),
            message: "this model does not score clips from per-frame features".into(),
        })
    }
    /// Clip embeddings `[W, D]` of `W` clips given as their frames' features `[W, T, ...]`:
    /// what [`Recognizer::features`] gives for those frames.
    fn embed_frame_features(&mut self, _features: &Tensor) -> Result<Tensor, ModelError> {
        Err(ModelError::Input {
            module: "recognizer".into(),
            message: "this model does not embed clips from per-frame features".into(),
        })
    }
    /// The embeddings of the class texts `[rows, D]` a zero-shot model compares clips
    /// with (normalised, one row per prompt), when it has them.
    fn text_embeddings(&mut self) -> Result<Option<Tensor>, ModelError> {
        Ok(None)
    }
    /// A checkpoint's tensors under this model's parameter names. The default takes the
    /// file's state dict as it is (MMAction2 and Kinema checkpoints use the model's
    /// names); models that also read foreign layouts (OpenAI CLIP, torchvision) rename
    /// here.
    fn adapt_weights(&self, checkpoint: &Checkpoint) -> Result<NamedTensors, ModelError> {
        Ok(checkpoint.tensors.iter().map(|(k, t)| (k.clone(), t.shallow_clone())).collect())
    }
    /// The class names the scores are for, when the model knows them (a zero-shot model's
    /// label set). Fixed-class models leave this to the config's label map.
    fn class_names(&self) -> Option<Vec<String>> {
        None
    }
    /// A test pipeline for inference without a config (`[{type = "DecordInit"}, ...]`),
    /// when the model can tell one from its own shapes.
    fn default_test_pipeline(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Errors of model building, loading and running. Each names the module, the config key
/// or the file concerned; errors from other layers are kept as the cause.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An input had the wrong shape or type; says which and what was expected.
    #[error("{module}: {message}")]
    Input {
        /// The module path (`adapter`, `clip.visual`).
        module: String,
        /// What was wrong and expected.
        message: String,
    },
    /// A libtorch operation failed.
    #[error("{module}: libtorch error: {source}")]
    Torch {
        /// The module path.
        module: String,
        /// The error.
        source: tch::TchError,
    },
    /// A config value is missing, out of range or inconsistent.
    #[error("`{key}`: {message}")]
    Config {
        /// The config key (`num_adapter_segs`, `data_preprocessor.std`).
        key: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A checkpoint file could not be read (the error names the file).
    #[error(transparent)]
    Checkpoint(#[from] kinema_torch::checkpoint::CheckpointError),
    /// A checkpoint's tensors do not fit the model (missing, unexpected, wrong shapes).
    #[error("{0}")]
    Weights(Box<LoadReport>),
    /// A checkpoint is readable but not what the model expects.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A component of the model could not be built from its config table.
    #[error("{0}")]
    Build(#[from] kinema_core::BuildError),
    /// A part of the model failed for a reason of its own (text, files); `what` says
    /// which part, the cause follows.
    #[error("{what}: {}", kinema_core::registry::chain_text(source.as_ref()))]
    Part {
        /// The part and what it was doing (`prompts`, `text cache`).
        what: String,
        /// The cause.
        source: kinema_core::registry::BoxError,
    },
}

impl ModelError {
    /// A [`ModelError::Config`] for `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::Config { key: key.into(), message: message.into() }
    }

    /// A [`ModelError::Part`]: `what` failed because of `source`.
    pub fn part(what: impl Into<String>, source: impl Into<kinema_core::registry::BoxError>) -> Self {
        ModelError::Part { what: what.into(), source: source.into() }
    }
}
