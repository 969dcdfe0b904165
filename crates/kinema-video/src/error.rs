//! The crate's error type: every variant names the file it is about.

use std::path::PathBuf;

/// Why a video could not be opened, decoded or written; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The path is not a regular file (a folder, a named pipe, a link loop, missing).
    #[error(transparent)]
    NotAFile(#[from] kinema_core::fs::NotAFile),
    /// The file (or path) could not be read or written by the operating system.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "reading file metadata".
        action: &'static str,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file has zero bytes.
    #[error("{path}: the file is empty (0 bytes)")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// FFmpeg could not open the file as a media container.
    #[error("{path}: not a readable media file ({stage}): {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Which step failed, e.g. "probing the container format".
        stage: &'static str,
        /// FFmpeg's error.
        source: ffmpeg_next::Error,
    },
    /// FFmpeg can read the file only through a demuxer that turns arbitrary bytes into
    /// pictures (e.g. text rendered as ANSI art): it is not a video.
    #[error("{path}: not a video file (FFmpeg would read it as {format:?})")]
    NotAVideo {
        /// The file.
        path: PathBuf,
        /// The demuxer FFmpeg picked.
        format: String,
    },
    /// The container holds no video stream.
    #[error("{path}: no video stream (the file holds: {streams})")]
    NoVideoStream {
        /// The file.
        path: PathBuf,
        /// The kinds of streams found, e.g. "1 audio stream".
        streams: String,
    },
    /// No decoder for the video stream's codec is available in this FFmpeg build.
    #[error("{path}: no decoder for the video codec {codec:?}")]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// The codec's name.
        codec: String,
    },
    /// The decoder could not be set up.
    #[error("{path}: cannot open the {codec:?} decoder: {source}")]
    DecoderSetup {
        /// The file.
        path: PathBuf,
        /// The codec's name.
        codec: String,
        /// FFmpeg's error.
        source: ffmpeg_next::Error,
    },
    /// The video stream's dimensions are unusable (zero or absurd).
    #[error("{path}: invalid frame size {width}x{height}")]
    InvalidFrameSize {
        /// The file.
        path: PathBuf,
        /// Width from the container or codec.
        width: u32,
        /// Height from the container or codec.
        height: u32,
    },
    /// The video stream contains no frames (no video packets could be read).
    #[error("{path}: the video stream has no frames{detail}")]
    NoFrames {
        /// The file.
        path: PathBuf,
        /// Extra context (empty or starting with "; ").
        detail: String,
    },
    /// Fewer frames could be read than the container's index declares: the file is cut short.
    #[error("{path}: truncated: the container declares {declared} frames but only {readable} can be read")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames the container's index declares.
        declared: usize,
        /// Frames whose packets could be read.
        readable: usize,
    },
    /// Reading packets from the container failed.
    #[error("{path}: cannot read packets after {packets} video packets: {source}")]
    Demux {
        /// The file.
        path: PathBuf,
        /// Video packets read before the failure.
        packets: usize,
        /// FFmpeg's error.
        source: ffmpeg_next::Error,
    },
    /// The frames asked for would exceed the per-sample memory budget
    /// ([`crate::limits`]).
    #[error("{path}: {source}")]
    TooManyBytes {
        /// The file.
        path: PathBuf,
        /// The sizes and the budget.
        source: crate::limits::FrameBudgetError,
    },
    /// A requested frame index is not below the frame count.
    #[error("{path}: frame index {index} is out of range (the video has {frame_count} frames)")]
    IndexOutOfRange {
        /// The file.
        path: PathBuf,
        /// The index asked for.
        index: usize,
        /// The video's frame count.
        frame_count: usize,
    },
    /// A frame could not be decoded.
    #[error("{path}: cannot decode frame {index}: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The frame index asked for.
        index: usize,
        /// What went wrong.
        reason: String,
    },
    /// Seeking in the container failed.
    #[error("{path}: cannot seek to frame {index}: {source}")]
    Seek {
        /// The file.
        path: PathBuf,
        /// The frame index being sought.
        index: usize,
        /// FFmpeg's error.
        source: ffmpeg_next::Error,
    },
    /// Pixel-format conversion (swscale) failed.
    #[error("{path}: cannot convert {from} frames of {width}x{height} to RGB24: {reason}")]
    Convert {
        /// The file.
        path: PathBuf,
        /// The decoder's pixel format.
        from: String,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// What went wrong.
        reason: String,
    },
    /// Writing a video failed.
    #[error("{path}: cannot write video ({stage}): {reason}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// Which step failed.
        stage: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The caller passed an invalid argument (e.g. a frame buffer of the wrong size).
    #[error("{path}: {reason}")]
    InvalidArgument {
        /// The file concerned.
        path: PathBuf,
        /// What was wrong and what was expected.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = VideoError> = std::result::Result<T, E>;
