//! Zero-shot inference helpers shared by `tools/infer` and library users: a model built
//! from any checkpoint (architecture from its shapes, like upstream `init_actionclip`),
//! the default test pipeline, top-k.

use std::path::Path;

use kinema_models::data_preprocessor::ActionDataPreprocessorConfig;
use kinema_models::weights::{load_into_varstore, LoadMode};
use kinema_models::{ActionDataPreprocessor, DataPreprocessor, ModelError, Recognizer};
use serde_json::{json, Value};
use tch::Device;

use crate::checkpoint::{infer_spec, read_checkpoint, spec::build_named, SourceFormat};
use crate::losses::CrossEntropyLoss;
use crate::model::{ActionClip, RunOptions};

/// Loads an ActionCLIP model for inference from a checkpoint of any supported format.
/// A CLIP-only checkpoint (OpenAI's) gets the parameter-free `meanP` adapter, i.e.
/// plain CLIP zero-shot with frame averaging. `default_segs` is used only when the
/// checkpoint does not say how many frames a clip has.
pub fn load_for_inference(
    path: &Path,
    format: SourceFormat,
    device: Device,
    default_segs: Option<i64>,
    preprocessor: Option<Box<dyn DataPreprocessor>>,
    options: RunOptions,
) -> Result<ActionClip, Box<dyn std::error::Error + Send + Sync>> {
    let ck = read_checkpoint(path, format, default_segs)?;
    let fallback = if ck.is_clip_only() {
        log::info!("{} holds only CLIP: using the parameter-free meanP adapter", path.display());
        Some(build_named("meanP")?)
    } else {
        None
    };
    let inferred = infer_spec(&ck, default_segs.or(Some(8)), 6, fallback)?;
    if !inferred.segs_from_checkpoint {
        log::info!("frames per clip: {} (not recorded in the checkpoint)", inferred.spec.num_segs);
    }
    let preprocessor = match preprocessor {
        Some(p) => p,
        None => Box::new(ActionDataPreprocessor::new(&ActionDataPreprocessorConfig::default(), device)?),
    };
    // Every parameter is overwritten below (strictly; a CLIP-only file gets the
    // parameter-free adapter), so the random initialisation is skipped.
    let mut model = kinema_models::layers::init::without_random_init(|| {
        ActionClip::new(&inferred.spec, device, preprocessor, Box::new(CrossEntropyLoss::new(0.5)), options)
    })?;
    let mode = if ck.is_clip_only() { LoadMode::NonStrict } else { LoadMode::Strict };
    let report = load_into_varstore(model.var_store(), &ck.tensors, mode, &path.display().to_string())?;
    if report.unexpected.iter().any(|(k, _)| k.starts_with("clip."))
        || !report.missing.is_empty()
        || !report.mismatched.is_empty()
    {
        return Err(report.to_string().into());
    }
    model.set_training(false);
    Ok(model)
}

/// MMAction2's ActionCLIP test pipeline for a model with `num_segs` frames per clip and
/// input side `resolution`: `SampleFrames` in test mode, short side resized to
/// `int(resolution * 256 / 224 + 0.5)`, center crop, `NCHW`.
pub fn default_test_pipeline(num_segs: i64, resolution: i64) -> Value {
    let short = (resolution as f64 * 256.0 / 224.0 + 0.5) as i64;
    json!([
        {"type": "DecordInit"},
        {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": num_segs, "test_mode": true},
        {"type": "DecordDecode"},
        {"type": "Resize", "scale": [-1, short]},
        {"type": "CenterCrop", "crop_size": resolution},
        {"type": "FormatShape", "input_format": "NCHW"},
        {"type": "PackActionInputs"}
    ])
}

/// The `k` best `(class index, score)` of a score row, best first (ties: lower index).
pub fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(k);
    order
}

/// Checks a row of scores is one per label.
pub fn check_scores(scores: &[f32], labels: &[String]) -> Result<(), ModelError> {
    if scores.len() != labels.len() {
        return Err(ModelError::Other(format!("{} scores for {} labels", scores.len(), labels.len())));
    }
    Ok(())
}
