//! The plugin's own binaries (Kinema's commands with this crate linked) train, test and
//! infer with the plugin's model, transform and hook named in a TOML config; the hook's
//! effect shows in the log, the transform in the resolved config the run keeps.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kinema_video::synthetic::{write_dataset, DatasetOptions};

fn run(bin: &str, args: &[&str]) -> Output {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{bin} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// 3 classes x 4 videos of 16 frames at 32x32 and a config naming the plugin's parts.
fn setup(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let opts =
        DatasetOptions { classes: 3, videos_per_class: 4, frames: 16, width: 32, height: 32, ..Default::default() };
    write_dataset(&data, &opts).unwrap();
    let text = format!(
        r#"
randomness = {{ seed = 3 }}
pipeline = [
  {{ type = "DecordInit" }},
  {{ type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 4, test_mode = true }},
  {{ type = "DecordDecode" }},
  {{ type = "InvertColors" }},
  {{ type = "FormatShape", input_format = "NCHW" }},
  {{ type = "PackActionInputs" }},
]
test_pipeline = "${{pipeline}}"

[model]
type = "MeanColorNet"
num_classes = 3
num_frames = 4

[train_dataloader]
batch_size = 2
sampler = {{ type = "DefaultSampler", shuffle = true }}
dataset = {{ type = "VideoDataset", ann_file = "{data}/train_list.txt", data_prefix = {{ video = "{data}" }}, label_map = "{data}/label_map.txt", pipeline = "${{pipeline}}" }}

[test_dataloader]
batch_size = 2
sampler = {{ type = "DefaultSampler", shuffle = false }}
dataset = {{ type = "VideoDataset", ann_file = "{data}/test_list.txt", data_prefix = {{ video = "{data}" }}, label_map = "{data}/label_map.txt", pipeline = "${{pipeline}}", test_mode = true }}

[test_evaluator]
type = "AccMetric"

[train_cfg]
type = "EpochBasedTrainLoop"
max_epochs = 1

[optim_wrapper.optimizer]
type = "SGD"
lr = 0.1
momentum = 0.9

[[custom_hooks]]
type = "CountItersHook"
label = "plugin hook saw"
"#,
        data = data.display()
    );
    let path = dir.join("plugin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_plugins_own_binaries_train_test_and_infer_with_its_components() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    let work = dir.path().join("work");
    let (cfg, work_s) = (config.to_str().unwrap(), work.to_str().unwrap());
    run(env!("CARGO_BIN_EXE_example_train"), &[cfg, "--work-dir", work_s, "--device", "cpu"]);

    // The hook ran every iteration: 2 videos per class in train (4 per class, 1 val, 1
    // test) = 6 videos, batch 2 -> 3 iterations.
    let log_dir = std::fs::read_dir(&work).unwrap().filter_map(|e| e.ok()).find(|e| e.path().is_dir()).unwrap();
    let log_file = log_dir.path().join(format!("{}.log", log_dir.file_name().to_string_lossy()));
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert!(log.contains("plugin hook saw: 3 iterations (epoch 1)"), "{log}");
    // What ran is kept with every default filled in: the plugin transform's `prob`.
    let resolved: toml::Table = std::fs::read_to_string(work.join("plugin.resolved.toml")).unwrap().parse().unwrap();
    let pipeline = resolved["train_dataloader"]["dataset"]["pipeline"].as_array().unwrap();
    let invert = pipeline.iter().find(|t| t["type"].as_str() == Some("InvertColors")).unwrap();
    assert_eq!(invert["prob"].as_float(), Some(1.0));
    assert_eq!(resolved["custom_hooks"][0]["label"].as_str(), Some("plugin hook saw"));
    assert_eq!(resolved["model"]["data_preprocessor"]["format_shape"].as_str(), Some("NCHW"));

    let ckpt = std::fs::read_to_string(work.join("last_checkpoint")).unwrap();
    run(
        env!("CARGO_BIN_EXE_example_test"),
        &[cfg, "--checkpoint", ckpt.trim(), "--work-dir", work_s, "--device", "cpu"],
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("metrics.json")).unwrap()).unwrap();
    let top1 = metrics["acc/top1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&top1), "{metrics}");

    let video = dir.path().join("data").join(
        std::fs::read_to_string(dir.path().join("data/test_list.txt")).unwrap().split_whitespace().next().unwrap(),
    );
    let out = run(
        env!("CARGO_BIN_EXE_example_infer"),
        &["--config", cfg, "--checkpoint", ckpt.trim(), video.to_str().unwrap(), "--json", "--device", "cpu"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let labels: Vec<String> =
        std::fs::read_to_string(dir.path().join("data/label_map.txt")).unwrap().lines().map(String::from).collect();
    assert_eq!(v["labels"], serde_json::json!(labels));
    let scores: Vec<f64> = v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    assert_eq!(scores.len(), 3);
    assert!((scores.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{scores:?}");
    assert_eq!(v["top_k"].as_array().unwrap().len(), 3);

    let listed = run(env!("CARGO_BIN_EXE_example_list_registry"), &["--kind", "model"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("MeanColorNet"));
    let printed = run(env!("CARGO_BIN_EXE_example_print_config"), &[cfg, "--resolved"]);
    let printed: toml::Table = String::from_utf8_lossy(&printed.stdout).parse().unwrap();
    assert_eq!(printed["train_dataloader"], resolved["train_dataloader"]);
}

/// The plugin's head on the core's `Recognizer2D` and `ResNet` (docs/models.md, "Adding a
/// family"): named in a config, trained and tested by the plugin's binaries, listed.
#[test]
fn a_plugin_head_trains_on_the_core_recognizer2d() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "type = \"MeanColorNet\"\nnum_classes = 3\nnum_frames = 4\n",
        "type = \"Recognizer2D\"\nbackbone = { type = \"ResNet\", depth = 18 }\n\
         cls_head = { type = \"MeanScoreHead\", num_classes = 3, in_channels = 512 }\n",
    );
    assert!(text.contains("MeanScoreHead"));
    std::fs::write(&config, text).unwrap();
    let work = dir.path().join("work");
    let (cfg, work_s) = (config.to_str().unwrap(), work.to_str().unwrap());
    run(env!("CARGO_BIN_EXE_example_train"), &[cfg, "--work-dir", work_s, "--device", "cpu"]);
    let resolved: toml::Table = std::fs::read_to_string(work.join("plugin.resolved.toml")).unwrap().parse().unwrap();
    assert_eq!(resolved["model"]["cls_head"]["init_std"].as_float(), Some(0.01));
    let ckpt = std::fs::read_to_string(work.join("last_checkpoint")).unwrap();
    run(env!("CARGO_BIN_EXE_example_test"), &[cfg, "--checkpoint", ckpt.trim(), "--work-dir", work_s]);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("metrics.json")).unwrap()).unwrap();
    assert!(metrics["acc/top1"].as_f64().is_some(), "{metrics}");
    let listed = run(env!("CARGO_BIN_EXE_example_list_registry"), &["--kind", "head"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("MeanScoreHead") && listed.contains("TSNHead"), "{listed}");
}
