//! Video -> frames for `infer`: a test pipeline from the config (or ActionCLIP's
//! default) run by kinema-data.

use std::path::Path;

use anyhow::{bail, Context};
use kinema_core::{BuildSite, Config, KeyPath};
use kinema_data::sample::Sample;
use kinema_data::transform::Pipeline;
use serde_json::Value;
use tch::{Kind, Tensor};

/// The config's test pipeline (`test_pipeline`, else `test_dataloader.dataset.pipeline`,
/// else `val_pipeline`).
pub fn config_test_pipeline(config: &Config) -> anyhow::Result<Value> {
    for key in ["test_pipeline", "test_dataloader.dataset.pipeline", "val_pipeline"] {
        if let Some(v) = config.get_path(&KeyPath::parse(key)) {
            return Ok(v.clone());
        }
    }
    bail!("the config has no test_pipeline (nor test_dataloader.dataset.pipeline, val_pipeline)")
}

/// Decodes and transforms `video` with `pipeline`: uint8 frames [N, 3, H, W].
pub fn run_pipeline(pipeline: &Value, video: &Path) -> anyhow::Result<Tensor> {
    if !video.is_file() {
        bail!("video {} does not exist", video.display());
    }
    let pipe = Pipeline::build(pipeline, &BuildSite::detached(KeyPath::parse("test_pipeline")))
        .context("cannot build the test pipeline")?;
    let mut sample = Sample { filename: Some(video.to_path_buf()), start_index: 0, ..Sample::default() };
    let mut rng = kinema_core::rng::sample_rng(0, 0, 0);
    pipe.run(&mut sample, &mut rng).with_context(|| format!("cannot read {}", video.display()))?;
    let Some(inputs) = sample.inputs.take() else {
        bail!("the pipeline produced no inputs (does it end with FormatShape / PackActionInputs?)")
    };
    if inputs.shape.len() != 4 || inputs.shape[1] != 3 {
        bail!("the pipeline produced inputs of shape {:?}; infer needs NCHW frames [N, 3, H, W]", inputs.shape);
    }
    let shape: Vec<i64> = inputs.shape.iter().map(|&d| d as i64).collect();
    Ok(Tensor::from_slice(&inputs.data).view(shape.as_slice()).to_kind(Kind::Uint8))
}
