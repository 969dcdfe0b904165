//! `type = "Recognizer2D"`: MMAction2's 2D recognizer. The frames of every view of a
//! sample (`[B, N, 3, H, W]`) go through the backbone as one batch of `B * N` images; the
//! head turns the features into class scores (TSN averages the N segments first, TSM
//! averages per clip of T frames), and test views are combined by `average_clips`.

use kinema_core::registry::{build, BoxError, BuildSite};
use kinema_core::{register, Component, ComponentSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::{nn, Tensor};

use crate::backbones::{Backbone, BackboneKind};
use crate::data_preprocessor::{DataPreprocessor, DataPreprocessorKind};
use crate::heads::{Head, HeadKind};
use crate::recognizer::{LossOutput, ModelBatch, ModelContext, ModelError, Recognizer, RecognizerKind, StepEnv};

/// MMAction2's `Recognizer2D` arguments.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recognizer2DConfig {
    /// The backbone (`ResNet`, `ResNetTSM`).
    pub backbone: ComponentSpec<BackboneKind>,
    /// The classification head (`TSNHead`, `TSMHead`).
    pub cls_head: ComponentSpec<HeadKind>,
    /// Frames to model input (default: `ActionDataPreprocessor` without normalisation,
    /// as MMAction2).
    #[serde(default = "default_preprocessor")]
    pub data_preprocessor: ComponentSpec<DataPreprocessorKind>,
    /// Training options: none are used by 2D recognizers (an empty table or no key).
    #[serde(default)]
    pub train_cfg: Option<serde_json::Map<String, serde_json::Value>>,
    /// Test options.
    #[serde(default)]
    pub test_cfg: Option<TestCfg>,
}

/// `test_cfg` of a 2D recognizer.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCfg {
    /// Run the backbone on at most this many images at a time (memory; same scores).
    /// A multiple of the backbone's `num_segments` when it has one. Unset, Kinema runs
    /// [`TEST_CHUNK_IMAGES`] images at a time (rounded up to a multiple of `num_segments`),
    /// which MMAction2 does not: the scores are the same up to float rounding, the peak
    /// memory a fraction, and the run faster (activations stay small).
    #[serde(default)]
    pub max_testing_views: Option<i64>,
    /// Fully-convolutional testing: not available (false).
    #[serde(default)]
    pub fcn_test: bool,
}

/// Images per backbone call at test time when `test_cfg.max_testing_views` is unset.
pub const TEST_CHUNK_IMAGES: i64 = 16;

fn default_preprocessor() -> ComponentSpec<DataPreprocessorKind> {
    ComponentSpec::new(json!({"type": "ActionDataPreprocessor"}))
}

/// A built 2D recognizer.
pub struct Recognizer2D {
    vs: nn::VarStore,
    backbone: Box<dyn Backbone>,
    head: Box<dyn Head>,
    preprocessor: Box<dyn DataPreprocessor>,
    /// Images per backbone call at test time.
    test_chunk: i64,
    num_segments: Option<i64>,
    training: bool,
}

fn err(source: tch::TchError) -> ModelError {
    ModelError::Torch { module: "recognizer".into(), source }
}

impl Recognizer2D {
    /// Builds the model on `ctx.device`.
    pub fn new(config: &Recognizer2DConfig, ctx: &ModelContext, site: &BuildSite<'_>) -> Result<Self, ModelError> {
        let test_cfg = config.test_cfg.clone().unwrap_or_default();
        if test_cfg.fcn_test {
            return Err(ModelError::config(
                "test_cfg.fcn_test",
                "fully-convolutional testing is not available; expected false",
            ));
        }
        if let Some(extra) = config.train_cfg.as_ref().and_then(|t| t.keys().next()) {
            return Err(ModelError::config(format!("train_cfg.{extra}"), "2D recognizers take no training options"));
        }
        let backbone_spec = build::<BackboneKind>(&config.backbone.value, &site.key("backbone"), &())?.into_inner();
        let head_spec = build::<HeadKind>(&config.cls_head.value, &site.key("cls_head"), &())?.into_inner();
        let preprocessor =
            build::<DataPreprocessorKind>(&config.data_preprocessor.value, &site.key("data_preprocessor"), ctx)?
                .into_inner();
        let num_segments = backbone_spec.num_segments();
        if let (Some(v), Some(t)) = (test_cfg.max_testing_views, num_segments) {
            if v < 1 || v % t != 0 {
                return Err(ModelError::config(
                    "test_cfg.max_testing_views",
                    format!("expected a positive multiple of the backbone's num_segments = {t}, got {v}"),
                ));
            }
        }
        let vs = nn::VarStore::new(ctx.device);
        let backbone = backbone_spec.instantiate(&(vs.root() / "backbone"))?;
        let head = head_spec.instantiate(&(vs.root() / "cls_head"))?;
        Ok(Recognizer2D {
            vs,
            backbone,
            head,
            preprocessor,
            test_chunk: test_cfg.max_testing_views.filter(|&v| v > 0).unwrap_or_else(|| {
                let segs = num_segments.unwrap_or(1).max(1);
                (TEST_CHUNK_IMAGES + segs - 1) / segs * segs
            }),
            num_segments,
            training: false,
        })
    }

    /// `[B, N, 3, H, W]` -> (backbone features of the `B * N` images, N).
    fn extract_feat(&self, inputs: &Tensor, train: bool) -> Result<(Tensor, i64), ModelError> {
        let size = inputs.size();
        if size.len() != 5 {
            return Err(ModelError::Input {
                module: "recognizer".into(),
                message: format!("expected frames [B, N, C, H, W] (FormatShape NCHW), got {size:?}"),
            });
        }
        let images = inputs.f_reshape([-1, size[2], size[3], size[4]]).map_err(err)?;
        let feats = if !train && images.size()[0] > self.test_chunk {
            let parts: Result<Vec<Tensor>, ModelError> =
                images.split(self.test_chunk, 0).iter().map(|c| self.last_stage(c, false)).collect();
            Tensor::f_cat(&parts?, 0).map_err(err)?
        } else {
            self.last_stage(&images, train)?
        };
        Ok((feats, size[1]))
    }

    fn last_stage(&self, images: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let mut outs = self.backbone.forward(images, train)?;
        match outs.len() {
            1 => Ok(outs.remove(0)),
            n => Err(ModelError::config(
                "backbone.out_indices",
                format!("the head takes one feature map; the backbone returns {n}"),
            )),
        }
    }
}

impl Recognizer for Recognizer2D {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn init_weights(&mut self) -> Result<(), ModelError> {
        self.backbone.init_weights(&self.vs, "backbone")
    }

    fn loss(&mut self, batch: &ModelBatch, _env: &StepEnv<'_>) -> Result<LossOutput, ModelError> {
        let inputs = self.preprocessor.process(&batch.inputs)?;
        let (feats, num_segs) = self.extract_feat(&inputs, self.training)?;
        let scores = self.head.forward(&feats, num_segs, self.training)?;
        self.head.loss(&scores, &batch.labels)
    }

    fn preprocess(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        self.preprocessor.process(inputs)
    }

    fn predict_inputs(&mut self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        let (feats, num_segs) = self.extract_feat(inputs, self.training)?;
        let scores = self.head.forward(&feats, num_segs, self.training)?;
        self.head.predict(&scores, inputs.size()[0])
    }

    fn features(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        let inputs = self.preprocessor.process(&batch.inputs)?;
        Ok(self.extract_feat(&inputs, self.training)?.0)
    }

    fn default_test_pipeline(&self) -> Option<serde_json::Value> {
        let clips = self.num_segments.unwrap_or(8);
        Some(json!([
            {"type": "DecordInit"},
            {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": clips, "test_mode": true},
            {"type": "DecordDecode"},
            {"type": "Resize", "scale": [-1, 256]},
            {"type": "CenterCrop", "crop_size": 224},
            {"type": "FormatShape", "input_format": "NCHW"},
            {"type": "PackActionInputs"},
        ]))
    }
}

impl Component<RecognizerKind> for Recognizer2D {
    type Config = Recognizer2DConfig;
    fn build(config: &Self::Config, ctx: &ModelContext, site: &BuildSite<'_>) -> Result<Box<dyn Recognizer>, BoxError> {
        Ok(Box::new(Recognizer2D::new(config, ctx, site)?))
    }
}

register!(RecognizerKind, "Recognizer2D", Recognizer2D);
