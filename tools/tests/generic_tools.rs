//! The stock tools that need no model: `print_config` (as written, `--resolved`,
//! `--json`) and `list_registry` (kinds named the way users type them).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A base with a dataloader, an optimizer and a schedule, and a child that changes two
/// values and refers to a variable.
fn configs(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(
        dir.join("base.toml"),
        r#"
num_frames = 8
pipeline = [
  { type = "DecordInit" },
  { type = "SampleFrames", clip_len = 1, num_clips = "${num_frames}" },
  { type = "DecordDecode" },
  { type = "Resize", scale = [-1, 256] },
  { type = "FormatShape", input_format = "NCHW" },
  { type = "PackActionInputs" },
]

[train_dataloader]
batch_size = 8
sampler = { type = "DefaultSampler", shuffle = true }
dataset = { type = "VideoDataset", ann_file = "train.txt", pipeline = "${pipeline}" }

[optim_wrapper]
optimizer = { type = "SGD", lr = 0.01, momentum = 0.9 }
"#,
    )
    .unwrap();
    let child = dir.join("child.toml");
    std::fs::write(&child, "_base_ = \"base.toml\"\nnum_frames = 16\n[train_dataloader]\nbatch_size = 4\n").unwrap();
    child
}

#[test]
fn print_config_prints_the_merged_config_and_the_resolved_one() {
    let dir = tempfile::tempdir().unwrap();
    let child = configs(dir.path());
    let child = child.to_str().unwrap();
    let bin = env!("CARGO_BIN_EXE_print_config");

    let plain: toml::Table = ok(&run(bin, &[child])).parse().unwrap();
    assert_eq!(plain["train_dataloader"]["batch_size"].as_integer(), Some(4));
    assert_eq!(plain["pipeline"][1]["num_clips"].as_integer(), Some(16), "references resolved after the override");
    assert!(plain["optim_wrapper"].get("type").is_none(), "as written: no defaults");
    assert!(plain["pipeline"][1].get("frame_interval").is_none());

    let resolved: toml::Table = ok(&run(bin, &[child, "--resolved"])).parse().unwrap();
    assert_eq!(resolved["optim_wrapper"]["type"].as_str(), Some("OptimWrapper"));
    assert_eq!(resolved["optim_wrapper"]["optimizer"]["weight_decay"].as_float(), Some(0.0));
    let sample = &resolved["train_dataloader"]["dataset"]["pipeline"][1];
    assert_eq!(sample["num_clips"].as_integer(), Some(16));
    assert_eq!(sample["frame_interval"].as_integer(), Some(1));
    assert_eq!(sample["test_mode"].as_bool(), Some(false));
    assert_eq!(resolved["train_dataloader"]["num_workers"].as_integer(), Some(0));
    assert_eq!(resolved["default_hooks"]["logger"]["type"].as_str(), Some("LoggerHook"));

    let json: serde_json::Value =
        serde_json::from_str(&ok(&run(bin, &[child, "--resolved", "--json", "--cfg-options", "num_frames=4"])))
            .unwrap();
    assert_eq!(json["train_dataloader"]["dataset"]["pipeline"][1]["num_clips"], 4);

    // A typo in a component's table is found without building anything.
    let out = run(bin, &[child, "--resolved", "--cfg-options", "optim_wrapper.optimizer.momentm=0.5"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--cfg-options: `optim_wrapper.optimizer.momentm`: unknown field `momentm`")
            && err.contains("(did you mean `momentum`?)"),
        "{err}"
    );
}

#[test]
fn list_registry_kinds_are_the_words_users_type() {
    let bin = env!("CARGO_BIN_EXE_list_registry");
    let all = ok(&run(bin, &[]));
    let kinds: Vec<&str> = all.lines().filter_map(|l| l.strip_prefix("== ")?.strip_suffix(" ==")).collect();
    assert!(kinds.contains(&"transform") && kinds.contains(&"vis_backend"), "{kinds:?}");
    assert!(kinds.iter().all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')), "{kinds:?}");
    // `--kind loss` lists every kind of loss.
    let losses = ok(&run(bin, &["--kind", "loss"]));
    let loss_kinds: Vec<&str> = losses.lines().filter_map(|l| l.strip_prefix("== ")?.strip_suffix(" ==")).collect();
    assert!(!loss_kinds.is_empty() && loss_kinds.iter().all(|k| k.ends_with("loss")), "{losses}");
    let out = run(bin, &["--kind", "lossy"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no component of kind \"lossy\"; the kinds are: "));
}
