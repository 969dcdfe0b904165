//! The typed top level of a run's config: a misspelt key is an error naming the file with
//! a did-you-mean, variables (keys referred to with `${}`) are allowed; the run keeps its
//! config resolved (every default filled in); `auto_scale_lr` scales the learning rate
//! table exactly as MMEngine's `Runner.scale_lr` (reference made by mmengine 0.10.7).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kinema_core::Config;
use kinema_engine::runner::{resolved_config, RunOptions, Runner};
use serde_json::{json, Value};

fn options(dir: &std::path::Path) -> RunOptions {
    RunOptions { config_path: dir.join("probe.toml"), device: Some("cpu".into()), ..RunOptions::default() }
}

fn fixture(name: &str) -> std::path::PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()),
    )
    .join("../../tests/fixtures/engine")
    .join(name)
}

#[test]
fn a_misspelt_top_level_key_is_an_error_naming_the_file_with_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "[model]\ntype = \"ColorProbe\"\nnum_classes = 2\n\n[train_dataloder]\nbatch_size = 2\n")
        .unwrap();
    let cfg = Config::load(&path, &[] as &[&str]).unwrap();
    let err = Runner::from_config(cfg.clone(), options(dir.path())).err().unwrap().to_string();
    let want = format!(
        "{}: `train_dataloder`: unknown top-level key (did you mean `train_dataloader`?); the known keys are model, ",
        path.display()
    );
    assert!(err.starts_with(&want), "{err}");
    assert!(
        err.ends_with("any other key must be a variable that some value refers to with ${train_dataloder}"),
        "{err}"
    );
    // print_config --resolved reports it the same way.
    assert_eq!(resolved_config(&cfg).err().unwrap().to_string(), err);
    // MMEngine's `custom_imports` gets its own explanation.
    std::fs::write(&path, "custom_imports = { imports = [\"my_module\"] }\n").unwrap();
    let err = resolved_config(&Config::load(&path, &[] as &[&str]).unwrap()).err().unwrap().to_string();
    assert!(err.contains("`custom_imports`: Kinema links component crates when a binary is built"), "{err}");
}

#[test]
fn variables_are_top_level_keys_some_value_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    std::fs::write(
        &base,
        "num_classes = 3\nunused_here = 1\n[model]\ntype = \"ColorProbe\"\nnum_classes = \"${num_classes}\"\n",
    )
    .unwrap();
    // The child replaces the table that referred to `unused_here`... there is none, so it
    // stays a typo; `num_classes` is referred to by the base.
    let child = dir.path().join("child.toml");
    std::fs::write(&child, "_base_ = \"base.toml\"\n").unwrap();
    let err = resolved_config(&Config::load(&child, &[] as &[&str]).unwrap()).err().unwrap().to_string();
    assert!(err.starts_with(&format!("{}: `unused_here`: unknown top-level key", base.display())), "{err}");
    std::fs::write(&base, "num_classes = 3\n[model]\ntype = \"ColorProbe\"\nnum_classes = \"${num_classes}\"\n")
        .unwrap();
    let resolved = resolved_config(&Config::load(&child, &[] as &[&str]).unwrap()).unwrap();
    assert_eq!(resolved["num_classes"], json!(3));
    assert_eq!(resolved["model"], json!({"type": "ColorProbe", "num_classes": 3}));
}

#[test]
fn the_run_keeps_its_config_as_written_and_resolved() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::probe_config(dir.path(), 8, 4, "");
    let runner = Runner::from_config(cfg, options(dir.path())).unwrap();
    let work = &runner.env.work_dir;
    let written: toml::Table = std::fs::read_to_string(work.join("probe.toml")).unwrap().parse().unwrap();
    let resolved: toml::Table = std::fs::read_to_string(work.join("probe.resolved.toml")).unwrap().parse().unwrap();
    // As written: only what the file says.
    assert!(written["optim_wrapper"].get("type").is_none());
    assert!(written["optim_wrapper"]["optimizer"].get("dampening").is_none());
    // Resolved: every component's defaults, however deep, and the runner's default types.
    assert_eq!(resolved["optim_wrapper"]["type"].as_str(), Some("OptimWrapper"));
    assert_eq!(resolved["optim_wrapper"]["accumulative_counts"].as_integer(), Some(1));
    assert_eq!(resolved["optim_wrapper"]["optimizer"]["dampening"].as_float(), Some(0.0));
    assert_eq!(resolved["optim_wrapper"]["optimizer"]["nesterov"].as_bool(), Some(false));
    assert_eq!(resolved["train_dataloader"]["prefetch_factor"].as_integer(), Some(2));
    assert_eq!(resolved["train_dataloader"]["sampler"]["round_up"].as_bool(), Some(true));
    assert_eq!(resolved["train_dataloader"]["dataset"]["on_error"].as_str(), Some("raise"));
    let sample = &resolved["train_dataloader"]["dataset"]["pipeline"][0];
    assert_eq!(sample["type"].as_str(), Some("SampleFrames"));
    assert_eq!(sample["out_of_bound_opt"].as_str(), Some("loop"));
    assert_eq!(resolved["default_hooks"]["timer"]["type"].as_str(), Some("IterTimerHook"));
    assert_eq!(resolved["default_hooks"]["checkpoint"]["save_format"].as_str(), Some("safetensors"));
    assert_eq!(resolved["default_hooks"]["checkpoint"]["max_keep_ckpts"].as_integer(), Some(2));
    assert_eq!(resolved["param_scheduler"][0]["end_factor"].as_float(), Some(1.0));
    assert_eq!(resolved["visualizer"]["vis_backends"][1]["type"].as_str(), Some("TensorboardVisBackend"));
    // The same in the run's own folder, and from `resolved_config` (print_config --resolved).
    let in_log_dir: toml::Table =
        std::fs::read_to_string(runner.env.log_dir.join("probe.resolved.toml")).unwrap().parse().unwrap();
    assert_eq!(in_log_dir, resolved);
    let from_fn = resolved_config(&Config::load(dir.path().join("probe.toml"), &[] as &[&str]).unwrap()).unwrap();
    let from_fn: toml::Table = kinema_core::config::to_toml_string(&from_fn).unwrap().parse().unwrap();
    assert_eq!(from_fn, resolved);
}

/// The logged `lr` and `base_lr` of every iteration (LoggerHook interval 1).
fn logged(work: &std::path::Path, key: &str) -> Vec<f64> {
    let log_dir = std::fs::read_dir(work).unwrap().filter_map(|e| e.ok()).find(|e| e.path().is_dir()).unwrap().path();
    std::fs::read_to_string(log_dir.join("vis_data/scalars.json"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v[key].as_f64())
        .collect()
}

#[test]
fn auto_scale_lr_scales_the_lr_table_exactly_as_mmengine() {
    let _serial = common::serial();
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("auto_scale_lr.json")).unwrap()).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = common::probe_config(dir.path(), case["num_samples"].as_u64().unwrap() as usize, 4, "");
        for key in ["val_dataloader", "val_cfg", "val_evaluator"] {
            cfg.remove(key);
        }
        cfg.set("train_dataloader.batch_size", case["batch_size"].clone()).unwrap();
        cfg.set("train_cfg.max_epochs", case["max_epochs"].clone()).unwrap();
        cfg.set("optim_wrapper.paramwise_cfg", reference["optim_wrapper"]["paramwise_cfg"].clone()).unwrap();
        cfg.set("param_scheduler", reference["param_scheduler"].clone()).unwrap();
        cfg.set("auto_scale_lr", json!({"enable": true, "base_batch_size": case["base_batch_size"]})).unwrap();
        cfg.set("default_hooks.logger.interval", json!(1)).unwrap();
        let mut runner = Runner::from_config(cfg, options(dir.path())).unwrap();
        runner.train().unwrap();
        let want: Vec<Vec<f64>> = serde_json::from_value(case["lr"].clone()).unwrap();
        let (lr, base_lr) = (logged(&runner.env.work_dir, "lr"), logged(&runner.env.work_dir, "base_lr"));
        assert_eq!(lr.len(), want.len(), "one logged lr per iteration");
        for (i, w) in want.iter().enumerate() {
            // Group 0 (`cls_head.weight`) is scaled; the base settings (last) are not.
            assert!((lr[i] - w[0]).abs() <= 1e-15 * w[0].abs(), "iteration {i}: lr {} vs {}", lr[i], w[0]);
            assert!(
                (base_lr[i] - w[2]).abs() <= 1e-15 * w[2].abs(),
                "iteration {i}: base_lr {} vs {}",
                base_lr[i],
                w[2]
            );
        }
    }
}
