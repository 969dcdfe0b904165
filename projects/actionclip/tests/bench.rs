//! Timings (ignored by default; run by `tests/reference/bench_actionclip.py`, or
//! `cargo test -p actionclip --test bench -- --ignored --nocapture`):
//! 8-frame `encode_video` of ViT-B/32 or `KINEMA_BENCH_ARCH` (fp32, random weights) and
//! the text features of `KINEMA_BENCH_CLASSES` (400) classes x `KINEMA_BENCH_TEMPLATES`
//! (16) templates with and without end-of-text truncation, and again from the text-feature
//! cache. Prints numbers; asserts only that the text paths agree.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::time::Instant;

use actionclip::checkpoint::spec::build_named;
use actionclip::losses::CrossEntropyLoss;
use actionclip::{ActionClip, ActionClipSpec, RunOptions, TokenizedPrompts};
use common::*;
use kinema_models::clip::ClipArch;
use tch::{Device, Kind, Tensor};

fn arch() -> String {
    std::env::var("KINEMA_BENCH_ARCH").unwrap_or_else(|_| "ViT-B/32".into())
}

fn b32(options: RunOptions) -> ActionClip {
    tch::manual_seed(0);
    let spec = ActionClipSpec {
        clip: ClipArch::preset(&arch()).unwrap(),
        adapter: build_named("TransformerAdapter").unwrap(),
        num_segs: 8,
        num_layers: 6,
    };
    let pre = clip_preprocessor();
    ActionClip::new(&spec, Device::Cpu, Box::new(pre), Box::new(CrossEntropyLoss::new(0.5)), options).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore]
fn bench_encode_video_vit_b32_8_frames() {
    let runs: usize = std::env::var("KINEMA_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let model = b32(RunOptions::default());
    let n = 8 * 3 * 224 * 224;
    let _warm = tch::no_grad(|| model.encode_video(&Tensor::zeros([1, 8, 3, 224, 224], (Kind::Float, Device::Cpu))));
    let x = ((Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.37).sin() * 1.5).view([1, 8, 3, 224, 224]);
    let mut times = Vec::new();
    for i in 0..runs + 2 {
        let t = Instant::now();
        let y = tch::no_grad(|| model.encode_video(&x)).unwrap();
        assert_eq!(y.size(), [1, 512]);
        if i >= 2 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    println!(
        "RUST_ENCODE_VIDEO_MS arch={} median={:.1} min={:.1} threads={}",
        arch(),
        median(times.clone()),
        times.iter().cloned().fold(f64::MAX, f64::min),
        tch::get_num_threads()
    );
}

#[test]
#[ignore]
fn bench_prompt_truncation_400x16() {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(d);
    let (limit, n_templates) = (env("KINEMA_BENCH_CLASSES", 400), env("KINEMA_BENCH_TEMPLATES", 16));
    let labels: Vec<String> = k400_labels().into_iter().take(limit).collect();
    let templates: Vec<String> = actionclip::prompts::default_templates().into_iter().take(n_templates).collect();
    let prompts = || TokenizedPrompts::from_lists(labels.clone(), templates.clone()).unwrap();
    let cache = std::env::temp_dir().join(format!("kinema-bench-text-cache-{}", std::process::id()));
    let mut timed = Vec::new();
    let mut feats = Vec::new();
    for (truncate, cached) in [(true, false), (false, false), (true, true), (true, true)] {
        let dir = cached.then(|| cache.clone());
        let mut model = b32(RunOptions { truncate_prompts: truncate, text_cache_dir: dir, ..RunOptions::default() });
        model.set_prompts(prompts());
        let t = Instant::now();
        feats.push(model.text_features().unwrap());
        timed.push(t.elapsed().as_secs_f64());
    }
    std::fs::remove_dir_all(&cache).ok();
    let d = max_abs(&feats[0], &feats[1]).max(max_abs(&feats[0], &feats[3]));
    println!(
        "RUST_TEXT_FEATURES prompts={} truncated_s={:.3} full_s={:.3} speedup={:.2}x cached_s={:.3} max_abs_diff={d:.2e}",
        labels.len() * templates.len(),
        timed[0],
        timed[1],
        timed[1] / timed[0],
        timed[3],
    );
    assert!(d <= 1e-5, "{d}");
}
