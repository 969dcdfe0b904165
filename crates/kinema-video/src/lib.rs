//! Video files to RGB frames with FFmpeg (ffmpeg-next against Debian's FFmpeg 5.1), a video
//! writer, and a synthetic motion dataset generator.
//!
//! - [`VideoReader`]: metadata ([`VideoInfo`]) and frame-accurate decoding of chosen frame
//!   indices to RGB24 ([`Frames`]), numbered and converted exactly as decord (MMAction2's
//!   `DecordInit`/`DecordDecode`) does, bit for bit.
//! - [`FrameStream`]: frames of a pipe, file or network input in arrival order.
//! - [`writer::VideoWriter`]: RGB24 frames to H.264 (libx264) or MPEG-4 files.
//! - [`synthetic`]: renders moving-shape videos and writes a whole MMAction2 `VideoDataset`.
//!
//! FFmpeg's own log output is silenced (only fatal messages); set the environment variable
//! `KINEMA_FFMPEG_LOG` to `error`, `warning`, `info` or `debug` to see it.

mod convert;
mod engine;
mod error;
mod index;
pub mod limits;
mod probe;
mod reader;
mod stream;
pub mod synthetic;
pub mod writer;

pub use error::{Result, VideoError};

/// The FFmpeg library versions this build runs with (`libavcodec 59.37.100, ...`).
pub fn ffmpeg_version() -> String {
    let v = |n: u32| format!("{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff);
    format!(
        "libavcodec {}, libavformat {}, libswscale {}",
        v(ffmpeg_next::codec::version()),
        v(ffmpeg_next::format::version()),
        v(ffmpeg_next::software::scaling::version())
    )
}
pub use reader::{ReaderOptions, VideoReader};
pub use stream::{FrameStream, STDIN};

/// Metadata of an opened video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Number of decodable frames (decord's `len(reader)`: the number of video packets).
    pub frame_count: usize,
    /// Average frame rate (decord's `get_avg_fps()`); 0 when the file gives no way to tell.
    pub fps: f64,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Duration in seconds (the stream's, else the container's, else frames / fps).
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

impl Frames {
    /// Bytes of frame `i` (`height * width * 3`), or `None` past the end.
    pub fn frame(&self, i: usize) -> Option<&[u8]> {
        let size = self.height * self.width * 3;
        self.data.get(i.checked_mul(size)?..(i + 1).checked_mul(size)?)
    }
}

/// Initialises FFmpeg once per process and sets its log level (see the crate docs).
pub(crate) fn init_ffmpeg() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Err(e) = ffmpeg_next::init() {
            log::warn!("FFmpeg initialisation reported: {e}");
        }
        use ffmpeg_next::util::log::Level;
        let level = match std::env::var("KINEMA_FFMPEG_LOG").as_deref() {
            Ok("error") => Level::Error,
            Ok("warning") => Level::Warning,
            Ok("info") => Level::Info,
            Ok("debug") => Level::Debug,
            _ => Level::Fatal,
        };
        ffmpeg_next::util::log::set_level(level);
    });
}

#[cfg(test)]
mod tests {
    /// Readers and writers can move to worker threads.
    #[test]
    fn reader_and_writer_are_send() {
        fn is_send<T: Send>() {}
        is_send::<crate::VideoReader>();
        is_send::<crate::writer::VideoWriter>();
        is_send::<crate::VideoError>();
    }

    #[test]
    fn frames_slices_one_frame() {
        let f = crate::Frames { count: 2, height: 1, width: 2, data: (0..12).collect() };
        assert_eq!(f.frame(1), Some(&[6u8, 7, 8, 9, 10, 11][..]));
        assert_eq!(f.frame(2), None);
        assert_eq!(f.frame(usize::MAX), None);
    }
}
