//! Loading every checkpoint format, parameter counts of the published shapes, the
//! conversion of original ActionCLIP keys, and the Kinema safetensors round trip.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;

use actionclip::checkpoint::convert::from_original;
use actionclip::checkpoint::spec::build_named;
use actionclip::checkpoint::{read_checkpoint, SourceFormat};
use actionclip::losses::CrossEntropyLoss;
use actionclip::{ActionClip, ActionClipSpec, RunOptions};
use common::*;
use kinema_models::clip::ClipArch;
use kinema_models::Recognizer;
use tch::{Device, Kind, Tensor};

fn param_count(model: &ActionClip, prefix: &str) -> i64 {
    model.var_store().variables().iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, t)| t.numel() as i64).sum()
}

fn build(arch: &str, segs: i64, layers: i64) -> ActionClip {
    let spec = ActionClipSpec {
        clip: ClipArch::preset(arch).unwrap(),
        adapter: build_named("TransformerAdapter").unwrap(),
        num_segs: segs,
        num_layers: layers,
    };
    let pre = clip_preprocessor();
    ActionClip::new(&spec, Device::Cpu, Box::new(pre), Box::new(CrossEntropyLoss::new(0.5)), RunOptions::default())
        .unwrap()
}

#[test]
fn published_shapes_have_the_published_parameter_counts() {
    for (arch, clip_params, segs) in [("ViT-B/32", 151_277_313i64, 8i64), ("ViT-B/16", 149_620_737, 32)] {
        let model = build(arch, segs, 6);
        assert_eq!(param_count(&model, "clip."), clip_params, "{arch}");
        assert_eq!(ClipArch::preset(arch).unwrap().parameter_count(), clip_params, "{arch} (formula)");
        assert_eq!(param_count(&model, "adapter."), 18_914_304 + 512 * segs, "{arch} adapter, T={segs}");
        let keys = model.var_store().variables().len();
        assert_eq!(keys, 302 + 73, "{arch}: tensors");
    }
}

#[test]
fn clip_arch_is_inferred_like_openai_build_model() {
    let model = build("ViT-B/16", 8, 6);
    let shapes = kinema_models::weights::shapes_of(&kinema_models::weights::named_parameters(model.var_store()));
    assert_eq!(ClipArch::from_shapes(&shapes, "clip.").unwrap(), ClipArch::preset("ViT-B/16").unwrap());
    assert_eq!(ClipArch::preset("ViT-L/14").unwrap().vision_heads(), 16);
    let err = ClipArch::from_shapes(&shapes, "model.").unwrap_err().to_string();
    assert!(err.contains("model.visual.proj"), "{err}");
}

#[test]
fn openai_torchscript_archive_loads_and_matches_the_mmengine_checkpoint() {
    let jit = read_checkpoint(&fixture("clip_tiny_openai.pt"), SourceFormat::Auto, None).unwrap();
    assert_eq!(jit.format, SourceFormat::OpenAi);
    assert!(jit.is_clip_only());
    assert!(jit.tensors.iter().all(|(_, t)| t.kind() == Kind::Float), "fp16 weights become fp32");
    assert!(!jit.tensors.iter().any(|(k, _)| k.ends_with("input_resolution") || k.ends_with("vocab_size")));
    let pth = read_checkpoint(&tiny_checkpoint(), SourceFormat::Auto, None).unwrap();
    let clip_keys: BTreeMap<_, _> =
        pth.tensors.iter().filter(|(k, _)| k.starts_with("clip.")).map(|(k, t)| (k.clone(), t)).collect();
    assert_eq!(jit.tensors.len(), clip_keys.len());
    for (k, t) in &jit.tensors {
        assert!(t.equal(clip_keys[k]), "{k} differs between the archive and the .pth");
    }
    // The same CLIP outputs through both files (adapter from the .pth for both).
    let from_pth = tiny_model();
    let mut from_jit = tiny_model();
    kinema_models::weights::load_into_varstore(
        from_jit.var_store_mut(),
        &jit.tensors,
        kinema_models::weights::LoadMode::NonStrict,
        "jit",
    )
    .unwrap();
    let input = npy("input.npy").view([8, 3, 32, 32]);
    let a = tch::no_grad(|| from_pth.encode_image(&input)).unwrap();
    let b = tch::no_grad(|| from_jit.encode_image(&input)).unwrap();
    assert_eq!(max_abs(&a, &b), 0.0);
    let d = max_abs(&b, &npy("case1_frame_features.npy"));
    assert!(d < 1e-5, "{d}");
}

#[test]
fn kinema_safetensors_round_trip_keeps_weights_and_metadata() {
    let ck = read_checkpoint(&tiny_checkpoint(), SourceFormat::Auto, None).unwrap();
    assert_eq!(ck.format, SourceFormat::MmAction);
    assert_eq!(ck.tensors.len(), 87);
    let dir = std::env::temp_dir().join(format!("actionclip-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tiny.safetensors");
    let mut meta = BTreeMap::new();
    meta.insert("adapter".to_string(), "TransformerAdapter".to_string());
    meta.insert("num_segs".to_string(), "8".to_string());
    let meta = serde_json::to_value(&meta).unwrap();
    kinema_torch::checkpoint::save_safetensors(&out, &ck.tensors, Some(&meta)).unwrap();
    let back = read_checkpoint(&out, SourceFormat::Auto, None).unwrap();
    assert_eq!(back.format, SourceFormat::Kinema);
    assert_eq!(back.metadata.get("num_segs").map(String::as_str), Some("8"));
    for ((ka, a), (kb, b)) in ck.tensors.iter().zip(&back.tensors) {
        assert_eq!(ka, kb);
        assert!(a.equal(b), "{ka}");
    }
    let a = tiny_model();
    let b = tiny_model_from(&out, RunOptions::default());
    let x = npy("input.npy");
    assert_eq!(
        max_abs(&tch::no_grad(|| a.encode_video(&x)).unwrap(), &tch::no_grad(|| b.encode_video(&x)).unwrap()),
        0.0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn original_actionclip_keys_are_converted() {
    let clip = vec![("visual.proj".to_string(), Tensor::ones([4, 2], (Kind::Half, Device::Cpu)))];
    let table = Tensor::arange(77 * 2, (Kind::Float, Device::Cpu)).view([77, 2]);
    let fusion = vec![
        ("module.frame_position_embeddings.weight".to_string(), table),
        ("module.transformer.resblocks.0.ln_1.weight".to_string(), Tensor::ones([2], (Kind::Float, Device::Cpu))),
    ];
    let out = from_original(clip, fusion, 8).unwrap();
    let names: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["clip.visual.proj", "adapter.frame_position_embeddings.weight", "adapter.transformer.resblocks.0.ln_1.weight"]
    );
    assert_eq!(out[0].1.kind(), Kind::Float);
    assert_eq!(out[1].1.size(), [8, 2]);
    assert_eq!(out[1].1.double_value(&[7, 1]), 15.0);
    let err = from_original(
        vec![],
        vec![
            ("module.frame_position_embeddings.weight".into(), Tensor::zeros([77, 2], (Kind::Float, Device::Cpu))),
            ("module.transformer.resblocks.0.x".into(), Tensor::zeros([1], (Kind::Float, Device::Cpu))),
        ],
        100,
    )
    .unwrap_err();
    assert!(err.contains("exceeds the 77 rows"), "{err}");
    // meanP/LSTM/Conv_1D never read the table: it is dropped.
    let lstm = vec![
        ("module.frame_position_embeddings.weight".to_string(), Tensor::zeros([77, 2], (Kind::Float, Device::Cpu))),
        ("module.lstm_visual.weight_ih_l0".to_string(), Tensor::zeros([8, 2], (Kind::Float, Device::Cpu))),
    ];
    let out = from_original(vec![], lstm, 8).unwrap();
    assert_eq!(out.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["adapter.lstm_visual.weight_ih_l0"]);
}

#[test]
fn bad_checkpoints_give_clear_errors() {
    let missing =
        read_checkpoint(std::path::Path::new("/nonexistent/x.pth"), SourceFormat::Auto, None).unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/x.pth") && missing.contains("does not exist"), "{missing}");
    let not_ckpt = read_checkpoint(&fixture("expected.json"), SourceFormat::Auto, None).unwrap_err().to_string();
    assert!(not_ckpt.contains("not a supported checkpoint format"), "{not_ckpt}");
    let folder = read_checkpoint(&fixture(""), SourceFormat::Auto, None).unwrap_err().to_string();
    assert!(folder.contains("is a folder, not a checkpoint file"), "{folder}");
    let no_clip =
        read_checkpoint(&fixture("original_adapters.safetensors"), SourceFormat::Kinema, None).unwrap_err().to_string();
    assert!(no_clip.contains("no CLIP weights"), "{no_clip}");
}
