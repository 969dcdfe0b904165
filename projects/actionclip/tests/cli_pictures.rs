//! The pictures of `tools/infer`: the timeline PNG and the annotated video, decoded and
//! compared with the input.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::cli::{carphone, succeeded as ok, tiny_checkpoint, tool};

fn infer(extra: &[&str]) -> Output {
    let ck = tiny_checkpoint();
    let mut args =
        vec!["--checkpoint", ck.to_str().unwrap(), "--labels", "driving a car,talking on the phone,swimming"];
    args.extend_from_slice(extra);
    Command::new(tool("infer")).args(&args).output().unwrap()
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

fn mean_abs(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from((i16::from(*x) - i16::from(*y)).unsigned_abs())).sum::<f64>()
        / a.len() as f64
}

#[test]
fn the_timeline_png_and_the_annotated_video_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let (png, mp4) = (dir.path().join("timeline.png"), dir.path().join("annotated.mp4"));
    let video = carphone();
    let args = [video.to_str().unwrap(), "--frame-interval", "2", "--out-timeline", png.to_str().unwrap()];
    ok(&infer(&[&args[..], &["--out-video", mp4.to_str().unwrap(), "--top-k", "3"]].concat()));
    assert_eq!(png_size(&png), (1280, 560));
    // The input's 120 frames at its rate, enlarged 2x (176x144 is below 320 wide).
    let mut out = kinema_video::VideoReader::open(&mp4).unwrap();
    let info = out.info().clone();
    assert_eq!((info.frame_count, info.width, info.height), (120, 352, 288));
    assert!((info.fps - 30.0).abs() < 1e-9, "{}", info.fps);
    let mut input = kinema_video::VideoReader::open(&video).unwrap();
    let (a, b) = (out.read_frames(&[60]).unwrap(), input.read_frames(&[60]).unwrap());
    // Bottom right: the input's pixels (up to H.264 rounding); top left: the label panel.
    // 20 x 20 samples of a square of `side` pixels at (x0, y0).
    let region = |f: &kinema_video::Frames, x0: usize, y0: usize, side: usize| -> Vec<u8> {
        let mut v = Vec::new();
        for y in (y0..y0 + side).step_by(side / 20) {
            for x in (x0..x0 + side).step_by(side / 20) {
                v.extend_from_slice(&f.data[(y * f.width + x) * 3..(y * f.width + x) * 3 + 3]);
            }
        }
        v
    };
    let (out_br, in_br) = (region(&a, 300, 230, 40), region(&b, 150, 115, 20));
    assert!(mean_abs(&out_br, &in_br) < 6.0, "bottom right differs from the input: {}", mean_abs(&out_br, &in_br));
    let (out_tl, in_tl) = (region(&a, 4, 4, 40), region(&b, 2, 2, 20));
    assert!(mean_abs(&out_tl, &in_tl) > 20.0, "no label panel drawn: {}", mean_abs(&out_tl, &in_tl));
    // Without --timeline, --out-timeline is refused; --out-video works on one clip.
    let refused = infer(&[video.to_str().unwrap(), "--out-timeline", png.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("add --timeline"));
    let single = dir.path().join("single.mp4");
    ok(&infer(&[video.to_str().unwrap(), "--out-video", single.to_str().unwrap()]));
    assert_eq!(kinema_video::VideoReader::open(&single).unwrap().info().frame_count, 120);
}
