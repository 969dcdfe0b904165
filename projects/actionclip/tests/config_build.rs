//! Building `type = "ActionClip"` from a TOML model table through the registry:
//! MMAction2's keys, weights from `pretrained`, labels from a file, clear errors.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::*;
use kinema_core::registry::build_at;
use kinema_core::Config;
use kinema_models::recognizer::{ModelBatch, ModelContext, RecognizerKind};
use kinema_models::Recognizer;
use tch::{Device, Kind, Tensor};

fn build(extra: &str) -> Result<Box<dyn kinema_models::Recognizer>, String> {
    let text =
        format!("[model]\ntype = \"ActionClip\"\npretrained = {:?}\n{extra}", tiny_checkpoint().display().to_string());
    let config = Config::from_toml_str(&text, "model.toml").unwrap();
    build_at::<RecognizerKind>(&config, "model", &ModelContext { device: Device::Cpu, seed: 0 })
        .map(|b| b.into_inner())
        .map_err(|e| e.to_string())
}

#[test]
fn builds_from_a_config_table_and_predicts_like_upstream() {
    let label_file = std::env::temp_dir().join(format!("labels-{}.txt", std::process::id()));
    std::fs::write(&label_file, "singing\ndancing\nperforming\n").unwrap();
    let extra = format!(
        "num_adapter_segs = 8\nlabels_or_label_file = {:?}\ntemplates_or_template_file = [\"The woman is {{}}\"]\n\
         [model.data_preprocessor]\ntype = \"ActionDataPreprocessor\"\nmean = [122.771, 116.746, 104.093]\nstd = [68.500, 66.632, 70.323]\n[model.loss]\ntype = \"CrossEntropyLoss\"\nloss_weight = 0.5\n",
        label_file.display().to_string()
    );
    let mut model = build(&extra).unwrap();
    std::fs::remove_file(&label_file).unwrap();
    let raw = (npy("input.npy") * 60.0 + 120.0).clamp(0.0, 255.0).round().to_kind(Kind::Uint8);
    let batch = ModelBatch { inputs: raw, labels: Tensor::from_slice(&[-1i64]), indices: vec![0], epoch: 0 };
    let scores = model.predict(&batch).unwrap();
    assert_eq!(scores.size(), [1, 3]);
    // The same as the tiny model with the upstream case-1 tokens (kinema-text must have
    // produced the same ids from the label file and template).
    let mut reference = tiny_model();
    let labels = vec!["singing".to_string(), "dancing".into(), "performing".into()];
    reference.set_prompts(prompts_from_tokens(labels, vec!["The woman is {}".into()], npy("case1_tokens.npy")));
    assert_eq!(max_abs(&scores, &reference.predict(&batch).unwrap()), 0.0);
}

#[test]
fn config_errors_name_the_key() {
    let err = build("[model.adapter]\ntype = \"Transformer\"\n").err().unwrap();
    assert!(err.contains("model.adapter.type") && err.contains("TransformerAdapter"), "{err}");
    let err = build("num_adapter_segs = 16\n").err().unwrap();
    assert!(err.contains("num_adapter_segs") && err.contains("8 frames"), "{err}");
    let err = build("clip_arch = \"ViT-B/32\"\n").err().unwrap();
    assert!(err.contains("ViT-B/32"), "{err}");
    let err = build("labels_or_label_file = \"/nonexistent/labels.txt\"\n").err().unwrap();
    assert!(err.contains("/nonexistent/labels.txt"), "{err}");
    let err = build("num_adapter_layer = 6\n").err().unwrap();
    assert!(err.contains("num_adapter_layers"), "{err}");
}

const TINY_ARCH: &str = "[model.clip_arch]\nembed_dim = 32\nimage_resolution = 32\nvision_layers = 2\n\
    vision_width = 64\nvision_patch_size = 16\ncontext_length = 77\nvocab_size = 49408\n\
    transformer_width = 64\ntransformer_heads = 1\ntransformer_layers = 2\n";

#[test]
fn clip_arch_as_a_table_of_sizes() {
    // The tiny checkpoint's own sizes: accepted.
    let model = build(TINY_ARCH).unwrap();
    let vars = model.var_store().variables();
    assert_eq!(vars["clip.visual.conv1.weight"].size(), [64, 3, 16, 16]);
    // Different sizes than the weights: refused, naming both.
    let err = build(&TINY_ARCH.replace("vision_width = 64", "vision_width = 128")).err().unwrap();
    assert!(err.contains("clip_arch") && err.contains("ViT-W128-P16-R32") && err.contains("ViT-W64-P16-R32"), "{err}");
    // A misspelt size is named.
    let err = build(&TINY_ARCH.replace("vision_layers", "vision_layer")).err().unwrap();
    assert!(err.contains("clip_arch") && err.contains("vision_layer"), "{err}");
    // Without weights the table alone decides the shapes (training from scratch).
    let config = Config::from_toml_str(
        &format!(
            "[model]\ntype = \"ActionClip\"\nnum_adapter_segs = 8\n{}",
            TINY_ARCH.replace("embed_dim = 32", "embed_dim = 48")
        ),
        "scratch.toml",
    )
    .unwrap();
    let model = build_at::<RecognizerKind>(&config, "model", &ModelContext { device: Device::Cpu, seed: 0 })
        .unwrap()
        .into_inner();
    assert_eq!(model.var_store().variables()["clip.text_projection"].size(), [64, 48]);
}
