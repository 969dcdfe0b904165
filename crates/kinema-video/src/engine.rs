//! The decode loop: demux packets of one stream, feed the decoder, number the frames that
//! come out, and seek back to keyframes.

use ffmpeg_next::codec::{decoder, discard::Discard};
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::frame::Video as VideoFrame;
use ffmpeg_next::{ffi, Error as FfError, Packet};

use crate::index::{FrameIndex, Numbering, SeekPoint};

/// Consecutive failures of one kind after which decoding gives up instead of looping.
const MAX_CONSECUTIVE_FAILURES: usize = 1024;

fn is_again(e: &FfError) -> bool {
    matches!(e, FfError::Other { errno } if *errno == ffmpeg_next::util::error::EAGAIN)
}

/// Decoder state for one open file; reuses its frame and packets between calls.
pub(crate) struct Engine {
    input: Input,
    stream: usize,
    decoder: decoder::Video,
    frame: VideoFrame,
    pending: Option<Packet>,
    input_done: bool,
    /// After a seek: packets decoding before this timestamp are dropped unread by the
    /// decoder (demuxers may land on an earlier keyframe than asked for).
    skip_before: Option<i64>,
    skipped: usize,
    /// The frames the caller still wants, ascending: a non-reference frame outside this
    /// list need not be decoded (nothing needs its pixels, nothing refers to it).
    wanted: Vec<usize>,
    discarding: bool,
    cursor: Option<usize>,
    last: Option<usize>,
    next_sequential: usize,
    /// The last error the demuxer or decoder reported (decoding goes on past broken packets).
    pub last_error: Option<FfError>,
    /// Frames that came out of the decoder since the last seek.
    pub decoded_since_seek: usize,
}

impl Engine {
    /// Wraps an opened input and decoder for stream `stream`.
    pub fn new(input: Input, stream: usize, decoder: decoder::Video) -> Self {
        Engine {
            input,
            stream,
            decoder,
            frame: VideoFrame::empty(),
            pending: None,
            input_done: false,
            skip_before: None,
            skipped: 0,
            wanted: Vec::new(),
            discarding: false,
            cursor: None,
            last: None,
            next_sequential: 0,
            last_error: None,
            decoded_since_seek: 0,
        }
    }

    /// The frame most recently returned by [`Engine::next`].
    pub fn frame(&self) -> &VideoFrame {
        &self.frame
    }

    /// Frame number the decoder will most likely produce next, if known.
    pub fn cursor(&self) -> Option<usize> {
        self.cursor
    }

    /// Sets the frames the caller wants from here on (in ascending order, repeats
    /// allowed); the decoder may skip non-reference frames outside them. None: decode
    /// every frame.
    pub fn set_wanted(&mut self, wanted: impl IntoIterator<Item = usize>) {
        self.wanted.clear();
        self.wanted.extend(wanted);
        self.wanted.dedup();
    }

    /// Positions the demuxer at `point` and resets the decoder.
    pub fn seek(&mut self, point: SeekPoint, start: SeekPoint) -> Result<(), FfError> {
        let stream = i32::try_from(self.stream).map_err(|_| FfError::StreamNotFound)?;
        // The keyframe's timestamp, else the stream's first timestamp, else byte 0.
        let tries = [
            point.timestamp().map(|ts| (stream, ts, ffi::AVSEEK_FLAG_BACKWARD)),
            start
                .timestamp()
                .filter(|&ts| point.timestamp() != Some(ts))
                .map(|ts| (stream, ts, ffi::AVSEEK_FLAG_BACKWARD)),
            Some((-1, 0, ffi::AVSEEK_FLAG_BYTE)),
        ];
        let mut result = Err(FfError::Unknown);
        for (i, (st, ts, flags)) in tries.into_iter().enumerate().filter_map(|(i, t)| Some((i, t?))) {
            // SAFETY: the pointer is the live AVFormatContext owned by `self.input`;
            // av_seek_frame only reads and updates that context.
            let ret = unsafe { ffi::av_seek_frame(self.input.as_mut_ptr(), st, ts, flags) };
            if ret >= 0 {
                // A fallback lands at (or before) the start of the stream.
                result = Ok(if i == 0 && point.timestamp().is_some() { point } else { start });
                break;
            }
            result = Err(FfError::from(ret));
        }
        let landed = result?;
        self.skip_before = if landed == point { point.dts } else { None };
        if self.skipped > 0 {
            log::debug!("skipped {} packets before the last seek target", self.skipped);
        }
        self.skipped = 0;
        self.decoder.flush();
        self.pending = None;
        self.input_done = false;
        self.cursor = Some(landed.position);
        self.last = None;
        self.next_sequential = landed.position;
        self.decoded_since_seek = 0;
        Ok(())
    }

    /// Decodes the next frame into [`Engine::frame`]. Returns `Ok(Some(number))` for a frame
    /// (`None` inside when it cannot be numbered), `Ok(None)` at the end of the stream.
    pub fn next(&mut self, index: &FrameIndex) -> Result<Option<Option<usize>>, FfError> {
        let mut failures = 0usize;
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => return Ok(Some(self.number(index))),
                Err(FfError::Eof) => {
                    self.cursor = None;
                    return Ok(None);
                }
                Err(e) if is_again(&e) => {}
                Err(e) => {
                    log::debug!("decoder error: {e}");
                    self.last_error = Some(e);
                    failures += 1;
                    if failures > MAX_CONSECUTIVE_FAILURES {
                        return Err(e);
                    }
                    continue;
                }
            }
            if self.input_done {
                // The decoder asks for input after the end was signalled: nothing more comes.
                self.cursor = None;
                return Ok(None);
            }
            self.feed(index)?;
        }
    }

    /// Sends the next packet of our stream (or the end-of-stream signal) to the decoder.
    fn feed(&mut self, index: &FrameIndex) -> Result<(), FfError> {
        let packet = match self.pending.take() {
            Some(p) => p,
            None => match self.read_packet() {
                Some(p) => p,
                None => {
                    self.input_done = true;
                    if let Err(e) = self.decoder.send_eof() {
                        log::debug!("decoder refused end of stream: {e}");
                    }
                    return Ok(());
                }
            },
        };
        self.discard_if_unwanted(&packet, index);
        match self.decoder.send_packet(&packet) {
            Ok(()) => {}
            Err(e) if is_again(&e) => self.pending = Some(packet),
            Err(e) => {
                log::debug!("decoder rejected a packet: {e}");
                self.last_error = Some(e);
            }
        }
        Ok(())
    }

    /// Lets the decoder skip `packet` when it is a non-reference frame that is not wanted:
    /// nothing needs its pixels, nothing refers to it (the decoder itself checks that the
    /// frame is a non-reference one). Only with timestamp numbering (counting frames needs
    /// every frame to come out), only for packets whose frame number is known, and only
    /// before the last wanted frame: the decoder reads ahead (further with frame
    /// threads), and a frame after this request may be the next request's first.
    fn discard_if_unwanted(&mut self, packet: &Packet, index: &FrameIndex) {
        let last_wanted = self.wanted.last().copied();
        let unwanted = match (packet.pts(), index.numbering(), last_wanted) {
            (Some(pts), Numbering::Timestamps(_), Some(last)) => {
                index.position_of(pts).is_some_and(|p| p < last && self.wanted.binary_search(&p).is_err())
            }
            _ => false,
        };
        if unwanted != self.discarding {
            self.discarding = unwanted;
            self.decoder.skip_frame(if unwanted { Discard::NonReference } else { Discard::Default });
        }
    }

    /// The next packet of our stream, or `None` at the end of the input (or on a read error,
    /// which is remembered in `last_error`).
    fn read_packet(&mut self) -> Option<Packet> {
        let mut again = 0usize;
        loop {
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    if let Some(target) = self.skip_before {
                        match packet.dts() {
                            Some(dts) if dts < target => {
                                self.skipped += 1;
                                continue;
                            }
                            _ => self.skip_before = None,
                        }
                    }
                    return Some(packet);
                }
                Ok(()) => {}
                Err(FfError::Eof) => return None,
                Err(e) if is_again(&e) && again < MAX_CONSECUTIVE_FAILURES => again += 1,
                Err(e) => {
                    log::debug!("demuxer error: {e}");
                    self.last_error = Some(e);
                    return None;
                }
            }
        }
    }

    /// Gives the frame just decoded its frame number and advances the cursor.
    fn number(&mut self, index: &FrameIndex) -> Option<usize> {
        self.decoded_since_seek += 1;
        let number = match index.numbering() {
            Numbering::Timestamps(_) => self
                .frame
                .pts()
                .or_else(|| self.frame.timestamp())
                .and_then(|t| index.position_of(t))
                .or_else(|| self.last.map(|l| l + 1)),
            Numbering::Sequential => Some(self.next_sequential),
        };
        self.next_sequential += 1;
        if let Some(n) = number {
            self.last = Some(n);
            self.cursor = Some(n + 1);
        }
        number
    }
}
