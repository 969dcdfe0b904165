//! Speed paths that must not change results: prompt truncation (identical features),
//! fused attention (within 1e-5 of the plain path), text-feature caching; multi-view
//! averaging; the data preprocessor.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use actionclip::{RunOptions, TokenizedPrompts};
use common::*;
use kinema_models::layers::AttentionImpl;
use kinema_models::recognizer::ModelBatch;
use kinema_models::Recognizer;
use tch::{Kind, Tensor};

fn case2_prompts() -> TokenizedPrompts {
    let labels: Vec<String> = k400_labels().into_iter().take(10).collect();
    prompts_from_tokens(labels, actionclip::prompts::default_templates(), npy("case2_tokens.npy"))
}

#[test]
fn truncated_prompts_give_bit_identical_text_features() {
    let model = tiny_model();
    let text = &model.clip().text;
    let case2 = npy("case2_tokens.npy");
    let eot_max = Vec::<i64>::try_from(case2.argmax(-1, false)).unwrap().into_iter().max().unwrap();
    assert!(eot_max < 16, "the K400 prompts are short ({eot_max}), so truncation cuts most of the 77 positions");
    // Also prompts whose end-of-text tokens fall in different SIMD blocks (5, 20, 35).
    let mut rows = Vec::new();
    for eot in [5i64, 20, 35] {
        let mut r = vec![0i64; 77];
        r[0] = 49406;
        for (i, v) in r.iter_mut().enumerate().take(eot as usize).skip(1) {
            *v = 320 + i as i64;
        }
        r[eot as usize] = 49407;
        rows.extend(r);
    }
    let mixed = Tensor::from_slice(&rows).view([3, 77]);
    for tokens in [case2, mixed] {
        let full = tch::no_grad(|| text.forward(&tokens)).unwrap();
        let cut = tch::no_grad(|| text.forward_truncated(&tokens)).unwrap();
        assert_eq!(max_abs(&full, &cut), 0.0, "truncation changed the features");
    }
}

#[test]
fn shared_prefix_text_features_are_bit_identical_to_full_length() {
    let model = tiny_model();
    let text = &model.clip().text;
    let case2 = npy("case2_tokens.npy");
    // Per template (10 labels each: a shared prefix of 1 to 5 positions), and all 160 rows
    // at once (only the start-of-text token shared).
    let mut batches: Vec<Tensor> = (0..16).map(|k| case2.narrow(0, k * 10, 10)).collect();
    batches.push(case2.shallow_clone());
    // A 20-position prefix (the keys then span two SIMD blocks) before different endings,
    // one of which ends right after the prefix.
    let mut rows = Vec::new();
    for (i, eot) in [20i64, 23, 40].into_iter().enumerate() {
        let mut r = vec![0i64; 77];
        r[0] = 49406;
        for (j, v) in r.iter_mut().enumerate().take(eot as usize).skip(1) {
            *v = if j < 20 { 400 + j as i64 } else { 1000 + (i * 50 + j) as i64 };
        }
        r[eot as usize] = 49407;
        rows.extend(r);
    }
    batches.push(Tensor::from_slice(&rows).view([3, 77]));
    for tokens in batches {
        let full = tch::no_grad(|| text.forward(&tokens)).unwrap();
        let shared = tch::no_grad(|| text.forward_shared_prefix(&tokens)).unwrap();
        assert_eq!(shared.size(), full.size());
        assert_eq!(max_abs(&full, &shared), 0.0, "the shared prefix changed the features");
    }
    let empty = Tensor::zeros([0, 77], (Kind::Int64, tch::Device::Cpu));
    assert_eq!(tch::no_grad(|| text.forward_shared_prefix(&empty)).unwrap().size()[0], 0);
}

#[test]
fn fused_attention_stays_within_1e5_of_the_plain_path() {
    let plain =
        tiny_model_from(&tiny_checkpoint(), RunOptions { attention: AttentionImpl::Plain, ..RunOptions::default() });
    let fused =
        tiny_model_from(&tiny_checkpoint(), RunOptions { attention: AttentionImpl::Fused, ..RunOptions::default() });
    let x = npy("input.npy");
    let a = tch::no_grad(|| plain.encode_video(&x)).unwrap();
    let b = tch::no_grad(|| fused.encode_video(&x)).unwrap();
    let d = max_abs(&a, &b);
    assert!(d < 1e-5, "video features: fused vs plain {d}");
    let tokens = npy("case2_tokens.npy");
    let a = tch::no_grad(|| plain.encode_text(&tokens)).unwrap();
    let b = tch::no_grad(|| fused.encode_text(&tokens)).unwrap();
    let d = max_abs(&a, &b);
    assert!(d < 1e-5, "text features: fused vs plain {d}");
}

#[test]
fn multi_view_scores_are_the_mean_of_per_view_scores() {
    let mut model = tiny_model();
    model.set_prompts(case2_prompts());
    let a = npy("input.npy");
    let b = npy("loss_input.npy").narrow(0, 1, 1);
    let both = Tensor::cat(&[&a, &b], 1);
    assert_eq!(both.size(), [1, 16, 3, 32, 32]);
    let sa = model.predict_frames(&a).unwrap();
    let sb = model.predict_frames(&b).unwrap();
    let s = model.predict_frames(&both).unwrap();
    let d = max_abs(&s, &((sa + sb) / 2.0));
    assert!(d < 1e-6, "{d}");
    let err = model
        .predict_frames(&Tensor::zeros([1, 12, 3, 32, 32], (Kind::Float, tch::Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("multiple of the model's 8 frames"), "{err}");
}

#[test]
fn text_features_are_cached_in_memory_and_on_disk() {
    let dir = std::env::temp_dir().join(format!("actionclip-cache-{}", std::process::id()));
    let opts = RunOptions { text_cache_dir: Some(dir.clone()), ..RunOptions::default() };
    let mut model = tiny_model_from(&tiny_checkpoint(), opts.clone());
    model.set_prompts(case2_prompts());
    let first = model.text_features().unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1, "one cache file per weights + prompts");
    // A fresh model finds the file; its features are identical.
    let mut again = tiny_model_from(&tiny_checkpoint(), opts);
    again.set_prompts(case2_prompts());
    assert_eq!(max_abs(&first, &again.text_features().unwrap()), 0.0);
    // Other prompts, another key.
    let labels: Vec<String> = k400_labels().into_iter().skip(10).take(10).collect();
    let tokens = npy("case2_tokens.npy");
    again.set_prompts(prompts_from_tokens(labels, actionclip::prompts::default_templates(), tokens.flip([0])));
    let _ = again.text_features().unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn predict_from_u8_frames_normalises_like_mmaction() {
    let mut model = tiny_model();
    model.set_prompts(case2_prompts());
    let raw = (npy("input.npy") * 60.0 + 120.0).clamp(0.0, 255.0).round().to_kind(Kind::Uint8);
    let batch =
        ModelBatch { inputs: raw.shallow_clone(), labels: Tensor::from_slice(&[-1i64]), indices: vec![0], epoch: 0 };
    let scores = model.predict(&batch).unwrap();
    let mean = Tensor::from_slice(&[122.771f32, 116.746, 104.093]).view([3, 1, 1]);
    let std = Tensor::from_slice(&[68.500f32, 66.632, 70.323]).view([3, 1, 1]);
    let manual = model.predict_frames(&((raw.to_kind(Kind::Float) - mean) / std)).unwrap();
    assert_eq!(max_abs(&scores, &manual), 0.0);
    let sum = scores.sum(Kind::Double).double_value(&[]);
    assert!((sum - 1.0).abs() < 1e-5);
}
