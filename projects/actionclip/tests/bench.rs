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
    assert_eq!(d, 0.0, "truncated, shared-prefix features differ from full-length ones");
}

/// `--precision bf16` against fp32 in one run: `encode_video` (8 frames) and the text
/// features of 400 labels x 1 template, then agreement on 8 different clips (top-1 over the
/// 400 labels, largest probability difference, cosine of the video features).
#[test]
#[ignore]
fn bench_precision_bf16_against_fp32() {
    use kinema_torch::precision::{with_precision, Precision};
    let runs: usize = std::env::var("KINEMA_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut model = b32(RunOptions::default());
    let labels: Vec<String> = k400_labels().into_iter().take(400).collect();
    model.set_prompts(TokenizedPrompts::from_lists(labels, vec!["a video of {}".to_string()]).unwrap());
    let clip = |k: i64| {
        let n = 8 * 3 * 224 * 224;
        ((Tensor::arange(n, (Kind::Float, Device::Cpu)) * (0.37 + 0.11 * k as f64)).sin() * 1.5)
            .view([1, 8, 3, 224, 224])
    };
    let mut line = String::new();
    let mut outputs = Vec::new();
    for precision in [Precision::Fp32, Precision::Bf16] {
        let run = |f: &mut dyn FnMut() -> Tensor| with_precision(Device::Cpu, precision, || tch::no_grad(f)).unwrap();
        let x = clip(0);
        let _warm = run(&mut || model.encode_video(&x).unwrap());
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let _y = run(&mut || model.encode_video(&x).unwrap());
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let t = Instant::now();
        let text = run(&mut || model.text_features().unwrap()).to_kind(Kind::Float);
        let text_s = t.elapsed().as_secs_f64();
        // Drops the cached text features for the next precision.
        kinema_models::Recognizer::set_training(&mut model, true);
        kinema_models::Recognizer::set_training(&mut model, false);
        let videos: Vec<Tensor> =
            (0..8).map(|k| run(&mut || model.encode_video(&clip(k)).unwrap()).to_kind(Kind::Float)).collect();
        let v = Tensor::cat(&videos, 0);
        let v = &v / v.norm_scalaropt_dim(2, [-1], true);
        let t_n = &text / text.norm_scalaropt_dim(2, [-1], true);
        let probs = (v.matmul(&t_n.tr()) * 100.0).softmax(-1, Kind::Float);
        line += &format!(" {}_encode_video_ms={:.1} {}_text_s={:.3}", precision, median(times), precision, text_s);
        outputs.push((v, probs));
    }
    let (v32, p32) = &outputs[0];
    let (v16, p16) = &outputs[1];
    let same_top1 = p32.argmax(-1, false).eq_tensor(&p16.argmax(-1, false)).sum(Kind::Int64).int64_value(&[]);
    let max_prob_diff = (p32 - p16).abs().max().double_value(&[]);
    let min_cos = (v32 * v16).sum_dim_intlist([-1].as_slice(), false, Kind::Float).min().double_value(&[]);
    println!(
        "RUST_PRECISION arch={}{line} same_top1={same_top1}/8 max_prob_diff={max_prob_diff:.2e} min_cos={min_cos:.6}",
        arch()
    );
}
