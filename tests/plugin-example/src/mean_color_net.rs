//! `MeanColorNet`: a recognizer in a user's crate. It classifies a clip from its mean
//! colour per frame position (a linear layer on `[T, 3]` means), which is enough to show
//! a plugin model training, testing and inferring through Kinema's stock commands.

use kinema_core::registry::{build, BoxError, BuildSite};
use kinema_core::{register, Component, ComponentSpec};
use kinema_models::recognizer::{
    LossOutput, ModelBatch, ModelContext, ModelError, Recognizer, RecognizerKind, StepEnv,
};
use kinema_models::{DataPreprocessor, DataPreprocessorKind};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// A linear classifier on the mean colour of each of the clip's `num_frames` frames.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeanColorNetConfig {
    /// Number of classes.
    pub num_classes: i64,
    /// Frames per clip.
    pub num_frames: i64,
    /// The data preprocessor (to fp32 in [0, 255] by default).
    #[serde(default = "default_preprocessor")]
    pub data_preprocessor: ComponentSpec<DataPreprocessorKind>,
}

fn default_preprocessor() -> ComponentSpec<DataPreprocessorKind> {
    ComponentSpec::new(serde_json::json!({ "type": "ActionDataPreprocessor" }))
}

/// The model.
pub struct MeanColorNet {
    vs: nn::VarStore,
    head: nn::Linear,
    num_frames: i64,
    preprocessor: Box<dyn DataPreprocessor>,
}

impl Component<RecognizerKind> for MeanColorNet {
    type Config = MeanColorNetConfig;
    fn build(c: &Self::Config, ctx: &ModelContext, site: &BuildSite<'_>) -> Result<Box<dyn Recognizer>, BoxError> {
        if c.num_classes < 1 || c.num_frames < 1 {
            return Err("num_classes and num_frames must be positive".into());
        }
        let preprocessor =
            build::<DataPreprocessorKind>(&c.data_preprocessor.value, &site.key("data_preprocessor"), ctx)?
                .into_inner();
        let vs = nn::VarStore::new(ctx.device);
        let head = nn::linear(vs.root() / "cls_head", 3 * c.num_frames, c.num_classes, Default::default());
        Ok(Box::new(MeanColorNet { vs, head, num_frames: c.num_frames, preprocessor }))
    }
}
register!(RecognizerKind, "MeanColorNet", MeanColorNet);

impl MeanColorNet {
    /// `[B, T, 3, H, W]` fp32 in 0-255 -> logits `[B, C]`.
    fn logits(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        let size = inputs.size();
        if size.len() != 5 || size[1] != self.num_frames || size[2] != 3 {
            return Err(ModelError::Input {
                module: "MeanColorNet".into(),
                message: format!("expected [B, {}, 3, H, W], got {size:?}", self.num_frames),
            });
        }
        let means = inputs.mean_dim([3i64, 4].as_slice(), false, Kind::Float) / 255.0;
        Ok(self.head.forward(&means.flatten(1, -1)))
    }
}

impl Recognizer for MeanColorNet {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }
    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }
    fn set_training(&mut self, _: bool) {}
    fn loss(&mut self, batch: &ModelBatch, _: &StepEnv<'_>) -> Result<LossOutput, ModelError> {
        let logits = self.logits(&self.preprocess(&batch.inputs)?)?;
        Ok(vec![("loss_cls".into(), logits.cross_entropy_for_logits(&batch.labels))])
    }
    fn preprocess(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        self.preprocessor.process(inputs)
    }
    fn predict_inputs(&mut self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        Ok(self.logits(inputs)?.softmax(-1, Kind::Float))
    }
    fn features(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        self.logits(&self.preprocess(&batch.inputs)?)
    }
}
