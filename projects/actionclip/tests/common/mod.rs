//! Shared helpers of the ActionCLIP integration tests: fixture paths, the tiny model,
//! comparisons.
#![allow(dead_code)]

pub mod cli;

use std::path::PathBuf;

use actionclip::checkpoint::{infer_spec, read_checkpoint, SourceFormat};
use actionclip::losses::CrossEntropyLoss;
use actionclip::{ActionClip, RunOptions, TokenizedPrompts};
use kinema_models::data_preprocessor::ActionDataPreprocessorConfig;
use kinema_models::weights::{load_into_varstore, LoadMode};
use kinema_models::{ActionDataPreprocessor, Recognizer};
use tch::{Device, Kind, Tensor};

/// `tests/fixtures/tiny/<name>` of the workspace.
pub fn fixture(name: &str) -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../tests/fixtures/tiny")
        .join(name)
}

/// The K400 label map of the shared dataset configs.
pub fn k400_labels() -> Vec<String> {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
            .join("../../configs/_base_/datasets/label_map_k400.txt");
    std::fs::read_to_string(path).unwrap().lines().map(String::from).collect()
}

/// `expected.json` made by the upstream code.
pub fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

/// A fixture array.
pub fn npy(name: &str) -> Tensor {
    Tensor::read_npy(fixture(name)).unwrap()
}

/// A JSON array of numbers as an fp32 tensor.
pub fn json_tensor(v: &serde_json::Value) -> Tensor {
    let vals: Vec<f32> = v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    Tensor::from_slice(&vals)
}

/// The largest absolute difference.
pub fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size(), "shapes differ");
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double)).abs().max().double_value(&[])
}

/// The tiny ActionCLIP checkpoint (MMEngine `.pth`).
pub fn tiny_checkpoint() -> PathBuf {
    fixture("mmaction_clip_tiny.pth")
}

/// The tiny model loaded strictly from `path`, with `options`.
pub fn tiny_model_from(path: &std::path::Path, options: RunOptions) -> ActionClip {
    let ck = read_checkpoint(path, SourceFormat::Auto, None).unwrap();
    let inferred = infer_spec(&ck, None, 6, None).unwrap();
    let pre = clip_preprocessor();
    let model =
        ActionClip::new(&inferred.spec, Device::Cpu, Box::new(pre), Box::new(CrossEntropyLoss::new(0.5)), options)
            .unwrap();
    let mode = if ck.is_clip_only() { LoadMode::NonStrict } else { LoadMode::Strict };
    let report = load_into_varstore(model.var_store(), &ck.tensors, mode, "tiny").unwrap();
    assert!(report.loaded > 0);
    model
}

/// MMAction2's ActionCLIP data preprocessor: CLIP's mean and std in 0-255 scale.
pub fn clip_preprocessor() -> ActionDataPreprocessor {
    let config = ActionDataPreprocessorConfig {
        mean: Some(vec![122.771, 116.746, 104.093]),
        std: Some(vec![68.500, 66.632, 70.323]),
        ..ActionDataPreprocessorConfig::default()
    };
    ActionDataPreprocessor::new(&config, Device::Cpu).unwrap()
}

/// Prompts of `labels` x `templates` with upstream's token ids `tokens`.
pub fn prompts_from_tokens(labels: Vec<String>, templates: Vec<String>, tokens: Tensor) -> TokenizedPrompts {
    let templates = kinema_text::prompts::parse_templates(&templates, "test templates").unwrap();
    let set = kinema_text::PromptSet::new(templates, labels).unwrap();
    TokenizedPrompts::from_tokens(set, tokens).unwrap()
}

/// The tiny model from the `.pth` fixture with default options.
pub fn tiny_model() -> ActionClip {
    tiny_model_from(&tiny_checkpoint(), RunOptions::default())
}
