//! Throughput of the Kinetics train/test data pipelines (short side 256, 224 crops, 8 frames) in clips per second.
//!
//! `cargo run --release -p kinema-data --example bench_pipeline -- VIDEO [CLIPS] [WORKERS...]`
//!
//! Builds a VideoDataset listing VIDEO `CLIPS` times (default 64) and times one epoch of
//! the loader (batch size 1, as MMAction2's test loader; every clip is opened, sampled,
//! decoded, transformed and collated) for each worker count (default 1 and 2), after one
//! warm-up epoch. Pipelines:
//! * decode: DecordInit, SampleFrames(1, 1, 8, test_mode), DecordDecode (decoding alone);
//! * test: DecordInit, SampleFrames(1, 1, 8, test_mode), DecordDecode, Resize(-1, 256),
//!   CenterCrop(224), FormatShape(NCHW), PackActionInputs;
//! * train (upstream-reference §2.6): DecordInit, SampleFrames(1, 1, 8), DecordDecode,
//!   Resize(-1, 256), RandomResizedCrop, MultiScaleCrop(224, (1, .875, .75, .66), 13
//!   fixed crops), Resize(224, 224, keep_ratio=False), Flip(0.5), FormatShape(NCHW),
//!   PackActionInputs.

use std::time::Instant;

use kinema_core::registry::BuildSite;
use kinema_core::rng::sample_rng;
use kinema_core::Config;
use kinema_data::{build_dataloader, FrameStack, LoaderContext, Pipeline, Sample};

const TEST: &str = r#"[
  { type = "DecordInit" },
  { type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 8, test_mode = true },
  { type = "DecordDecode" },
  { type = "Resize", scale = [-1, 256] },
  { type = "CenterCrop", crop_size = 224 },
  { type = "FormatShape", input_format = "NCHW" },
  { type = "PackActionInputs" },
]"#;

const DECODE: &str = r#"[
  { type = "DecordInit" },
  { type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 8, test_mode = true },
  { type = "DecordDecode" },
]"#;

const TRAIN: &str = r#"[
  { type = "DecordInit" },
  { type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 8 },
  { type = "DecordDecode" },
  { type = "Resize", scale = [-1, 256] },
  { type = "RandomResizedCrop" },
  { type = "MultiScaleCrop", input_size = 224, scales = [1, 0.875, 0.75, 0.66], random_crop = false,
    num_fixed_crops = 13, max_wh_scale_gap = 1 },
  { type = "Resize", scale = [224, 224], keep_ratio = false },
  { type = "Flip", flip_ratio = 0.5 },
  { type = "FormatShape", input_format = "NCHW" },
  { type = "PackActionInputs" },
]"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let video = std::fs::canonicalize(args.first().ok_or("usage: bench_pipeline VIDEO [CLIPS] [WORKERS...]")?)?;
    let clips: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(64);
    let workers: Vec<usize> =
        if args.len() > 2 { args[2..].iter().map(|s| s.parse()).collect::<Result<_, _>>()? } else { vec![1, 2] };
    let dir = std::env::temp_dir().join(format!("kinema-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let list = dir.join("list.txt");
    std::fs::write(&list, format!("{} 0\n", video.display()).repeat(clips))?;
    for (name, pipeline) in [("decode", DECODE), ("test", TEST), ("train", TRAIN)] {
        for &w in &workers {
            let text = format!(
                "[loader]\nbatch_size = 1\nnum_workers = {w}\npersistent_workers = true\n\
                 sampler = {{ type = \"DefaultSampler\", shuffle = false }}\n\
                 [loader.dataset]\ntype = \"VideoDataset\"\nann_file = \"{}\"\npipeline = {pipeline}\n",
                list.display()
            );
            let cfg = Config::from_toml_str(&text, "bench.toml")?;
            let mut loader = build_dataloader(&cfg, "loader", &LoaderContext::default())?;
            for b in loader.epoch(0) {
                b?;
            }
            let (start, busy) = (Instant::now(), busy_cpu_seconds());
            let mut n = 0;
            for b in loader.epoch(1) {
                n += b?.len();
            }
            let secs = start.elapsed().as_secs_f64();
            let cpu = busy_cpu_seconds() - busy;
            println!(
                "{name:<6} pipeline, {w} worker(s): {n} clips in {secs:.2} s = {:.1} clips/s; \
                 {cpu:.2} busy CPU-s = {:.1} clips per CPU-s",
                n as f64 / secs,
                n as f64 / cpu
            );
        }
    }
    std::fs::remove_dir_all(&dir)?;
    transforms_only(&video, clips)
}

/// CPU time spent by the whole machine so far (all cores, everything but idle and I/O
/// wait, from `/proc/stat`): the per-core measure, the same for both sides of the comparison.
fn busy_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal, in USER_HZ (100 per second on Linux)
    let busy: f64 = fields.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    busy / 100.0
}

/// The spatial part alone, on 8 frames decoded once, in this thread: what the pipelines
/// cost besides decoding.
fn transforms_only(video: &std::path::Path, clips: usize) -> Result<(), Box<dyn std::error::Error>> {
    kinema_data::alloc::keep_freed_memory();
    let mut reader = kinema_video::VideoReader::open(video)?;
    let n = reader.info().frame_count;
    let inds: Vec<usize> = (0..8).map(|i| ((2 * i + 1) * n) / 16).collect();
    let frames: FrameStack = reader.read_frames(&inds)?.into();
    let strip = |p: &str| -> String {
        let start = p.find("{ type = \"Resize\"").unwrap_or(0);
        format!("[{}", &p[start..])
    };
    for (name, pipeline) in [("test", TEST), ("train", TRAIN)] {
        let steps: toml::Value = toml::from_str(&format!("p = {}", strip(pipeline)))?;
        let value = serde_json::to_value(&steps["p"])?;
        let p = Pipeline::build(&value, &BuildSite::detached(Default::default()))?;
        let mut times = Vec::with_capacity(clips);
        for i in 0..clips {
            let start = Instant::now();
            let mut s = Sample {
                img_shape: Some([frames.height, frames.width]),
                imgs: Some(frames.clone()),
                num_clips: Some(8),
                clip_len: Some(1),
                ..Sample::default()
            };
            p.run(&mut s, &mut sample_rng(0, 0, i as u64))?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
        println!("{name:<6} transforms only (8 decoded frames, 1 thread): median {:.2} ms per clip", median * 1e3);
    }
    Ok(())
}
