//! Decoded frames, numbering and metadata equal decord's (MMAction2's DecordInit/DecordDecode),
//! bit for bit, on a real H.264 video and on small reference clips made by
//! `tests/reference/make_video_fixtures.py`.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{channel_means, fixture, json, sha256, strings, usizes};
use kinema_video::{ReaderOptions, VideoReader};

#[test]
fn carphone_matches_decord_bit_for_bit() {
    let expected = json("carphone_expected.json");
    let video = &expected["videos"]["carphone_pristine.mp4"];
    let decord = &video["decord"];
    let mut reader = VideoReader::open(fixture("carphone_pristine.mp4")).expect("open");
    let info = reader.info().clone();
    assert_eq!(info.frame_count as u64, decord["total_frames"].as_u64().expect("total_frames"));
    assert_eq!(info.fps, decord["avg_fps"].as_f64().expect("avg_fps"));
    assert_eq!(info.width as u64, decord["width"].as_u64().expect("width"));
    assert_eq!(info.height as u64, decord["height"].as_u64().expect("height"));
    assert!((info.duration_s - 120.0 * 1001.0 / 30000.0).abs() < 1e-9, "{}", info.duration_s);

    let indices = usizes(&video["frame_inds"]);
    let frames = reader.read_frames(&indices).expect("read");
    assert_eq!((frames.count, frames.height, frames.width), (8, 144, 176));
    let means = channel_means(&frames.data);
    let want_means: Vec<f64> = video["decord_frames_channel_mean"]
        .as_array()
        .expect("means")
        .iter()
        .map(|v| v.as_f64().expect("f64"))
        .collect();
    for c in 0..3 {
        assert!((means[c] - want_means[c]).abs() < 1e-9, "channel {c}: {} vs decord {}", means[c], want_means[c]);
    }
    assert_eq!(
        sha256(&frames.data),
        video["decord_frames_sha256"].as_str().expect("sha"),
        "frames differ from decord's"
    );
}

#[test]
fn carphone_same_pixels_for_every_access_pattern_and_thread_count() {
    let path = fixture("carphone_pristine.mp4");
    let mut sequential = VideoReader::open(&path).expect("open");
    let all: Vec<usize> = (0..120).collect();
    let reference = sequential.read_frames(&all).expect("read all");
    let frame = 144 * 176 * 3;
    let expected_of = |indices: &[usize]| -> Vec<u8> {
        indices.iter().flat_map(|&i| reference.data[i * frame..(i + 1) * frame].iter().copied()).collect()
    };
    let patterns: [&[usize]; 5] = [
        &[119, 0, 60, 60, 3, 118, 1],
        &[7, 22, 37, 52, 67, 82, 97, 112],
        &[112, 97, 82, 67, 52, 37, 22, 7],
        &[5, 5, 5],
        &[40, 41, 42, 43, 44, 45, 46, 47],
    ];
    for threads in [1, 0, 3] {
        let mut reader = VideoReader::open_with(&path, &ReaderOptions::with_threads(threads)).expect("open");
        let mut buffer = Vec::new();
        for pattern in patterns {
            reader.read_frames_into(pattern, &mut buffer).expect("read");
            assert!(
                buffer == expected_of(pattern),
                "threads {threads}, indices {pattern:?}: pixels differ from sequential decoding"
            );
        }
        // Dense chunks one after the other (a timeline, an annotated video): the decoder
        // has read past each chunk's end when the next one is asked for.
        let mut chunked = VideoReader::open_with(&path, &ReaderOptions::with_threads(threads)).expect("open");
        for start in (0..120).step_by(32) {
            let chunk: Vec<usize> = (start..(start + 32).min(120)).collect();
            chunked.read_frames_into(&chunk, &mut buffer).expect("read a chunk");
            assert!(buffer == expected_of(&chunk), "threads {threads}, chunk from {start}: pixels differ");
        }
        // The same reader keeps working after reading the last frame (decoder drained).
        reader.read_frames_into(&[119], &mut buffer).expect("last");
        reader.read_frames_into(&[0, 119, 2], &mut buffer).expect("again");
        assert!(buffer == expected_of(&[0, 119, 2]));
    }
}

/// Per-frame hashes of decord's output for a reference clip, and the clip's reader.
fn reference_clip(name: &str) -> (serde_json::Value, VideoReader) {
    let all = json("decord_reference.json");
    let entry = all["videos"][name].clone();
    assert!(entry.is_object(), "{name} missing from decord_reference.json");
    let reader = VideoReader::open(fixture(name)).expect("open");
    (entry, reader)
}

fn frame_hashes(reader: &mut VideoReader, indices: &[usize]) -> Vec<String> {
    let frames = reader.read_frames(indices).expect("read");
    (0..frames.count).map(|i| sha256(frames.frame(i).expect("frame"))).collect()
}

#[test]
fn reference_clips_match_decord_including_colour_tags() {
    for name in ["gop_bframes.mp4", "bt709.mp4", "fullrange.mp4", "rotate90.mp4"] {
        let (entry, mut reader) = reference_clip(name);
        let info = reader.info().clone();
        assert_eq!(info.frame_count as u64, entry["frame_count"].as_u64().expect("count"), "{name}");
        assert_eq!(info.fps, entry["fps"].as_f64().expect("fps"), "{name}");
        assert_eq!(
            (info.width as u64, info.height as u64),
            (entry["width"].as_u64().expect("w"), entry["height"].as_u64().expect("h")),
            "{name}"
        );
        let all: Vec<usize> = (0..info.frame_count).collect();
        let got = frame_hashes(&mut reader, &all);
        let want = strings(&entry["frame_sha256"]);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{name}: frame {i} differs from the reference ({})", entry["reference"]);
        }
        assert_eq!(got.len(), want.len());
        if let Some(keys) = entry.get("key_indices") {
            assert_eq!(reader.keyframe_indices(), usizes(keys), "{name}");
        }
    }
}

#[test]
fn random_access_with_b_frames_matches_decord_get_batch() {
    let (entry, mut reader) = reference_clip("gop_bframes.mp4");
    let access = &entry["random_access"];
    let indices = usizes(&access["indices"]);
    assert_eq!(frame_hashes(&mut reader, &indices), strings(&access["frame_sha256"]));
    // Each index on its own, in a fresh order, hits the same frames as the full decode.
    let all = strings(&entry["frame_sha256"]);
    for i in [59usize, 0, 13, 12, 11, 36, 35, 48, 1] {
        assert_eq!(frame_hashes(&mut reader, &[i]), vec![all[i].clone()], "frame {i}");
    }
    // Several frames per call: non-reference frames between and after the wanted ones
    // are skipped, the wanted ones (reference or not) still come out exact.
    let patterns: [&[usize]; 4] =
        [&[11, 12, 13, 36, 48], &[1, 3, 5, 7, 9, 58, 59], &[20, 21, 22, 23, 24, 25], &[47, 2, 30]];
    for pattern in patterns {
        let want: Vec<String> = pattern.iter().map(|&i| all[i].clone()).collect();
        assert_eq!(frame_hashes(&mut reader, pattern), want, "indices {pattern:?}");
    }
}
