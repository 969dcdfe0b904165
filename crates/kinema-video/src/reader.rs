//! [`VideoReader`]: open a video, read its metadata, decode chosen frames to RGB24.

use std::path::{Path, PathBuf};

use ffmpeg_next::codec;
use ffmpeg_next::codec::threading;

use crate::convert::RgbConverter;
use crate::engine::Engine;
use crate::error::{Result, VideoError};
use crate::index::{FrameIndex, SeekPoint};
use crate::{probe, Frames, VideoInfo};

/// How a [`VideoReader`] decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Decoder threads: 1 decodes on the calling thread (MMAction2's `DecordInit` default,
    /// `num_threads=1`), 0 lets FFmpeg pick one per core, n > 1 uses n threads (frame and
    /// slice threading, where the codec supports them). Output pixels do not depend on it.
    pub threads: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions { threads: 1 }
    }
}

impl ReaderOptions {
    /// Options with `threads` decoder threads (see [`ReaderOptions::threads`]).
    pub fn with_threads(threads: usize) -> Self {
        ReaderOptions { threads }
    }
}

/// An open video file: metadata plus a decoder positioned somewhere in the stream.
///
/// Frames are numbered as decord numbers them: frame `i` is the video packet with the `i`-th
/// smallest presentation timestamp, and the frame count is the number of video packets.
pub struct VideoReader {
    path: PathBuf,
    info: VideoInfo,
    index: FrameIndex,
    engine: Engine,
    converter: RgbConverter,
    /// Request positions sorted by frame index (reused between calls).
    order: Vec<usize>,
}

impl VideoReader {
    /// Opens `path` with default [`ReaderOptions`] and reads its metadata.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &ReaderOptions::default())
    }

    /// Opens `path` with `options`: probes the container, picks the video stream, sets up
    /// the decoder and reads every packet once (no decoding) to number the frames.
    pub fn open_with(path: impl AsRef<Path>, options: &ReaderOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        crate::init_ffmpeg();
        probe::check_file(&path)?;
        let mut input = ffmpeg_next::format::input(&path).map_err(|source| VideoError::Open {
            path: path.clone(),
            stage: "opening and probing the container",
            source,
        })?;
        probe::check_format(&input, &path)?;
        let stream = probe::select_video_stream(&input, &path)?;
        let Some(st) = input.stream(stream) else {
            return Err(VideoError::NoVideoStream { path, streams: "none".into() });
        };
        let parameters = st.parameters();
        let codec_name = parameters.id().name().to_string();
        let mut context = codec::context::Context::from_parameters(parameters)
            .map_err(|source| VideoError::DecoderSetup { path: path.clone(), codec: codec_name.clone(), source })?;
        context.set_threading(threading_config(options.threads));
        let decoder = context.decoder().video().map_err(|source| match source {
            ffmpeg_next::Error::DecoderNotFound => {
                VideoError::UnsupportedCodec { path: path.clone(), codec: codec_name.clone() }
            }
            source => VideoError::DecoderSetup { path: path.clone(), codec: codec_name.clone(), source },
        })?;
        let (width, height) = probe::frame_size(&path, decoder.width(), decoder.height())?;
        let packets = probe::scan_packets(&mut input, stream, &path)?;
        probe::check_complete(&input, stream, packets.len(), &path)?;
        let index = FrameIndex::from_packets(&packets);
        let (fps, duration_s) = probe::rate_and_duration(&input, stream, index.count());
        let info =
            VideoInfo { frame_count: index.count(), fps, width: width as usize, height: height as usize, duration_s };
        log::debug!("{}: {info:?}, codec {codec_name}, {} keyframes", path.display(), index.keyframe_positions().len());
        let mut engine = Engine::new(input, stream, decoder);
        let start = index.start();
        engine.seek(start, start).map_err(|source| VideoError::Seek { path: path.clone(), index: 0, source })?;
        Ok(VideoReader { path, info, index, engine, converter: RgbConverter::new(width, height), order: Vec::new() })
    }

    /// The video's metadata.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of one RGB24 frame (`height * width * 3`).
    pub fn frame_bytes(&self) -> usize {
        self.converter.frame_bytes()
    }

    /// Frame numbers where decoding can start (keyframes), ascending; always includes 0.
    pub fn keyframe_indices(&self) -> Vec<usize> {
        self.index.keyframe_positions()
    }

    /// Decodes the frames at `indices` (0-based, any order, repeats allowed) into RGB24,
    /// returned in the order asked.
    pub fn read_frames(&mut self, indices: &[usize]) -> Result<Frames> {
        let mut data = Vec::new();
        self.read_frames_into(indices, &mut data)?;
        Ok(Frames { count: indices.len(), height: self.info.height, width: self.info.width, data })
    }

    /// Like [`VideoReader::read_frames`], writing `[indices.len(), height, width, 3]` bytes
    /// into `out` (resized; its allocation is reused across calls).
    ///
    /// Each distinct frame is decoded once, in ascending order: the decoder runs forward
    /// through dense indices and seeks to the keyframe before an index when that skips work.
    pub fn read_frames_into(&mut self, indices: &[usize], out: &mut Vec<u8>) -> Result<()> {
        let count = self.info.frame_count;
        if let Some(&index) = indices.iter().find(|&&i| i >= count) {
            return Err(VideoError::IndexOutOfRange { path: self.path.clone(), index, frame_count: count });
        }
        let frame_bytes = self.frame_bytes();
        let (height, width) = (self.info.height, self.info.width);
        let total = crate::limits::check_frames("decoding", indices.len(), height, width, 3)
            .map_err(|source| VideoError::TooManyBytes { path: self.path.clone(), source })?;
        out.clear();
        out.resize(total, 0);
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..indices.len());
        order.sort_by_key(|&slot| (indices[slot], slot));
        self.engine.set_wanted(order.iter().map(|&slot| indices[slot]));
        let result = self.decode_in_order(indices, &order, out, frame_bytes);
        self.engine.set_wanted([]);
        self.order = order;
        result
    }

    fn decode_in_order(
        &mut self,
        indices: &[usize],
        order: &[usize],
        out: &mut [u8],
        frame_bytes: usize,
    ) -> Result<()> {
        let mut first_slot: Option<(usize, usize)> = None; // (frame index, slot holding it)
        for &slot in order {
            let index = indices[slot];
            let dst = slot * frame_bytes..(slot + 1) * frame_bytes;
            if let Some((done, src_slot)) = first_slot {
                if done == index {
                    out.copy_within(src_slot * frame_bytes..(src_slot + 1) * frame_bytes, dst.start);
                    continue;
                }
            }
            self.decode_frame(index)?;
            let (frame, converter) = (self.engine.frame(), &mut self.converter);
            converter.convert(frame, &mut out[dst]).map_err(|reason| VideoError::Convert {
                path: self.path.clone(),
                from: format!("{:?}", frame.format()),
                width: frame.width(),
                height: frame.height(),
                reason,
            })?;
            first_slot = Some((index, slot));
        }
        Ok(())
    }

    /// Leaves frame `index` in the engine's frame: decodes forward from the current position
    /// when no keyframe lies between, else seeks first; retries from earlier seek points
    /// when the frame does not come out (inexact seeking, frames dropped after a seek).
    fn decode_frame(&mut self, index: usize) -> Result<()> {
        let mut point = self.index.seek_point_for(index);
        let start = self.index.start();
        let need_seek = match self.engine.cursor() {
            Some(next) => next > index || point.position > next,
            None => true,
        };
        if need_seek {
            self.seek(point, index)?;
        }
        // At most three starting points: the keyframe, the one before it, the stream start.
        let mut tried = [Some(point), None, None];
        let mut attempts = 1;
        loop {
            let outcome = self.decode_until(index)?;
            let Err(reason) = outcome else { return Ok(()) };
            let earlier = self.index.seek_point_before(point);
            let seen = |p: SeekPoint| tried[..attempts].contains(&Some(p));
            let next = if !seen(earlier) { earlier } else { start };
            if seen(next) || attempts == tried.len() {
                let decoder_said =
                    self.engine.last_error.map(|e| format!(" (last decoder/demuxer error: {e})")).unwrap_or_default();
                return Err(VideoError::Decode {
                    path: self.path.clone(),
                    index,
                    reason: format!("{reason}{decoder_said}"),
                });
            }
            log::debug!("{}: frame {index}: {reason}; retrying from frame {}", self.path.display(), next.position);
            point = next;
            tried[attempts] = Some(point);
            attempts += 1;
            self.seek(point, index)?;
        }
    }

    /// Decodes until frame `index` comes out (`Ok(Ok(()))`) or it cannot (`Ok(Err(why))`).
    fn decode_until(&mut self, index: usize) -> Result<std::result::Result<(), String>> {
        loop {
            let next = self.engine.next(&self.index).map_err(|e| VideoError::Decode {
                path: self.path.clone(),
                index,
                reason: format!("the decoder keeps failing: {e}"),
            })?;
            match next {
                Some(Some(n)) if n == index => return Ok(Ok(())),
                Some(Some(n)) if n > index => {
                    return Ok(Err(format!("decoding went from before it to frame {n} without producing it")))
                }
                Some(_) => {}
                None => {
                    let decoded = self.engine.decoded_since_seek;
                    return Ok(Err(if decoded == 0 {
                        "the decoder produced no frame".to_string()
                    } else {
                        format!("the stream ended after {decoded} decoded frames without producing it")
                    }));
                }
            }
        }
    }

    fn seek(&mut self, point: SeekPoint, index: usize) -> Result<()> {
        let start = self.index.start();
        self.engine.seek(point, start).map_err(|source| VideoError::Seek { path: self.path.clone(), index, source })
    }
}

/// FFmpeg threading for `threads` (see [`ReaderOptions::threads`]).
fn threading_config(threads: usize) -> threading::Config {
    let mut config = threading::Config::default();
    if threads != 1 {
        config.kind = threading::Type::Frame;
        config.count = threads;
    }
    config
}
