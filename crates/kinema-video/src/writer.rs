//! [`VideoWriter`]: RGB24 frames to an H.264 (libx264) or MPEG-4 Part 2 video file.
//!
//! The container follows the file extension (`.mp4`, `.mkv`, `.avi`, ...). Output is
//! deterministic for the same input and FFmpeg build, on any CPU: single-threaded
//! encoding, no timestamps or host data in the file, and x264's `cpu-independent` mode
//! (x264's SIMD paths for its lookahead otherwise pick other encoding decisions on
//! another CPU, so a VM that lands on another host type wrote other bytes).

use std::path::{Path, PathBuf};

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::color;
use ffmpeg_next::util::frame::Video as VideoFrame;
use ffmpeg_next::{codec, encoder, ffi, format, Dictionary, Packet, Rational};

use crate::convert::Scaler;
use crate::error::{Result, VideoError};

/// Which encoder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 through libx264 when this FFmpeg has it, else MPEG-4 Part 2.
    Auto,
    /// H.264 through libx264 (error if missing).
    H264,
    /// FFmpeg's native MPEG-4 Part 2 encoder.
    Mpeg4,
}

/// Settings of a [`VideoWriter`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// Frame width in pixels (even, for 4:2:0 chroma).
    pub width: u32,
    /// Frame height in pixels (even).
    pub height: u32,
    /// Frames per second of [`VideoWriter::write_frame`].
    pub fps: u32,
    /// Timestamp units per second (a multiple of `fps`); finer units allow variable frame
    /// rate through [`VideoWriter::write_frame_at`]. `None` means `fps`.
    pub timescale: Option<u32>,
    /// The encoder.
    pub codec: Codec,
    /// Quality: x264's CRF (0 lossless .. 51 worst); for MPEG-4 it maps to qscale 2..31.
    pub quality: u8,
    /// Keyframe interval in frames.
    pub gop: u32,
    /// Maximum consecutive B-frames.
    pub max_b_frames: usize,
    /// MP4/MOV only: put the index (`moov`) before the media data, as streaming sites do.
    pub faststart: bool,
    /// Extra x264 settings (`key=value:key=value`, as `ffmpeg -x264-params`), after
    /// [`X264_PARAMS`].
    pub x264_params: Option<String>,
}

/// The x264 settings every H.264 file is written with: output that does not depend on
/// the CPU's SIMD features.
pub const X264_PARAMS: &str = "cpu-independent=1";

impl WriterOptions {
    /// Options for `width` x `height` at `fps`, H.264 when available, CRF 18, a keyframe
    /// every 2 seconds, up to 2 B-frames.
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        WriterOptions {
            width,
            height,
            fps,
            timescale: None,
            codec: Codec::Auto,
            quality: 18,
            gop: fps.saturating_mul(2).max(1),
            max_b_frames: 2,
            faststart: false,
            x264_params: None,
        }
    }
}

/// An open output video; call [`VideoWriter::finish`] to complete the file.
pub struct VideoWriter {
    path: PathBuf,
    output: format::context::Output,
    encoder: encoder::Video,
    scaler: Scaler,
    rgb: VideoFrame,
    yuv: VideoFrame,
    encoder_time_base: Rational,
    stream_time_base: Rational,
    ticks_per_frame: i64,
    frames: i64,
    last_pts: Option<i64>,
    codec_name: &'static str,
    finished: bool,
}

fn write_err(path: &Path, stage: &'static str, reason: impl ToString) -> VideoError {
    VideoError::Write { path: path.to_path_buf(), stage, reason: reason.to_string() }
}

impl VideoWriter {
    /// Creates `path` (overwriting it) and writes the container header.
    pub fn create(path: impl AsRef<Path>, options: &WriterOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        crate::init_ffmpeg();
        let o = options;
        let timescale = o.timescale.unwrap_or(o.fps);
        if o.width == 0 || o.height == 0 || o.width % 2 == 1 || o.height % 2 == 1 {
            return Err(invalid(&path, format!("frame size {}x{} must be even and non-zero", o.width, o.height)));
        }
        if o.fps == 0 || !timescale.is_multiple_of(o.fps) || timescale > 1_000_000 {
            return Err(invalid(
                &path,
                format!("timescale {timescale} must be a multiple of fps {} (fps > 0, timescale <= 1e6)", o.fps),
            ));
        }
        let (codec, codec_name) = pick_codec(&path, o.codec)?;
        if codec_name == "mpeg4" && timescale > 65_535 {
            return Err(invalid(&path, format!("MPEG-4 allows timescales up to 65535, got {timescale}")));
        }
        let mut output =
            format::output(&path).map_err(|e| write_err(&path, "choosing the container from the extension", e))?;
        let global_header = output.format().flags().contains(format::Flags::GLOBAL_HEADER);
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| write_err(&path, "creating the encoder", e))?;
        let encoder_time_base = Rational::new(1, timescale as i32);
        enc.set_width(o.width);
        enc.set_height(o.height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(encoder_time_base);
        enc.set_frame_rate(Some(Rational::new(o.fps as i32, 1)));
        enc.set_gop(o.gop.max(1));
        enc.set_max_b_frames(o.max_b_frames);
        enc.set_colorspace(color::Space::SMPTE170M);
        enc.set_color_range(color::Range::MPEG);
        enc.set_threading(codec::threading::Config { count: 1, ..Default::default() });
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut dict = Dictionary::new();
        if codec_name == "libx264" {
            dict.set("preset", "medium");
            dict.set("crf", &o.quality.min(51).to_string());
            let params = match &o.x264_params {
                Some(extra) => format!("{X264_PARAMS}:{extra}"),
                None => X264_PARAMS.to_string(),
            };
            dict.set("x264-params", &params);
        } else {
            let q = 2 + i32::from(o.quality.min(51)) * 29 / 51;
            enc.set_flags(
                codec::Flags::QSCALE | if global_header { codec::Flags::GLOBAL_HEADER } else { codec::Flags::empty() },
            );
            enc.set_global_quality(q * ffi::FF_QP2LAMBDA);
        }
        let encoder = enc.open_with(dict).map_err(|e| write_err(&path, "opening the encoder", e))?;
        {
            let mut stream = output.add_stream(codec).map_err(|e| write_err(&path, "adding the stream", e))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(encoder_time_base);
        }
        // SAFETY: the output context is valid; setting the bitexact flag only changes what
        // the muxer writes (no encoder version strings / host data).
        unsafe { (*output.as_mut_ptr()).flags |= ffi::AVFMT_FLAG_BITEXACT };
        let mut header_options = Dictionary::new();
        if o.faststart {
            header_options.set("movflags", "+faststart");
        }
        let unused = output
            .write_header_with(header_options)
            .map_err(|e| write_err(&path, "writing the header", e))?
            .iter()
            .count();
        if unused > 0 {
            return Err(invalid(&path, "faststart needs an MP4/MOV container".into()));
        }
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(encoder_time_base);
        let scaler = scaling::Context::get(
            Pixel::RGB24,
            o.width,
            o.height,
            Pixel::YUV420P,
            o.width,
            o.height,
            scaling::Flags::BILINEAR,
        )
        .map_err(|e| write_err(&path, "creating the RGB to YUV converter", e))?;
        Ok(VideoWriter {
            path,
            output,
            encoder,
            scaler: Scaler(scaler),
            rgb: VideoFrame::new(Pixel::RGB24, o.width, o.height),
            yuv: VideoFrame::new(Pixel::YUV420P, o.width, o.height),
            encoder_time_base,
            stream_time_base,
            ticks_per_frame: i64::from(timescale / o.fps),
            frames: 0,
            last_pts: None,
            codec_name,
            finished: false,
        })
    }

    /// The encoder in use: `"libx264"` or `"mpeg4"`.
    pub fn codec_name(&self) -> &'static str {
        self.codec_name
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> usize {
        self.frames as usize
    }

    /// Appends one RGB24 frame (`height * width * 3` bytes) at the next constant-rate slot.
    pub fn write_frame(&mut self, rgb: &[u8]) -> Result<()> {
        let pts = match self.last_pts {
            Some(last) => last + self.ticks_per_frame,
            None => 0,
        };
        self.write_frame_at(rgb, pts)
    }

    /// Appends one RGB24 frame shown at `pts` (in 1/timescale units; strictly increasing).
    pub fn write_frame_at(&mut self, rgb: &[u8], pts: i64) -> Result<()> {
        let (w, h) = (self.rgb.width() as usize, self.rgb.height() as usize);
        if rgb.len() != w * h * 3 {
            return Err(invalid(
                &self.path,
                format!("frame has {} bytes, expected {w}x{h}x3 = {}", rgb.len(), w * h * 3),
            ));
        }
        if self.last_pts.is_some_and(|last| pts <= last) {
            return Err(invalid(&self.path, format!("timestamp {pts} is not after the previous one")));
        }
        make_writable(&mut self.rgb, &self.path)?;
        let stride = self.rgb.stride(0);
        let plane = self.rgb.data_mut(0);
        for (y, row) in rgb.chunks_exact(w * 3).enumerate() {
            plane[y * stride..y * stride + w * 3].copy_from_slice(row);
        }
        make_writable(&mut self.yuv, &self.path)?;
        self.scaler.0.run(&self.rgb, &mut self.yuv).map_err(|e| write_err(&self.path, "converting RGB to YUV", e))?;
        self.yuv.set_pts(Some(pts));
        self.encoder.send_frame(&self.yuv).map_err(|e| write_err(&self.path, "encoding", e))?;
        self.last_pts = Some(pts);
        self.frames += 1;
        self.drain()
    }

    /// Flushes the encoder and writes the container trailer.
    pub fn finish(mut self) -> Result<()> {
        self.finalize()
    }

    fn finalize(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        self.encoder.send_eof().map_err(|e| write_err(&self.path, "flushing the encoder", e))?;
        self.drain()?;
        self.output.write_trailer().map_err(|e| write_err(&self.path, "writing the trailer", e))
    }

    /// Moves every packet the encoder has ready into the file.
    fn drain(&mut self) -> Result<()> {
        loop {
            let mut packet = Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    packet.set_stream(0);
                    // Without durations the MP4 muxer's edit list drops the last frame.
                    if packet.duration() <= 0 {
                        packet.set_duration(self.ticks_per_frame);
                    }
                    packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
                    packet
                        .write_interleaved(&mut self.output)
                        .map_err(|e| write_err(&self.path, "writing a packet", e))?;
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EAGAIN => return Ok(()),
                Err(e) => return Err(write_err(&self.path, "encoding", e)),
            }
        }
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        if !self.finished {
            if let Err(e) = self.finalize() {
                log::warn!("{e}");
            }
        }
    }
}

fn invalid(path: &Path, reason: String) -> VideoError {
    VideoError::InvalidArgument { path: path.to_path_buf(), reason }
}

/// Makes `frame`'s buffers exclusively ours (the encoder may still hold a reference).
fn make_writable(frame: &mut VideoFrame, path: &Path) -> Result<()> {
    // SAFETY: `frame` owns a valid AVFrame with refcounted buffers (allocated by
    // VideoFrame::new); av_frame_make_writable copies them only when shared.
    let ret = unsafe { ffi::av_frame_make_writable(frame.as_mut_ptr()) };
    if ret < 0 {
        return Err(write_err(path, "allocating a frame", ffmpeg_next::Error::from(ret)));
    }
    Ok(())
}

/// The encoder for `choice` and its name.
fn pick_codec(path: &Path, choice: Codec) -> Result<(ffmpeg_next::Codec, &'static str)> {
    let x264 = || encoder::find_by_name("libx264").map(|c| (c, "libx264"));
    let mpeg4 = || encoder::find(codec::Id::MPEG4).map(|c| (c, "mpeg4"));
    let found = match choice {
        Codec::Auto => x264().or_else(mpeg4),
        Codec::H264 => x264(),
        Codec::Mpeg4 => mpeg4(),
    };
    found.ok_or_else(|| write_err(path, "finding an encoder", format!("this FFmpeg has no {choice:?} encoder")))
}

/// Whether this FFmpeg can encode H.264 (libx264).
pub fn has_h264_encoder() -> bool {
    crate::init_ffmpeg();
    encoder::find_by_name("libx264").is_some()
}
