//! What the pipeline hands to the loader: the input array, the label and meta data.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{DataError, TransformError};
use crate::sample::{Label, Sample, U8Array};

/// Meta information of one loaded sample (MMAction2's data-sample metainfo plus what a
/// report needs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleMeta {
    /// Dataset index of the sample that was loaded.
    pub index: usize,
    /// When the requested sample was unreadable and skipped: its index.
    pub substitute_for: Option<usize>,
    /// Video file or frame folder.
    pub source: String,
    /// Frames in the video.
    pub total_frames: Option<usize>,
    /// The sampled frame indices.
    pub frame_inds: Vec<i64>,
    /// `(height, width)` after decoding.
    pub original_shape: Option<[usize; 2]>,
    /// `(height, width)` of the output.
    pub img_shape: Option<[usize; 2]>,
    /// Whether Flip flipped it.
    pub flip: Option<bool>,
    /// The `meta_keys` PackActionInputs kept that the sample has.
    pub metainfo: Map<String, Value>,
}

/// A sample after its pipeline: ready to collate.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The network input (formatted by FormatShape, else NHWC frames).
    pub inputs: U8Array,
    /// The label.
    pub label: Label,
    /// Meta information.
    pub meta: SampleMeta,
}

impl Processed {
    /// Takes the input array and meta data out of a finished sample.
    pub fn from_sample(mut s: Sample) -> Result<Self, DataError> {
        let inputs = match (s.inputs.take(), s.imgs.take()) {
            (Some(i), _) => i,
            (None, Some(f)) => {
                let shape = f.shape().to_vec();
                U8Array { data: f.data, shape }
            }
            (None, None) => {
                return Err(DataError::Transform {
                    file: s.source_name(),
                    index: s.index,
                    transform: "(end of pipeline)".into(),
                    source: Box::new(TransformError::Missing("imgs")),
                })
            }
        };
        let mut metainfo = Map::new();
        for key in &s.meta_keys {
            if let Some(v) = field_json(&s, key) {
                metainfo.insert(key.clone(), v);
            }
        }
        let meta = SampleMeta {
            index: s.index,
            substitute_for: None,
            source: s.source_name(),
            total_frames: s.total_frames,
            frame_inds: s.frame_inds.clone().unwrap_or_default(),
            original_shape: s.original_shape,
            img_shape: s.img_shape,
            flip: s.flip,
            metainfo,
        };
        Ok(Processed { inputs, label: s.label, meta })
    }
}

/// A sample field by its MMAction2 name, as JSON (for `meta_keys`).
pub fn field_json(s: &Sample, key: &str) -> Option<Value> {
    Some(match key {
        "filename" => json!(s.filename.as_ref()?.display().to_string()),
        "frame_dir" => json!(s.frame_dir.as_ref()?.display().to_string()),
        "label" => json!(s.label),
        "start_index" => json!(s.start_index),
        "modality" => json!(s.modality),
        "total_frames" => json!(s.total_frames?),
        "avg_fps" => json!(s.avg_fps?),
        "frame_inds" => json!(s.frame_inds.as_ref()?),
        "clip_len" => json!(s.clip_len?),
        "frame_interval" => json!(s.frame_interval?),
        "num_clips" => json!(s.num_clips?),
        "original_shape" => json!(s.original_shape?),
        "img_shape" => json!(s.img_shape?),
        "scale_factor" => json!(s.scale_factor?),
        "keep_ratio" => json!(s.keep_ratio?),
        "crop_bbox" => json!(s.crop_bbox.as_ref()?),
        "crop_quadruple" => json!(s.crop_quadruple?),
        "flip" => json!(s.flip?),
        "flip_direction" => json!(s.flip_direction?),
        "input_shape" => json!(s.inputs.as_ref()?.shape),
        _ => return None,
    })
}
