//! Video files to RGB frames with FFmpeg (ffmpeg-next against Debian's FFmpeg 5.1).
//!
//! API contract used by `kinema-data` (the implementation is being written):
//! [`VideoReader::open`], [`VideoReader::info`], [`VideoReader::read_frames`].

use std::path::{Path, PathBuf};

/// Metadata of an opened video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Number of decodable frames (decord's `len(reader)`).
    pub frame_count: usize,
    /// Average frame rate (decord's `get_avg_fps()`).
    pub fps: f64,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Duration in seconds.
    pub duration_s: f64,
}

/// Decoded RGB24 frames, contiguous `[count, height, width, 3]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frames {
    /// Number of frames.
    pub count: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// `count * height * width * 3` bytes, RGB, row-major.
    pub data: Vec<u8>,
}

/// Why a video could not be opened or decoded; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// Placeholder until the decoder lands.
    #[error("{path}: video decoding is not implemented yet")]
    NotImplemented {
        /// The file.
        path: PathBuf,
    },
}

/// An open video file.
pub struct VideoReader {
    path: PathBuf,
    info: VideoInfo,
}

impl VideoReader {
    /// Opens `path` and reads its metadata.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, VideoError> {
        Err(VideoError::NotImplemented { path: path.as_ref().to_path_buf() })
    }

    /// The video's metadata.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Decodes the frames at `indices` (0-based, any order, repeats allowed) into RGB24,
    /// returned in the order asked.
    pub fn read_frames(&mut self, indices: &[usize]) -> Result<Frames, VideoError> {
        let _ = indices;
        Err(VideoError::NotImplemented { path: self.path.clone() })
    }
}
