//! Opening a file: checks before FFmpeg sees it, stream selection, metadata, packet scan.

use std::path::Path;

use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::media::Type as MediaType;
use ffmpeg_next::{Error as FfError, Packet, Rational};

use crate::error::{Result, VideoError};
use crate::index::PacketInfo;

/// Largest accepted frame side; larger values are treated as corrupt metadata.
const MAX_SIDE: u32 = 16_384;

/// Rejects paths that FFmpeg should not be given: anything but a regular file (see
/// [`kinema_core::fs`]), empty files.
pub(crate) fn check_file(path: &Path) -> Result<()> {
    let len = kinema_core::fs::check_regular_file(path, "video file")?;
    if len == 0 {
        return Err(VideoError::EmptyFile { path: path.to_path_buf() });
    }
    Ok(())
}

/// Demuxers that accept any bytes and draw them as pictures; a file they claim is not a video.
const NON_VIDEO_DEMUXERS: [&str; 1] = ["tty"];

/// Refuses files FFmpeg only "reads" by drawing their bytes (text files as ANSI art).
pub(crate) fn check_format(input: &Input, path: &Path) -> Result<()> {
    let format = input.format();
    if NON_VIDEO_DEMUXERS.contains(&format.name()) {
        return Err(VideoError::NotAVideo { path: path.to_path_buf(), format: format.description().to_string() });
    }
    Ok(())
}

/// Picks the stream decord would read (FFmpeg's "best" video stream), refusing cover images.
pub(crate) fn select_video_stream(input: &Input, path: &Path) -> Result<usize> {
    let best = input.streams().best(MediaType::Video).filter(|s| !s.disposition().contains(Disposition::ATTACHED_PIC));
    match best {
        Some(stream) => Ok(stream.index()),
        None => Err(VideoError::NoVideoStream { path: path.to_path_buf(), streams: describe_streams(input) }),
    }
}

/// "1 audio stream, 1 video stream (cover image)" or "no streams".
fn describe_streams(input: &Input) -> String {
    let mut parts: Vec<String> = Vec::new();
    for stream in input.streams() {
        let kind = match stream.parameters().medium() {
            MediaType::Video if stream.disposition().contains(Disposition::ATTACHED_PIC) => "cover image",
            MediaType::Video => "video",
            MediaType::Audio => "audio",
            MediaType::Subtitle => "subtitle",
            MediaType::Data => "data",
            MediaType::Attachment => "attachment",
            MediaType::Unknown => "unknown",
        };
        parts.push(format!("{kind} ({})", stream.parameters().id().name()));
    }
    if parts.is_empty() {
        "no streams".into()
    } else {
        parts.join(", ")
    }
}

/// Frame size from the codec, validated.
pub(crate) fn frame_size(path: &Path, width: u32, height: u32) -> Result<(u32, u32)> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(VideoError::InvalidFrameSize { path: path.to_path_buf(), width, height });
    }
    Ok((width, height))
}

fn positive(r: Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0).then(|| f64::from(r))
}

/// Average frame rate and duration in seconds of stream `stream` holding `count` frames.
///
/// fps: the stream's average rate (what decord reports), else its base rate, else count
/// over duration, else 0. Duration: the stream's, else the container's, else count / fps.
pub(crate) fn rate_and_duration(input: &Input, stream: usize, count: usize) -> (f64, f64) {
    let Some(st) = input.stream(stream) else { return (0.0, 0.0) };
    let tb = positive(st.time_base());
    let stream_duration = match (st.duration(), tb) {
        (d, Some(tb)) if d > 0 => Some(d as f64 * tb),
        _ => None,
    };
    let container_duration =
        (input.duration() > 0).then(|| input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE));
    let duration = stream_duration.or(container_duration);
    let fps = positive(st.avg_frame_rate())
        .or_else(|| positive(st.rate()))
        .or_else(|| duration.filter(|d| *d > 0.0).map(|d| count as f64 / d))
        .unwrap_or(0.0);
    let duration = duration.unwrap_or(if fps > 0.0 { count as f64 / fps } else { 0.0 });
    (fps, duration)
}

/// Reads every packet of the file once (no decoding) and returns those of `stream`.
///
/// A read error other than the end of file fails, as it does in decord.
pub(crate) fn scan_packets(input: &mut Input, stream: usize, path: &Path) -> Result<Vec<PacketInfo>> {
    let mut packets = Vec::new();
    loop {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => {
                if packet.stream() == stream {
                    packets.push(PacketInfo { pts: packet.pts(), dts: packet.dts(), key: packet.is_key() });
                }
            }
            Err(FfError::Eof) => break,
            Err(source) => return Err(VideoError::Demux { path: path.to_path_buf(), packets: packets.len(), source }),
        }
    }
    Ok(packets)
}

/// Checks the scanned packet count against the container's declared frame count where the
/// container's index is exact (MP4/MOV sample tables): fewer readable packets means the file
/// was cut short.
pub(crate) fn check_complete(input: &Input, stream: usize, readable: usize, path: &Path) -> Result<()> {
    let exact_index = input.format().name().split(',').any(|n| n == "mov" || n == "mp4");
    let declared = input.stream(stream).map(|s| s.frames()).unwrap_or(0);
    if readable == 0 {
        let detail = if declared > 0 {
            format!("; the container declares {declared} frames but none can be read")
        } else {
            String::new()
        };
        return Err(VideoError::NoFrames { path: path.to_path_buf(), detail });
    }
    if exact_index && declared > 0 && (declared as u64) > readable as u64 {
        return Err(VideoError::Truncated { path: path.to_path_buf(), declared: declared as usize, readable });
    }
    Ok(())
}
