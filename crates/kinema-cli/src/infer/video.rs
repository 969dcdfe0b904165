//! Video -> model input for `infer`: the test pipeline of the config, or the model's own
//! default, run by kinema-data on one file.

use std::path::Path;

use anyhow::{bail, Context};
use kinema_core::{Config, KeyPath};
use kinema_data::sample::{FrameStack, Sample};
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

/// The model input of one video and what decoding it told about the video.
pub struct Clip {
    /// The packed inputs with a batch dimension of 1 (`[1, N, 3, H, W]` for `NCHW`
    /// pipelines), uint8.
    pub inputs: Tensor,
    /// The video's frame count.
    pub total_frames: usize,
    /// The video's frame rate (0 when it states none).
    pub fps: f64,
}

/// Decodes and transforms `video` with the built `pipeline`: the packed inputs with a
/// batch dimension of 1 (`[1, N, 3, H, W]` for `NCHW` pipelines), uint8.
pub fn run_pipeline(pipeline: &Pipeline, video: &Path) -> anyhow::Result<Tensor> {
    Ok(load_clip(pipeline, video)?.inputs)
}

/// Like [`run_pipeline`], also giving the video's frame count and rate (read while
/// decoding, so nothing opens the file twice).
pub fn load_clip(pipeline: &Pipeline, video: &Path) -> anyhow::Result<Clip> {
    kinema_core::fs::check_regular_file(video, "video file")?;
    let mut sample = Sample { filename: Some(video.to_path_buf()), start_index: 0, ..Sample::default() };
    let mut rng = kinema_core::rng::sample_rng(0, 0, 0);
    pipeline.run(&mut sample, &mut rng)?;
    let (total_frames, fps) = (sample.total_frames.unwrap_or(0), sample.avg_fps.unwrap_or(0.0));
    Ok(Clip { inputs: packed(sample)?, total_frames, fps })
}

/// Runs the steps after decoding (`after`, from [`Pipeline::split_at_decoding`]) on
/// frames decoded elsewhere, `frame_inds` being their indices in `video`: the packed
/// inputs `[1, N, ...]`, uint8. Each frame is transformed on its own (the test
/// transforms of 2D models are per frame), so any chunk of frames gives the same pixels.
pub fn transform_frames(
    after: &Pipeline,
    frames: FrameStack,
    frame_inds: &[usize],
    video: &str,
) -> anyhow::Result<Tensor> {
    let count = frames.count;
    let shape = [frames.height, frames.width];
    let mut sample = Sample {
        filename: Some(video.into()),
        frame_inds: Some(frame_inds.iter().map(|&i| i as i64).collect()),
        clip_len: Some(1),
        num_clips: Some(count),
        frame_interval: Some(1),
        original_shape: Some(shape),
        img_shape: Some(shape),
        imgs: Some(frames),
        ..Sample::default()
    };
    let mut rng = kinema_core::rng::sample_rng(0, 0, 0);
    after.run(&mut sample, &mut rng).with_context(|| format!("cannot transform the frames of {video}"))?;
    let inputs = packed(sample)?;
    if inputs.size().get(1) != Some(&(count as i64)) {
        bail!(
            "the test pipeline turned {count} frames into inputs of shape {:?}: windows need one input per frame (a single-view pipeline for a 2D model)",
            inputs.size()
        );
    }
    Ok(inputs)
}

fn packed(mut sample: Sample) -> anyhow::Result<Tensor> {
    let Some(inputs) = sample.inputs.take() else {
        bail!("the pipeline produced no inputs (does it end with FormatShape and PackActionInputs?)")
    };
    let mut shape: Vec<i64> = vec![1];
    shape.extend(inputs.shape.iter().map(|&d| d as i64));
    Ok(Tensor::from_slice(&inputs.data).view(shape.as_slice()).to_kind(Kind::Uint8))
}
