//! Video -> model input for `infer`: the test pipeline of the config, or the model's own
//! default, run by kinema-data on one file.

use std::path::Path;

use anyhow::{bail, Context};
use kinema_core::{BuildSite, Config, KeyPath};
use kinema_data::sample::Sample;
use kinema_data::transform::Pipeline;
use serde_json::Value;
use tch::{Kind, Tensor};

/// The config keys a test pipeline is looked up under, in order (MMAction2's demo reads
/// `test_pipeline`, then the test dataset's).
pub const TEST_PIPELINE_KEYS: [&str; 3] = ["test_pipeline", "test_dataloader.dataset.pipeline", "val_pipeline"];

/// The config's test pipeline and where it is, if it has one.
pub fn config_test_pipeline(config: &Config) -> Option<(Value, KeyPath)> {
    TEST_PIPELINE_KEYS.iter().find_map(|key| {
        let path = KeyPath::parse(key);
        config.get_path(&path).map(|v| (v.clone(), path))
    })
}

/// Decodes and transforms `video` with `pipeline` (built at `site`): the packed inputs
/// with a batch dimension of 1 (`[1, N, 3, H, W]` for `NCHW` pipelines), uint8.
pub fn run_pipeline(pipeline: &Value, site: &BuildSite<'_>, video: &Path) -> anyhow::Result<Tensor> {
    kinema_core::fs::check_regular_file(video, "video file")?;
    let pipe = Pipeline::build(pipeline, site).context("cannot build the test pipeline")?;
    let mut sample = Sample { filename: Some(video.to_path_buf()), start_index: 0, ..Sample::default() };
    let mut rng = kinema_core::rng::sample_rng(0, 0, 0);
    pipe.run(&mut sample, &mut rng).with_context(|| format!("cannot read {}", video.display()))?;
    let Some(inputs) = sample.inputs.take() else {
        bail!("the pipeline produced no inputs (does it end with FormatShape and PackActionInputs?)")
    };
    let mut shape: Vec<i64> = vec![1];
    shape.extend(inputs.shape.iter().map(|&d| d as i64));
    Ok(Tensor::from_slice(&inputs.data).view(shape.as_slice()).to_kind(Kind::Uint8))
}
