//! A tiny model and synthetic data for runner tests: frames whose colour depends on the
//! class (plus noise), and a linear probe on mean-pooled pixels.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::{register, Component, Config};
use kinema_data::{FrameStack, Label, Sample, Transform, TransformError, TransformKind};
use kinema_models::recognizer::{
    LossOutput, ModelBatch, ModelContext, ModelError, Recognizer, RecognizerKind, StepEnv,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Kind, Tensor};

/// Frames filled with a colour that encodes the label, plus per-pixel noise.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassColorFramesConfig {}

/// The test "decoder".
pub struct ClassColorFrames;

impl Component<TransformKind> for ClassColorFrames {
    type Config = ClassColorFramesConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        Ok(Box::new(ClassColorFrames))
    }
}
register!(TransformKind, "ClassColorFrames", ClassColorFrames);

impl Transform for ClassColorFrames {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        let label = match s.label {
            Label::Index(i) => i,
            _ => return Err(TransformError::Invalid("needs a class index".into())),
        };
        let inds = s.frame_inds.clone().ok_or(TransformError::Missing("frame_inds"))?;
        let (h, w) = (8, 8);
        let base = [(label * 60) % 256, (label * 110 + 40) % 256, (255 - label * 50).rem_euclid(256)];
        let mut data = Vec::with_capacity(inds.len() * h * w * 3);
        for _ in &inds {
            for _ in 0..h * w {
                for c in base {
                    let noise: i64 = rng.random_range(-40..=40);
                    data.push((c + noise).clamp(0, 255) as u8);
                }
            }
        }
        s.imgs = FrameStack::new(data, inds.len(), h, w, 3);
        s.img_shape = Some([h, w]);
        s.original_shape = Some([h, w]);
        Ok(())
    }
}

/// A linear classifier on the mean colour of all frames.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColorProbeConfig {
    /// Number of classes.
    pub num_classes: i64,
}

/// The test model.
pub struct ColorProbe {
    vs: nn::VarStore,
    weight: Tensor,
    bias: Tensor,
}

impl Component<RecognizerKind> for ColorProbe {
    type Config = ColorProbeConfig;
    fn build(config: &Self::Config, ctx: &ModelContext, _: &BuildSite<'_>) -> Result<Box<dyn Recognizer>, BoxError> {
        let vs = nn::VarStore::new(ctx.device);
        // Created in PyTorch's `named_parameters()` order (weight, then bias), which
        // MMEngine's per-parameter groups follow; tch's `nn::linear` creates the bias first.
        let p = vs.root() / "cls_head";
        let bound = 1.0 / 3f64.sqrt();
        let weight = p.var("weight", &[config.num_classes, 3], nn::Init::Uniform { lo: -bound, up: bound });
        let bias = p.var("bias", &[config.num_classes], nn::Init::Uniform { lo: -bound, up: bound });
        Ok(Box::new(ColorProbe { vs, weight, bias }))
    }
}
register!(RecognizerKind, "ColorProbe", ColorProbe);

impl ColorProbe {
    fn logits_of(&self, inputs: &Tensor) -> Tensor {
        // [B, T, 3, H, W] in [0, 1] -> mean colour [B, 3]
        inputs.mean_dim([1i64, 3, 4].as_slice(), false, Kind::Float).linear(&self.weight, Some(&self.bias))
    }

    fn logits(&self, batch: &ModelBatch) -> Tensor {
        self.logits_of(&(batch.inputs.to_kind(Kind::Float) / 255.0))
    }
}

impl Recognizer for ColorProbe {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }
    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }
    fn set_training(&mut self, _: bool) {}
    fn loss(&mut self, batch: &ModelBatch, _: &StepEnv<'_>) -> Result<LossOutput, ModelError> {
        let loss = self.logits(batch).cross_entropy_for_logits(&batch.labels);
        Ok(vec![("loss_cls".into(), loss)])
    }
    fn preprocess(&self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        Ok(inputs.to_kind(Kind::Float) / 255.0)
    }
    fn predict_inputs(&mut self, inputs: &Tensor) -> Result<Tensor, ModelError> {
        Ok(self.logits_of(inputs).softmax(-1, Kind::Float))
    }
    fn features(&mut self, batch: &ModelBatch) -> Result<Tensor, ModelError> {
        Ok(self.logits(batch))
    }
}

/// Writes annotation lists (`vidN 8 label`) for `n_train` / `n_val` samples of 4 classes
/// and returns a config training `ColorProbe` on them.
pub fn probe_config(dir: &Path, n_train: usize, n_val: usize, extra: &str) -> Config {
    let list =
        |n: usize, offset: usize| -> String { (0..n).map(|i| format!("vid{} 8 {}\n", i + offset, i % 4)).collect() };
    std::fs::write(dir.join("train.txt"), list(n_train, 0)).unwrap();
    std::fs::write(dir.join("val.txt"), list(n_val, 1000)).unwrap();
    let pipeline = r#"[
  { type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 2, test_mode = true },
  { type = "ClassColorFrames" },
  { type = "FormatShape", input_format = "NCHW" },
  { type = "PackActionInputs" },
]"#;
    let text = format!(
        r#"
work_dir = "{work}"
randomness = {{ seed = 3 }}

[model]
type = "ColorProbe"
num_classes = 4

[train_dataloader]
batch_size = 4
num_workers = 2
sampler = {{ type = "DefaultSampler", shuffle = true }}
dataset = {{ type = "RawframeDataset", ann_file = "{train}", pipeline = {pipeline} }}

[val_dataloader]
batch_size = 5
num_workers = 1
sampler = {{ type = "DefaultSampler", shuffle = false }}
dataset = {{ type = "RawframeDataset", ann_file = "{val}", test_mode = true, pipeline = {pipeline} }}

[train_cfg]
type = "EpochBasedTrainLoop"
max_epochs = 4
val_interval = 2

[val_cfg]
type = "ValLoop"

[val_evaluator]
type = "AccMetric"

[optim_wrapper]
optimizer = {{ type = "SGD", lr = 0.5, momentum = 0.9 }}

[[param_scheduler]]
type = "LinearLR"
start_factor = 0.5
by_epoch = true
begin = 0
end = 2
convert_to_iter_based = true

[default_hooks]
logger = {{ type = "LoggerHook", interval = 2 }}
checkpoint = {{ type = "CheckpointHook", interval = 1, max_keep_ckpts = 2, save_best = "auto" }}

[visualizer]
vis_backends = [{{ type = "LocalVisBackend" }}, {{ type = "TensorboardVisBackend" }}]
{extra}
"#,
        work = dir.join("work").display(),
        train = dir.join("train.txt").display(),
        val = dir.join("val.txt").display(),
    );
    std::fs::write(dir.join("probe.toml"), &text).unwrap();
    Config::load(dir.join("probe.toml"), &[] as &[&str]).unwrap()
}

/// libtorch's random generator is process-global: runner tests take this lock so that one
/// test's seeding is not interleaved with another's draws.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every model weight, flattened, in name order.
pub fn weights(runner: &kinema_engine::Runner) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = runner
        .model
        .var_store()
        .variables()
        .into_iter()
        .map(|(k, t)| (k, Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
