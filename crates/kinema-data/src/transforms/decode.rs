//! Video decoding transforms. MMAction2's `DecordInit`/`DecordDecode`, `PyAVInit`/
//! `PyAVDecode` and `OpenCVInit`/`OpenCVDecode` are all served by the FFmpeg reader of
//! `kinema-video`, which decodes only the frames asked for.

use std::path::PathBuf;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::TransformError;
use crate::sample::Sample;
use crate::transform::{Transform, TransformKind};

/// Opens the sample's video and sets `total_frames`, `avg_fps` and the reader
/// (MMAction2 `DecordInit`; `PyAVInit` and `OpenCVInit` are aliases). A file name
/// without an extension gets `.mp4`, as upstream.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoInitConfig {
    /// Where files are read from; only `disk` is supported.
    #[serde(default = "disk")]
    pub io_backend: String,
    /// FFmpeg decoder threads per video (1, as upstream, is best when the loader's
    /// workers already use every core; 0 = one per core).
    #[serde(default = "one")]
    pub num_threads: usize,
}

fn disk() -> String {
    "disk".into()
}
fn one() -> usize {
    1
}

/// The built init transform.
pub struct VideoInit {
    threads: usize,
}

impl Component<TransformKind> for VideoInit {
    type Config = VideoInitConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        if config.io_backend != "disk" {
            return Err(format!("io_backend \"{}\" is not supported; use \"disk\"", config.io_backend).into());
        }
        Ok(Box::new(VideoInit { threads: config.num_threads }))
    }
}

kinema_core::register!(TransformKind, "DecordInit", VideoInit);
kinema_core::register!(TransformKind, "PyAVInit", VideoInit);
kinema_core::register!(TransformKind, "OpenCVInit", VideoInit);

impl Transform for VideoInit {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let mut path: PathBuf = s.filename.clone().ok_or(TransformError::Missing("filename"))?;
        if path.extension().is_none() {
            path.set_extension("mp4");
        }
        let options = kinema_video::ReaderOptions::with_threads(self.threads);
        let reader = kinema_video::VideoReader::open_with(&path, &options)?;
        let info = reader.info().clone();
        s.total_frames = Some(info.frame_count);
        s.avg_fps = Some(info.fps);
        s.video_reader = Some(reader);
        Ok(())
    }
}

/// How frames are located.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecodeMode {
    /// Frame-accurate decoding.
    #[default]
    Accurate,
    /// Upstream seeks to key frames only; here it decodes accurately too.
    Efficient,
}

/// Decodes the frames at `frame_inds` into `imgs` (RGB, NHWC) and sets
/// `original_shape` and `img_shape` (MMAction2 `DecordDecode`; `PyAVDecode` and
/// `OpenCVDecode` are aliases).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoDecodeConfig {
    /// `accurate` or `efficient` (decoded accurately as well).
    #[serde(default)]
    pub mode: DecodeMode,
    /// PyAV's threading switch (accepted for compatibility).
    #[serde(default)]
    pub multi_thread: bool,
}

/// The built decode transform.
pub struct VideoDecode;

impl Component<TransformKind> for VideoDecode {
    type Config = VideoDecodeConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        if config.mode == DecodeMode::Efficient {
            log::info!("video decode mode \"efficient\" decodes frame-accurately in Kinema");
        }
        Ok(Box::new(VideoDecode))
    }
}

kinema_core::register!(TransformKind, "DecordDecode", VideoDecode);
kinema_core::register!(TransformKind, "PyAVDecode", VideoDecode);
kinema_core::register!(TransformKind, "OpenCVDecode", VideoDecode);

impl Transform for VideoDecode {
    fn decodes_frames(&self) -> bool {
        true
    }

    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let inds = s.frame_inds.as_ref().ok_or(TransformError::Missing("frame_inds"))?;
        let mut reader = s.video_reader.take().ok_or(TransformError::Missing("video_reader"))?;
        let count = reader.info().frame_count;
        let mut wanted = Vec::with_capacity(inds.len());
        for &i in inds {
            match usize::try_from(i) {
                Ok(u) if u < count => wanted.push(u),
                _ => {
                    return Err(TransformError::Invalid(format!(
                        "frame index {i} is out of range for a video of {count} frames"
                    )))
                }
            }
        }
        if wanted.is_empty() {
            return Err(TransformError::Invalid("no frame indices to decode".into()));
        }
        let frames = reader.read_frames(&wanted)?;
        if frames.count != wanted.len() || frames.data.len() != frames.count * frames.height * frames.width * 3 {
            return Err(TransformError::Invalid(format!(
                "the decoder returned {} frames of {}x{} ({} bytes) for {} indices",
                frames.count,
                frames.height,
                frames.width,
                frames.data.len(),
                wanted.len()
            )));
        }
        let shape = [frames.height, frames.width];
        s.imgs = Some(frames.into());
        s.original_shape = Some(shape);
        s.img_shape = Some(shape);
        Ok(())
    }
}
