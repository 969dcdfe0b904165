//! Runs a split's pipeline on one video (or frame folder) and reports every step.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kinema_core::registry::BuildSite;
use kinema_core::rng::sample_rng;
use kinema_core::Config;
use serde::Serialize;
use serde_json::Value;

use super::dataset_table;
use crate::error::DataError;
use crate::sample::{Modality, Sample};
use crate::transform::Pipeline;

/// One transform's effect.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Registered name.
    pub name: String,
    /// Milliseconds it took.
    pub ms: f64,
    /// Shape of the images after it (`[N, H, W, C]`, or the formatted shape).
    pub shape: Option<Vec<usize>>,
}

/// What `inspect_pipeline` prints.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The input file or folder.
    pub input: String,
    /// Frames in the video.
    pub total_frames: Option<usize>,
    /// Sampled frame indices.
    pub frame_inds: Vec<i64>,
    /// Final array shape.
    pub shape: Vec<usize>,
    /// `NCHW`, `NCTHW` or `NHWC` (no FormatShape).
    pub layout: String,
    /// Per-transform timings and shapes.
    pub steps: Vec<StepReport>,
    /// Total milliseconds.
    pub total_ms: f64,
    /// The final array (not serialised).
    #[serde(skip)]
    pub data: Vec<u8>,
}

fn shape_now(s: &Sample) -> Option<Vec<usize>> {
    s.inputs.as_ref().map(|i| i.shape.clone()).or_else(|| s.imgs.as_ref().map(|f| f.shape().to_vec()))
}

/// Runs the pipeline of `split` in `cfg` on `input` with the RNG of (seed, epoch 0,
/// index 0). For RawframeDataset configs `input` is a frame folder and
/// `total_frames` defaults to the number of files in it.
pub fn inspect_pipeline(
    cfg: &Config,
    split: &str,
    input: &Path,
    seed: u64,
    total_frames: Option<usize>,
) -> Result<InspectReport, DataError> {
    let (table, path) = dataset_table(cfg, split)?;
    let get = |k: &str| table.get(k);
    let kind = get("type").and_then(Value::as_str).unwrap_or("VideoDataset");
    let raw = kind == "RawframeDataset";
    let pipeline_value = get("pipeline").ok_or_else(|| DataError::Config {
        source_of: cfg.source_of(&path).to_string(),
        key: format!("{path}.pipeline"),
        message: "missing; expected a list of transforms".into(),
    })?;
    let pipeline = Pipeline::build(pipeline_value, &BuildSite::root(cfg).at(path.key("pipeline")))?;
    let modality = match get("modality").and_then(Value::as_str) {
        Some("Flow") => Modality::Flow,
        _ => Modality::Rgb,
    };
    let mut sample = Sample {
        start_index: get("start_index").and_then(Value::as_i64).unwrap_or(if raw { 1 } else { 0 }),
        modality,
        ..Sample::default()
    };
    if raw {
        sample.frame_dir = Some(PathBuf::from(input));
        sample.filename_tmpl =
            Some(get("filename_tmpl").and_then(Value::as_str).unwrap_or("img_{:05}.jpg").to_string());
        let count = match total_frames {
            Some(n) => n,
            None => std::fs::read_dir(input).map_err(|e| DataError::io(input, e))?.count(),
        };
        sample.total_frames = Some(if modality == Modality::Flow { count / 2 } else { count });
    } else {
        sample.filename = Some(PathBuf::from(input));
    }
    let mut rng = sample_rng(seed, 0, 0);
    let mut steps = Vec::new();
    let mut total = Duration::ZERO;
    pipeline.run_observed(&mut sample, &mut rng, |name, s, t| {
        total += t;
        steps.push(StepReport { name: name.to_string(), ms: t.as_secs_f64() * 1e3, shape: shape_now(s) });
    })?;
    let layout = match sample.input_format {
        Some(f) => serde_json::to_value(f).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        None => "NHWC".into(),
    };
    let (data, shape) = match (sample.inputs.take(), sample.imgs.take()) {
        (Some(i), _) => (i.data, i.shape),
        (None, Some(f)) => {
            let shape = f.shape().to_vec();
            (f.data, shape)
        }
        (None, None) => (Vec::new(), Vec::new()),
    };
    Ok(InspectReport {
        input: input.display().to_string(),
        total_frames: sample.total_frames,
        frame_inds: sample.frame_inds.unwrap_or_default(),
        shape,
        layout,
        steps,
        total_ms: total.as_secs_f64() * 1e3,
        data,
    })
}
