//! Full-size CLIP (ViT-B/32, ViT-B/16) with random weights, saved as OpenAI-style
//! TorchScript archives by `tests/reference/make_fullsize_clip_reference.py`, loads and
//! matches that script's PyTorch outputs within 1e-4. The archives (300 MB each) are not
//! committed, so the tests are ignored by default; run them with the archives in
//! `$KINEMA_FULLSIZE_DIR` (default `~/.cache/kinema/fullsize`):
//! `cargo test -p actionclip --test fullsize_clip -- --ignored`.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::PathBuf;

use actionclip::checkpoint::{read_checkpoint, SourceFormat};
use common::*;
use kinema_models::clip::{Clip, ClipArch};
use kinema_models::layers::AttentionImpl;
use kinema_models::weights::{load_into_varstore, shapes_of, LoadMode};
use tch::{nn, Device, Kind, Tensor};

fn archive_dir() -> PathBuf {
    match std::env::var_os("KINEMA_FULLSIZE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/kinema/fullsize"),
    }
}

fn matrix(v: &serde_json::Value) -> Tensor {
    let rows: Vec<Tensor> = v.as_array().unwrap().iter().map(json_tensor).collect();
    Tensor::stack(&rows, 0)
}

fn check(name: &str, preset: &str) {
    let expected_file =
        // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())).join(format!("../../tests/fixtures/fullsize/{name}.json"));
    let archive = archive_dir().join(format!("{name}.pt"));
    assert!(archive.is_file(), "{} is absent (run tests/reference/make_fullsize_clip_reference.py)", archive.display());
    let want: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(expected_file).unwrap()).unwrap();
    let ck = read_checkpoint(&archive, SourceFormat::Auto, None).unwrap();
    assert_eq!(ck.format, SourceFormat::OpenAi);
    let arch = ClipArch::from_shapes(&shapes_of(&ck.tensors), "clip.").unwrap();
    assert_eq!(arch, ClipArch::preset(preset).unwrap());
    let params: i64 = ck.tensors.iter().map(|(_, t)| t.numel() as i64).sum();
    assert_eq!(params, want["parameters"].as_i64().unwrap());
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(&(vs.root() / "clip"), &arch, AttentionImpl::Fused).unwrap();
    load_into_varstore(&vs, &ck.tensors, LoadMode::Strict, name).unwrap();
    let n = 2 * 3 * 224 * 224;
    let images = (Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.37).sin() * 1.5;
    let images = images.view([2, 3, 224, 224]);
    let img = tch::no_grad(|| clip.encode_image(&images)).unwrap();
    let d = max_abs(&img, &matrix(&want["image_features"]));
    assert!(d < 1e-4, "{name}: image features differ by {d}");
    let txt = tch::no_grad(|| clip.encode_text(&npy("case1_tokens.npy"))).unwrap();
    let d = max_abs(&txt, &matrix(&want["text_features"]));
    assert!(d < 1e-4, "{name}: text features differ by {d}");
}

#[test]
#[ignore = "needs the 300 MB ViT-B-32.pt made by tests/reference/make_fullsize_clip_reference.py"]
fn vit_b32_random_weights_match_pytorch() {
    check("ViT-B-32", "ViT-B/32");
}

#[test]
#[ignore = "needs the 300 MB ViT-B-16.pt made by tests/reference/make_fullsize_clip_reference.py"]
fn vit_b16_random_weights_match_pytorch() {
    check("ViT-B-16", "ViT-B/16");
}
