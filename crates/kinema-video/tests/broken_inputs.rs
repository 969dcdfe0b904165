//! Bad input never panics or hangs: each case gives an error that names the file and says why.
//! The corpus is made here, in a temporary directory.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};

use ffmpeg_next as ff;
use kinema_video::synthetic::{Motion, Scene};
use kinema_video::writer::{VideoWriter, WriterOptions};
use kinema_video::{VideoError, VideoReader};
use rand::{RngCore, SeedableRng};

/// A valid 24-frame 32x32 MP4 (keyframe every 8 frames).
fn valid_video(dir: &Path, name: &str, faststart: bool) -> PathBuf {
    let path = dir.join(name);
    let mut options = WriterOptions::new(32, 32, 12);
    options.gop = 8;
    options.faststart = faststart;
    let mut writer = VideoWriter::create(&path, &options).expect("create");
    let frames = Scene::random(Motion::MovingDown, 32, 32, 24, 3).render();
    for f in frames.chunks_exact(32 * 32 * 3) {
        writer.write_frame(f).expect("write");
    }
    writer.finish().expect("finish");
    path
}

/// Top-level MP4 boxes: (type, offset, size).
fn boxes(bytes: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let kind = [bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]];
        out.push((kind, at, size));
        if size < 8 {
            break;
        }
        at += size;
    }
    out
}

fn find_box(bytes: &[u8], kind: &[u8; 4]) -> (usize, usize) {
    boxes(bytes).into_iter().find(|b| &b.0 == kind).map(|b| (b.1, b.2)).expect("box")
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// Opens `path` and, if that works, reads every frame; returns the first error.
fn first_error(path: &Path) -> VideoError {
    match VideoReader::open(path) {
        Err(e) => e,
        Ok(mut reader) => {
            let all: Vec<usize> = (0..reader.info().frame_count).collect();
            reader.read_frames(&all).err().unwrap_or_else(|| panic!("{} was read without error", path.display()))
        }
    }
}

fn assert_names_file(err: &VideoError, path: &Path) {
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains(&path.display().to_string()), "error does not name the file: {text}");
}

#[test]
fn missing_empty_directory_random_and_text_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.mp4");
    let err = first_error(&missing);
    assert!(matches!(err, VideoError::NotAFile(_)), "{err}");
    assert!(err.to_string().ends_with("missing.mp4: does not exist"), "{err}");

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    let err = first_error(&empty);
    assert!(matches!(err, VideoError::EmptyFile { .. }), "{err}");
    assert!(err.to_string().contains("empty (0 bytes)"), "{err}");

    let err = first_error(dir.path());
    assert!(err.to_string().ends_with(": is a folder, not a video file"), "{err}");

    // A named pipe would block FFmpeg's open forever; a link loop is not "missing".
    let fifo = dir.path().join("pipe.mp4");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let err = first_error(&fifo);
    assert!(
        err.to_string().ends_with("pipe.mp4: is not a regular file (a named pipe, socket or device), not a video file"),
        "{err}"
    );
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    std::os::unix::fs::symlink(&b, &a).expect("link");
    std::os::unix::fs::symlink(&a, &b).expect("link");
    assert!(first_error(&a).to_string().ends_with("a.mp4: is a symbolic link loop"));

    for (name, bytes) in [("random.mp4", random_bytes(64 * 1024, 1)), ("random.avi", random_bytes(3000, 2))] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let err = first_error(&path);
        assert_names_file(&err, &path);
        assert!(matches!(err, VideoError::Open { .. } | VideoError::NoVideoStream { .. }), "{name}: {err}");
    }
    // FFmpeg's "tty" demuxer would render a .txt file as ANSI art frames.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"label 1\nlabel 2\n".repeat(100)).expect("write");
    let err = first_error(&text);
    assert!(matches!(err, VideoError::NotAVideo { .. }), "{err}");
    assert!(
        err.to_string().ends_with("notes.txt: not a video file (FFmpeg would read it as \"Tele-typewriter\")"),
        "{err}"
    );
}

#[test]
fn truncated_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Index at the end: cutting the file removes it.
    let plain = valid_video(dir.path(), "plain.mp4", false);
    let bytes = std::fs::read(&plain).expect("read");
    let cut = dir.path().join("cut_index.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = first_error(&cut);
    assert_names_file(&err, &cut);
    assert!(matches!(err, VideoError::Open { .. }), "{err}");

    // Index first: cutting the media data leaves packets the index points past.
    let fast = valid_video(dir.path(), "fast.mp4", true);
    let bytes = std::fs::read(&fast).expect("read");
    let (mdat, mdat_size) = find_box(&bytes, b"mdat");
    let cut = dir.path().join("cut_data.mp4");
    std::fs::write(&cut, &bytes[..mdat + mdat_size / 2]).expect("write");
    let err = first_error(&cut);
    assert_names_file(&err, &cut);
    assert!(matches!(err, VideoError::Truncated { declared: 24, .. }), "{err}");
    assert!(err.to_string().contains("truncated: the container declares 24 frames but only"), "{err}");

    // Only the container header.
    let cut = dir.path().join("cut_header.mp4");
    std::fs::write(&cut, &bytes[..mdat]).expect("write");
    let err = first_error(&cut);
    assert_names_file(&err, &cut);
    assert!(matches!(err, VideoError::NoFrames { .. }), "{err}");
    assert!(err.to_string().contains("the container declares 24 frames but none can be read"), "{err}");
}

#[test]
fn garbage_media_data_gives_no_decodable_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = valid_video(dir.path(), "garbage.mp4", false);
    let mut bytes = std::fs::read(&path).expect("read");
    let (mdat, size) = find_box(&bytes, b"mdat");
    let noise = random_bytes(size - 8, 9);
    bytes[mdat + 8..mdat + size].copy_from_slice(&noise);
    std::fs::write(&path, &bytes).expect("write");
    let mut reader = VideoReader::open(&path).expect("container and index are intact");
    assert_eq!(reader.info().frame_count, 24);
    let err = reader.read_frames(&[0, 12]).expect_err("nothing decodes");
    assert_names_file(&err, &path);
    assert!(matches!(err, VideoError::Decode { index: 0, .. }), "{err}");
    assert!(err.to_string().contains("the decoder produced no frame"), "{err}");
}

#[test]
fn broken_sample_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = std::fs::read(valid_video(dir.path(), "good.mp4", false)).expect("read");
    // Chunk offsets far past the end of the file.
    let mut bytes = source.clone();
    let stco = bytes.windows(4).position(|w| w == b"stco").expect("stco");
    let entries = u32::from_be_bytes(bytes[stco + 8..stco + 12].try_into().expect("4 bytes")) as usize;
    for e in 0..entries {
        let at = stco + 12 + 4 * e;
        bytes[at..at + 4].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
    }
    let path = dir.path().join("bad_offsets.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let err = first_error(&path);
    assert_names_file(&err, &path);
    assert!(matches!(err, VideoError::NoFrames { .. }), "{err}");

    // Sample sizes larger than the file.
    let mut bytes = source.clone();
    let stsz = bytes.windows(4).position(|w| w == b"stsz").expect("stsz");
    let count = u32::from_be_bytes(bytes[stsz + 12..stsz + 16].try_into().expect("4 bytes")) as usize;
    for e in 0..count {
        let at = stsz + 16 + 4 * e;
        bytes[at..at + 4].copy_from_slice(&0x0100_0000u32.to_be_bytes());
    }
    let path = dir.path().join("bad_sizes.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let err = first_error(&path);
    assert_names_file(&err, &path);
    assert!(matches!(err, VideoError::Truncated { declared: 24, .. }), "{err}");

    // A sample table with a nonsense entry count.
    let mut bytes = source.clone();
    let stsz = bytes.windows(4).position(|w| w == b"stsz").expect("stsz");
    bytes[stsz + 12..stsz + 16].copy_from_slice(&u32::MAX.to_be_bytes());
    let path = dir.path().join("bad_count.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let err = first_error(&path);
    assert_names_file(&err, &path);
    assert!(matches!(err, VideoError::Open { .. }), "{err}");
}

/// Writes `seconds` of a 440 Hz tone as AAC in an MP4 container (no video stream).
fn write_audio_only(path: &Path, seconds: usize) {
    ff::init().expect("ffmpeg");
    let mut output = ff::format::output(&path).expect("output");
    let codec = ff::encoder::find(ff::codec::Id::AAC).expect("aac encoder");
    let global = output.format().flags().contains(ff::format::Flags::GLOBAL_HEADER);
    let mut enc = ff::codec::context::Context::new_with_codec(codec).encoder().audio().expect("audio");
    let rate = 44_100i32;
    enc.set_rate(rate);
    enc.set_channel_layout(ff::ChannelLayout::MONO);
    enc.set_format(ff::format::Sample::F32(ff::format::sample::Type::Planar));
    enc.set_time_base(ff::Rational::new(1, rate));
    if global {
        enc.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    }
    let mut encoder = enc.open().expect("open aac");
    {
        let mut stream = output.add_stream(codec).expect("stream");
        stream.set_parameters(&encoder);
        stream.set_time_base(ff::Rational::new(1, rate));
    }
    output.write_header().expect("header");
    let stream_tb = output.stream(0).expect("stream").time_base();
    let frame_size = encoder.frame_size() as usize;
    let mut frame = ff::frame::Audio::new(encoder.format(), frame_size, ff::ChannelLayout::MONO);
    frame.set_rate(rate as u32);
    let mut pts = 0i64;
    let drain = |encoder: &mut ff::encoder::Audio, output: &mut ff::format::context::Output| {
        let mut packet = ff::Packet::empty();
        while encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(ff::Rational::new(1, rate), stream_tb);
            packet.write_interleaved(output).expect("write packet");
        }
    };
    while (pts as usize) < seconds * rate as usize {
        for (i, s) in frame.plane_mut::<f32>(0).iter_mut().enumerate() {
            *s = 0.3 * ((pts as f32 + i as f32) * 440.0 * std::f32::consts::TAU / rate as f32).sin();
        }
        frame.set_pts(Some(pts));
        encoder.send_frame(&frame).expect("send");
        drain(&mut encoder, &mut output);
        pts += frame_size as i64;
    }
    encoder.send_eof().expect("eof");
    drain(&mut encoder, &mut output);
    output.write_trailer().expect("trailer");
}

#[test]
fn audio_only_file_has_no_video_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("speech.mp4");
    write_audio_only(&path, 1);
    let err = first_error(&path);
    assert!(matches!(err, VideoError::NoVideoStream { .. }), "{err}");
    assert!(err.to_string().ends_with("speech.mp4: no video stream (the file holds: audio (aac))"), "{err}");
}

#[test]
fn index_past_the_end_is_an_error_and_the_reader_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = valid_video(dir.path(), "ok.mp4", false);
    let mut reader = VideoReader::open(&path).expect("open");
    let before = reader.read_frames(&[23, 5]).expect("read");
    let err = reader.read_frames(&[3, 24]).expect_err("past the end");
    assert!(matches!(err, VideoError::IndexOutOfRange { index: 24, frame_count: 24, .. }), "{err}");
    assert!(err.to_string().ends_with("ok.mp4: frame index 24 is out of range (the video has 24 frames)"), "{err}");
    let err = reader.read_frames(&[usize::MAX]).expect_err("huge");
    assert!(matches!(err, VideoError::IndexOutOfRange { .. }), "{err}");
    assert_eq!(reader.read_frames(&[23, 5]).expect("read again"), before);
    let none = reader.read_frames(&[]).expect("empty request");
    assert_eq!((none.count, none.data.len()), (0, 0));
}

#[test]
fn raw_h264_stream_without_timestamps_is_numbered_in_order() {
    // A raw Annex-B stream has no container timestamps: frames are counted in decode order.
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = valid_video(dir.path(), "clip.mp4", false);
    let raw = dir.path().join("clip.h264");
    let mut options = WriterOptions::new(32, 32, 12);
    options.gop = 8;
    options.max_b_frames = 0;
    let mut writer = VideoWriter::create(&raw, &options).expect("create raw");
    let frames = Scene::random(Motion::MovingDown, 32, 32, 24, 3).render();
    for f in frames.chunks_exact(32 * 32 * 3) {
        writer.write_frame(f).expect("write");
    }
    writer.finish().expect("finish");
    let mut raw_reader = VideoReader::open(&raw).expect("open raw");
    assert_eq!(raw_reader.info().frame_count, 24);
    let mut mp4_reader = VideoReader::open(&mp4).expect("open mp4");
    let order = [20usize, 3, 3, 0, 23, 9];
    let raw_frames = raw_reader.read_frames(&order).expect("raw frames");
    let all: Vec<usize> = (0..24).collect();
    let mp4_frames = mp4_reader.read_frames(&all).expect("mp4 frames");
    // Two encodes of the same clip (B-frames or not): each raw frame is closest to the mp4
    // frame with the same number (every frame has its own background noise).
    let size = 32 * 32 * 3;
    let diff =
        |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).unsigned_abs()).sum::<u32>();
    for (slot, &index) in order.iter().enumerate() {
        let raw = &raw_frames.data[slot * size..(slot + 1) * size];
        let closest =
            (0..24).min_by_key(|&j| diff(raw, &mp4_frames.data[j * size..(j + 1) * size])).expect("24 frames");
        assert_eq!(closest, index, "raw frame {index} looks most like mp4 frame {closest}");
    }
}
