//! Videos written by `writer` read back with the right count, size, rate and pixels.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kinema_video::synthetic::{Motion, Scene};
use kinema_video::writer::{has_h264_encoder, Codec, VideoWriter, WriterOptions};
use kinema_video::{VideoError, VideoReader};

/// A clean (noise-free) moving scene.
fn scene(width: usize, height: usize, frames: usize) -> (Scene, Vec<u8>) {
    let mut scene = Scene::random(Motion::MovingRight, width, height, frames, 7);
    scene.noise = 0.0;
    let frames = scene.render();
    (scene, frames)
}

fn write(path: &std::path::Path, options: &WriterOptions, frames: &[u8]) -> &'static str {
    let mut writer = VideoWriter::create(path, options).expect("create");
    let frame = (options.width * options.height * 3) as usize;
    for f in frames.chunks_exact(frame) {
        writer.write_frame(f).expect("write");
    }
    assert_eq!(writer.frames_written(), frames.len() / frame);
    let name = writer.codec_name();
    writer.finish().expect("finish");
    name
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).unsigned_abs() as f64).sum::<f64>() / a.len() as f64
}

#[test]
fn h264_and_mpeg4_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, h, n) = (64usize, 48usize, 20usize);
    let (_, frames) = scene(w, h, n);
    let mut cases = vec![(Codec::Mpeg4, "mpeg4", "clip.avi", 8.0), (Codec::Mpeg4, "mpeg4", "clip_mpeg4.mp4", 8.0)];
    if has_h264_encoder() {
        cases.push((Codec::H264, "libx264", "clip.mp4", 3.0));
        cases.push((Codec::Auto, "libx264", "clip.mkv", 3.0));
    }
    for (codec, name, file, tolerance) in cases {
        let path = dir.path().join(file);
        let mut options = WriterOptions::new(w as u32, h as u32, 25);
        options.codec = codec;
        options.gop = 6;
        assert_eq!(write(&path, &options, &frames), name);
        let mut reader = VideoReader::open(&path).expect("open");
        let info = reader.info().clone();
        assert_eq!((info.frame_count, info.width, info.height), (n, w, h), "{file}");
        assert!((info.fps - 25.0).abs() < 1e-9, "{file}: fps {}", info.fps);
        assert!((info.duration_s - n as f64 / 25.0).abs() < 0.05, "{file}: duration {}", info.duration_s);
        let all: Vec<usize> = (0..n).collect();
        let decoded = reader.read_frames(&all).expect("read");
        let diff = mean_abs_diff(&decoded.data, &frames);
        assert!(diff < tolerance, "{file}: mean abs diff {diff}");
        // Frame order is preserved: each decoded frame is closest to its own source frame.
        let size = w * h * 3;
        for i in [0usize, 9, 19] {
            let own = mean_abs_diff(&decoded.data[i * size..(i + 1) * size], &frames[i * size..(i + 1) * size]);
            let other_i = if i == 0 { 5 } else { i - 5 };
            let other =
                mean_abs_diff(&decoded.data[i * size..(i + 1) * size], &frames[other_i * size..(other_i + 1) * size]);
            assert!(own < other, "{file}: frame {i} matches frame {other_i} better ({other} < {own})");
        }
    }
}

/// x264's SIMD paths (its lookahead) make other encoding decisions than its C code: two
/// machines with different CPUs wrote different bytes for the same frames (the synthetic
/// dataset differed between VMs). The writer's `cpu-independent` mode makes the bytes
/// those of x264 without any SIMD (`asm=0`), whatever the CPU.
#[test]
fn h264_bytes_do_not_depend_on_the_cpu() {
    if !has_h264_encoder() {
        eprintln!("skipped: this FFmpeg has no libx264");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, frames) = scene(64, 48, 40);
    let bytes = |name: &str, params: Option<&str>| {
        let mut o = WriterOptions::new(64, 48, 25);
        o.codec = Codec::H264;
        o.x264_params = params.map(str::to_string);
        let path = dir.path().join(name);
        write(&path, &o, &frames);
        std::fs::read(path).unwrap()
    };
    let this_cpu = bytes("cpu.mp4", None);
    let no_simd = bytes("c.mp4", Some("asm=0"));
    assert!(this_cpu == no_simd, "the bytes depend on the CPU's SIMD features");
    let cpu_dependent =
        bytes("dependent.mp4", Some("cpu-independent=0")) != bytes("dependent_c.mp4", Some("cpu-independent=0:asm=0"));
    eprintln!("without cpu-independent, this CPU's bytes differ from x264's C code: {cpu_dependent}");
}

#[test]
fn faststart_puts_the_index_first_and_reads_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, frames) = scene(32, 32, 10);
    let plain = dir.path().join("plain.mp4");
    let fast = dir.path().join("fast.mp4");
    let mut options = WriterOptions::new(32, 32, 10);
    write(&plain, &options, &frames);
    options.faststart = true;
    write(&fast, &options, &frames);
    let bytes = std::fs::read(&fast).expect("read");
    let moov = bytes.windows(4).position(|w| w == b"moov").expect("moov");
    let mdat = bytes.windows(4).position(|w| w == b"mdat").expect("mdat");
    assert!(moov < mdat, "faststart: moov at {moov}, mdat at {mdat}");
    let all: Vec<usize> = (0..10).collect();
    let a = VideoReader::open(&plain).expect("open").read_frames(&all).expect("read");
    let b = VideoReader::open(&fast).expect("open").read_frames(&all).expect("read");
    assert!(a == b, "faststart changed the decoded pixels");
}

#[test]
fn variable_frame_rate_keeps_every_frame_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vfr.mp4");
    let (w, h) = (32usize, 32usize);
    // Frame i is a flat grey of level 10 * i, shown at irregular times (1/1000 s units).
    let times = [0i64, 40, 60, 200, 210, 400, 433, 700, 1000, 1010];
    let mut options = WriterOptions::new(w as u32, h as u32, 25);
    options.timescale = Some(1000);
    let mut writer = VideoWriter::create(&path, &options).expect("create");
    for (i, &t) in times.iter().enumerate() {
        writer.write_frame_at(&vec![(20 * i) as u8; w * h * 3], t).expect("write");
    }
    let err = writer.write_frame_at(&vec![0u8; w * h * 3], 1010).expect_err("same timestamp");
    assert!(err.to_string().contains("not after the previous"), "{err}");
    writer.finish().expect("finish");

    let mut reader = VideoReader::open(&path).expect("open vfr");
    let info = reader.info().clone();
    assert_eq!(info.frame_count, times.len());
    // Average rate: frames over the stream's duration (the last frame lasts as long as the one before).
    assert!(info.fps > 5.0 && info.fps < 15.0, "fps {}", info.fps);
    let frames = reader.read_frames(&[9, 0, 4, 5, 3]).expect("read");
    for (slot, i) in [9usize, 0, 4, 5, 3].into_iter().enumerate() {
        let mean = common::channel_means(frames.frame(slot).expect("frame"))[0];
        assert!((mean - (20 * i) as f64).abs() < 3.0, "frame {i}: mean {mean}");
    }
}

#[test]
fn invalid_writer_arguments_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.mp4");
    let odd = VideoWriter::create(&path, &WriterOptions::new(33, 32, 25)).err().expect("odd width");
    assert!(matches!(odd, VideoError::InvalidArgument { .. }), "{odd}");
    assert!(odd.to_string().contains("bad.mp4") && odd.to_string().contains("33x32"), "{odd}");
    let mut options = WriterOptions::new(32, 32, 25);
    options.timescale = Some(1001);
    let scale = VideoWriter::create(&path, &options).err().expect("timescale");
    assert!(scale.to_string().contains("multiple of fps"), "{scale}");
    let unknown =
        VideoWriter::create(dir.path().join("x.notacontainer"), &WriterOptions::new(32, 32, 25)).err().expect("ext");
    assert!(
        matches!(unknown, VideoError::Write { .. }) && unknown.to_string().contains("x.notacontainer"),
        "{unknown}"
    );
    let mut writer = VideoWriter::create(&path, &WriterOptions::new(32, 32, 25)).expect("create");
    let short = writer.write_frame(&[0u8; 10]).expect_err("short frame");
    assert!(short.to_string().contains("10 bytes") && short.to_string().contains("3072"), "{short}");
}
