//! [`FrameStream`]: frames of any input libavformat opens (a file, a pipe `-`,
//! `rtsp://...`; capture devices need libavdevice, which is not linked), decoded in order
//! as they arrive, for live input. Unlike [`crate::VideoReader`] it never reads ahead to
//! count frames, so it works on inputs without an end.

use std::path::PathBuf;

use ffmpeg_next::codec;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::frame::Video as VideoFrame;
use ffmpeg_next::{Error as FfError, Packet};

use crate::convert::RgbConverter;
use crate::error::{Result, VideoError};
use crate::probe;

/// The input name that means the standard input.
pub const STDIN: &str = "-";

/// A video input decoded frame by frame, in presentation order; frame `i` is the `i`-th
/// frame the decoder returns.
pub struct FrameStream {
    name: PathBuf,
    input: Input,
    stream: usize,
    decoder: codec::decoder::Video,
    converter: RgbConverter,
    frame: VideoFrame,
    fps: f64,
    width: usize,
    height: usize,
    next_index: usize,
    eof_sent: bool,
    finished: bool,
}

impl FrameStream {
    /// Opens `url` (`-` reads the standard input) and sets up the decoder of its video
    /// stream. For inputs without an end this returns once the stream is probed.
    pub fn open(url: &str) -> Result<Self> {
        crate::init_ffmpeg();
        let target = if url == STDIN { "pipe:0" } else { url };
        let name = PathBuf::from(url);
        let input = ffmpeg_next::format::input(&target).map_err(|source| VideoError::Open {
            path: name.clone(),
            stage: "opening and probing the input",
            source,
        })?;
        probe::check_format(&input, &name)?;
        let stream = probe::select_video_stream(&input, &name)?;
        let Some(st) = input.stream(stream) else {
            return Err(VideoError::NoVideoStream { path: name, streams: "none".into() });
        };
        let parameters = st.parameters();
        let codec_name = parameters.id().name().to_string();
        let context = codec::context::Context::from_parameters(parameters)
            .map_err(|source| VideoError::DecoderSetup { path: name.clone(), codec: codec_name.clone(), source })?;
        let decoder = context.decoder().video().map_err(|source| match source {
            FfError::DecoderNotFound => VideoError::UnsupportedCodec { path: name.clone(), codec: codec_name.clone() },
            source => VideoError::DecoderSetup { path: name.clone(), codec: codec_name.clone(), source },
        })?;
        let (width, height) = probe::frame_size(&name, decoder.width(), decoder.height())?;
        let (fps, _) = probe::rate_and_duration(&input, stream, 0);
        Ok(FrameStream {
            name,
            input,
            stream,
            decoder,
            converter: RgbConverter::new(width, height),
            frame: VideoFrame::empty(),
            fps,
            width: width as usize,
            height: height as usize,
            next_index: 0,
            eof_sent: false,
            finished: false,
        })
    }

    /// The input's frame rate as its container states it (0 when it states none).
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// `(width, height)` of the frames.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The index the next frame will have (the number of frames returned so far).
    pub fn next_index(&self) -> usize {
        self.next_index
    }

    /// Bytes of one RGB24 frame.
    pub fn frame_bytes(&self) -> usize {
        self.converter.frame_bytes()
    }

    /// Decodes the next frame; with `rgb`, converts it to RGB24 into `rgb` (resized to
    /// [`FrameStream::frame_bytes`]). Returns its index, or `None` at the end of the input.
    pub fn next_frame(&mut self, rgb: Option<&mut Vec<u8>>) -> Result<Option<usize>> {
        loop {
            if self.finished {
                return Ok(None);
            }
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    let index = self.next_index;
                    self.next_index += 1;
                    if let Some(out) = rgb {
                        out.resize(self.frame_bytes(), 0);
                        self.converter.convert(&self.frame, out).map_err(|reason| VideoError::Decode {
                            path: self.name.clone(),
                            index,
                            reason,
                        })?;
                    }
                    return Ok(Some(index));
                }
                Err(FfError::Eof) => self.finished = true,
                Err(FfError::Other { errno }) if errno == ffmpeg_next::util::error::EAGAIN => self.feed()?,
                Err(e) => {
                    return Err(VideoError::Decode {
                        path: self.name.clone(),
                        index: self.next_index,
                        reason: e.to_string(),
                    })
                }
            }
        }
    }

    /// Sends the decoder the next packet of the video stream, or the end of input.
    fn feed(&mut self) -> Result<()> {
        if self.eof_sent {
            self.finished = true;
            return Ok(());
        }
        loop {
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    // A packet the decoder refuses (corrupt data) is skipped, as players do.
                    if let Err(e) = self.decoder.send_packet(&packet) {
                        log::debug!("{}: packet skipped: {e}", self.name.display());
                    }
                    return Ok(());
                }
                Ok(()) => {}
                Err(FfError::Eof) => {
                    self.eof_sent = true;
                    let _ = self.decoder.send_eof();
                    return Ok(());
                }
                Err(source) => {
                    return Err(VideoError::Demux { path: self.name.clone(), packets: self.next_index, source })
                }
            }
        }
    }
}
