//! The per-sample record that flows through a pipeline: MMAction2's `results` dict as a
//! typed struct.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A stack of images of one size as ONE contiguous `u8` buffer, `[count, height, width,
/// channels]` (NHWC), row-major. RGB for videos and JPEG frames.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameStack {
    /// `count * height * width * channels` bytes.
    pub data: Vec<u8>,
    /// Number of images.
    pub count: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Channels per pixel (3 for RGB, 2 for stacked x/y flow).
    pub channels: usize,
}

impl FrameStack {
    /// Wraps `data`; `None` when its length does not match the shape.
    pub fn new(data: Vec<u8>, count: usize, height: usize, width: usize, channels: usize) -> Option<Self> {
        (data.len() == count * height * width * channels).then_some(FrameStack { data, count, height, width, channels })
    }

    /// Bytes per image.
    pub fn frame_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Image `i` as a slice.
    pub fn frame(&self, i: usize) -> &[u8] {
        let n = self.frame_len();
        &self.data[i * n..(i + 1) * n]
    }

    /// The shape `[count, height, width, channels]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.count, self.height, self.width, self.channels]
    }
}

impl From<kinema_video::Frames> for FrameStack {
    fn from(f: kinema_video::Frames) -> Self {
        FrameStack { data: f.data, count: f.count, height: f.height, width: f.width, channels: 3 }
    }
}

/// A `u8` array of any shape (the formatted network input), row-major and contiguous.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct U8Array {
    /// The values.
    pub data: Vec<u8>,
    /// The shape; its product is `data.len()`.
    pub shape: Vec<usize>,
}

/// The label of a sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Label {
    /// One class index; `-1` for lists without labels (MMAction2's convention).
    Index(i64),
    /// Multi-label one-hot vector of `num_classes` (MMAction2's `multi_class=True`).
    MultiHot(Vec<f32>),
}

impl Default for Label {
    fn default() -> Self {
        Label::Index(-1)
    }
}

/// The kind of data a sample holds (MMAction2's `modality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum Modality {
    /// RGB frames.
    #[default]
    #[serde(rename = "RGB")]
    Rgb,
    /// Optical flow: x/y grayscale image pairs.
    Flow,
}

/// A layout [`FormatShape`](crate::transforms::FormatShape) can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum InputFormat {
    /// `[M, C, H, W]`, M = crops x clips x clip_len (2D models such as TSN).
    #[serde(rename = "NCHW")]
    Nchw,
    /// `[M', C, T, H, W]`, M' = crops x clips (3D models).
    #[serde(rename = "NCTHW")]
    Ncthw,
}

/// Direction of a flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlipDirection {
    /// Mirror left-right.
    #[default]
    Horizontal,
    /// Mirror top-bottom.
    Vertical,
}

/// One sample on its way through the pipeline (MMAction2's `results` dict). Datasets fill
/// the first group of fields; transforms fill the rest.
#[derive(Default)]
pub struct Sample {
    /// Dataset index.
    pub index: usize,
    /// Video file (VideoDataset).
    pub filename: Option<PathBuf>,
    /// Frame folder (RawframeDataset).
    pub frame_dir: Option<PathBuf>,
    /// Frame file name template, Python `str.format` style (`img_{:05}.jpg`).
    pub filename_tmpl: Option<String>,
    /// Frame offset added to every index (RawframeDataset `with_offset`).
    pub offset: i64,
    /// The label.
    pub label: Label,
    /// Index of the first frame (0 for videos, 1 for `img_00001.jpg` frames).
    pub start_index: i64,
    /// RGB or Flow.
    pub modality: Modality,
    /// Number of frames in the video.
    pub total_frames: Option<usize>,
    /// Average frame rate, when known.
    pub avg_fps: Option<f64>,
    /// Frame indices chosen by a sampler, `start_index` included (MMAction2 int32).
    pub frame_inds: Option<Vec<i64>>,
    /// Frames per clip.
    pub clip_len: Option<usize>,
    /// Step between frames of a clip.
    pub frame_interval: Option<usize>,
    /// Number of clips.
    pub num_clips: Option<usize>,
    /// The decoded images, NHWC.
    pub imgs: Option<FrameStack>,
    /// `(height, width)` after decoding.
    pub original_shape: Option<[usize; 2]>,
    /// `(height, width)` now.
    pub img_shape: Option<[usize; 2]>,
    /// Accumulated `(w, h)` resize factors.
    pub scale_factor: Option<[f32; 2]>,
    /// Whether the last resize kept the aspect ratio.
    pub keep_ratio: Option<bool>,
    /// The last crop, `[x1, y1, x2, y2]` (one per output image for ThreeCrop/TenCrop).
    pub crop_bbox: Option<Vec<[i64; 4]>>,
    /// The crop region relative to the original image, `[x, y, w, h]` in 0..1.
    pub crop_quadruple: Option<[f32; 4]>,
    /// Whether Flip flipped the images.
    pub flip: Option<bool>,
    /// The direction Flip used.
    pub flip_direction: Option<FlipDirection>,
    /// The layout FormatShape produced.
    pub input_format: Option<InputFormat>,
    /// The formatted network input (set by FormatShape, or by PackActionInputs from
    /// `imgs`).
    pub inputs: Option<U8Array>,
    /// Whether PackActionInputs ran.
    pub packed: bool,
    /// The meta keys PackActionInputs was asked to keep.
    pub meta_keys: Vec<String>,
    /// The open video (DecordInit sets it, DecordDecode closes it).
    pub video_reader: Option<kinema_video::VideoReader>,
}

impl Sample {
    /// The file this sample comes from, for messages: the video or the frame folder.
    pub fn source_name(&self) -> String {
        match (&self.filename, &self.frame_dir) {
            (Some(f), _) => f.display().to_string(),
            (None, Some(d)) => d.display().to_string(),
            (None, None) => format!("sample {}", self.index),
        }
    }

    /// The current `(height, width)`: `img_shape` when set, else the images' size.
    pub fn current_shape(&self) -> Option<[usize; 2]> {
        self.img_shape.or_else(|| self.imgs.as_ref().map(|f| [f.height, f.width]))
    }
}
