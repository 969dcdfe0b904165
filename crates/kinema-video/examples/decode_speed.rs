//! Decode speed: `cargo run --release -p kinema-video --example decode_speed [OUT.mp4] [GOP] [NOISE]`.
//!
//! Writes a 10 s, 30 fps, 340x256 H.264 video of a moving shape over a noisy background
//! (unless OUT.mp4 exists; NOISE is the background noise amplitude, default 6), then times opening it, decoding every frame, and decoding 8
//! sparse frames (MMAction2's test-mode sampling of 8 clips), single- and multi-threaded.

use std::time::Instant;

use kinema_video::synthetic::{Motion, Scene};
use kinema_video::writer::{VideoWriter, WriterOptions};
use kinema_video::{ReaderOptions, VideoReader};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/kinema_decode_speed.mp4".into());
    let gop: u32 = std::env::args().nth(2).map(|g| g.parse()).transpose()?.unwrap_or(60);
    let noise: f32 = std::env::args().nth(3).map(|g| g.parse()).transpose()?.unwrap_or(6.0);
    let (w, h, fps, n) = (340usize, 256usize, 30u32, 300usize);
    if !std::path::Path::new(&path).exists() {
        let mut scene = Scene::random(Motion::MovingRight, w, h, n, 1);
        scene.noise = noise;
        let mut options = WriterOptions::new(w as u32, h as u32, fps);
        options.gop = gop;
        let mut writer = VideoWriter::create(&path, &options)?;
        let mut rng = rand::rng();
        let mut frame = vec![0u8; w * h * 3];
        for t in 0..n {
            scene.render_frame(t, &mut rng, &mut frame);
            writer.write_frame(&frame)?;
        }
        writer.finish()?;
    }
    let bytes = std::fs::metadata(&path)?.len();
    let info = VideoReader::open(&path)?.info().clone();
    println!("{path}: {info:?}, {bytes} bytes, keyframes every {gop} frames");
    let count = info.frame_count;
    let all: Vec<usize> = (0..count).collect();
    // Test-mode SampleFrames(clip_len=1, num_clips=8): the middle of 8 equal segments.
    let sparse: Vec<usize> = (0..8).map(|i| ((i as f64 + 0.5) * count as f64 / 8.0) as usize).collect();
    let mut buffer = Vec::new();
    for threads in [1usize, 0] {
        let options = ReaderOptions::with_threads(threads);
        let (mut opens, mut fulls, mut sparses) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let mut reader = VideoReader::open_with(&path, &options)?;
            opens.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            reader.read_frames_into(&all, &mut buffer)?;
            fulls.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let mut reader = VideoReader::open_with(&path, &options)?;
            reader.read_frames_into(&sparse, &mut buffer)?;
            sparses.push(t.elapsed().as_secs_f64());
        }
        let (open, full, sparse_t) = (median(opens), median(fulls), median(sparses));
        println!(
            "threads={threads}: open {:.1} ms | full decode {count} frames {:.1} ms = {:.0} frames/s | 8 sparse frames incl. open {:.1} ms = {:.0} videos/s",
            open * 1e3,
            full * 1e3,
            count as f64 / full,
            sparse_t * 1e3,
            1.0 / sparse_t
        );
    }
    println!("sparse indices: {sparse:?}");
    Ok(())
}
