//! The runner end to end on a tiny model: training reaches high accuracy, the work dir
//! has MMEngine's layout (checkpoints, last_checkpoint, best, log file, scalars.json,
//! TensorBoard events), and resuming continues bit-identically.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use kinema_engine::runner::{Resume, RunOptions, Runner};

fn options(dir: &std::path::Path) -> RunOptions {
    RunOptions { config_path: dir.join("probe.toml"), device: Some("cpu".into()), ..RunOptions::default() }
}

#[test]
fn trains_validates_and_writes_the_work_dir() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::probe_config(dir.path(), 32, 20, "");
    let mut runner = Runner::from_config(cfg, options(dir.path())).unwrap();
    runner.train().unwrap();
    assert_eq!((runner.progress.epoch, runner.progress.iter), (4, 32));
    let (key, best, path) = runner.best.clone().expect("save_best recorded");
    assert_eq!(key, "acc/top1");
    assert!(best >= 0.9, "accuracy {best}");
    assert!(path.ends_with("best_acc_top1_epoch_2.safetensors") || path.ends_with("best_acc_top1_epoch_4.safetensors"));

    let work = dir.path().join("work");
    let names: Vec<String> =
        std::fs::read_dir(&work).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    // max_keep_ckpts = 2 keeps the last two epochs
    assert!(
        names.contains(&"epoch_3.safetensors".into()) && names.contains(&"epoch_4.safetensors".into()),
        "{names:?}"
    );
    assert!(!names.contains(&"epoch_2.safetensors".into()), "{names:?}");
    let last = std::fs::read_to_string(work.join("last_checkpoint")).unwrap();
    assert!(last.trim().ends_with("epoch_4.safetensors"), "{last}");
    assert!(names.contains(&"probe.toml".into()), "config dumped: {names:?}");

    let log_dir = work.join(&runner.env.timestamp);
    let log = std::fs::read_to_string(log_dir.join(format!("{}.log", runner.env.timestamp))).unwrap();
    assert!(log.contains("Epoch(train) [1][2/8]"), "{log}");
    assert!(log.contains("Epoch(val) [2][4/4]"), "{log}");
    assert!(log.contains("acc/top1: "), "{log}");
    let scalars = std::fs::read_to_string(log_dir.join("vis_data/scalars.json")).unwrap();
    let lines: Vec<serde_json::Value> = scalars.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|l| l.get("loss").is_some() && l["step"] == 2), "{scalars}");
    assert!(lines.iter().any(|l| l.get("acc/top1").is_some() && l["step"] == 4), "{scalars}");
    let events: Vec<PathBuf> = std::fs::read_dir(log_dir.join("vis_data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents"))
        .collect();
    assert_eq!(events.len(), 1);
    let ev = kinema_logging::tensorboard::read_events(&events[0]).unwrap();
    let scalars = kinema_logging::tensorboard::scalars(&ev);
    assert!(scalars.iter().any(|s| s.tag == "acc/top1"), "{scalars:?}");
}

#[test]
fn resume_continues_bit_identically() {
    let _serial = common::serial();
    let straight_dir = tempfile::tempdir().unwrap();
    let mut straight =
        Runner::from_config(common::probe_config(straight_dir.path(), 24, 8, ""), options(straight_dir.path()))
            .unwrap();
    straight.train().unwrap();

    // Same run, stopped after 2 epochs, then resumed to 4.
    let dir = tempfile::tempdir().unwrap();
    let two = common::probe_config(dir.path(), 24, 8, "").clone();
    let mut first = two;
    first.apply_overrides(&["train_cfg.max_epochs=2"]).unwrap();
    let mut runner = Runner::from_config(first, options(dir.path())).unwrap();
    runner.train().unwrap();
    drop(runner);
    let cfg = common::probe_config(dir.path(), 24, 8, "");
    let mut resumed = Runner::from_config(cfg, RunOptions { resume: Resume::Auto, ..options(dir.path()) }).unwrap();
    resumed.train().unwrap();
    assert_eq!(resumed.progress.iter, straight.progress.iter);
    assert_eq!(common::weights(&resumed), common::weights(&straight));
}

#[test]
fn mid_epoch_checkpoint_resumes_exactly() {
    let _serial = common::serial();
    let straight_dir = tempfile::tempdir().unwrap();
    let iter_ckpt = [
        "default_hooks.checkpoint.interval=3",
        "default_hooks.checkpoint.by_epoch=false",
        "default_hooks.checkpoint.max_keep_ckpts=-1",
    ];
    let mut cfg = common::probe_config(straight_dir.path(), 24, 8, "");
    cfg.apply_overrides(&iter_ckpt).unwrap();
    let mut straight = Runner::from_config(cfg, options(straight_dir.path())).unwrap();
    straight.train().unwrap();
    // iteration 9 is inside epoch 2 (6 batches per epoch): resume from iter_9
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::probe_config(dir.path(), 24, 8, "");
    cfg.apply_overrides(&iter_ckpt).unwrap();
    let ckpt = straight_dir.path().join("work/iter_9.safetensors");
    assert!(ckpt.is_file());
    let mut resumed =
        Runner::from_config(cfg, RunOptions { resume: Resume::From(ckpt), ..options(dir.path()) }).unwrap();
    resumed.train().unwrap();
    assert_eq!(resumed.progress.iter, 24);
    assert_eq!(common::weights(&resumed), common::weights(&straight));
}

#[test]
fn dry_run_builds_everything_and_reads_one_batch() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::probe_config(dir.path(), 8, 4, "");
    let mut runner = Runner::from_config(cfg, RunOptions { dry_run: true, ..options(dir.path()) }).unwrap();
    runner.train().unwrap();
    assert_eq!(runner.progress.iter, 0);
}

#[test]
fn config_mistakes_surface_with_file_and_key() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::probe_config(dir.path(), 8, 4, "");
    cfg.apply_overrides(&["optim_wrapper.optimizer.lrr=0.1"]).unwrap();
    // Found before anything runs: the config is resolved (every component's defaults
    // filled in) when the runner starts.
    let err = Runner::from_config(cfg, options(dir.path())).err().unwrap().to_string();
    assert!(err.starts_with("--cfg-options: `optim_wrapper.optimizer.lrr`: unknown field `lrr`"), "{err}");
}

#[test]
fn max_keep_ckpts_keeps_removing_old_checkpoints_after_a_resume() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::probe_config(dir.path(), 16, 4, "");
    cfg.set("train_cfg.max_epochs", serde_json::json!(2)).unwrap();
    Runner::from_config(cfg, options(dir.path())).unwrap().train().unwrap();
    let work = dir.path().join("work");
    let epochs = |w: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(w)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("epoch_"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(epochs(&work), ["epoch_1.safetensors", "epoch_2.safetensors"]);
    let cfg = common::probe_config(dir.path(), 16, 4, "");
    let mut resumed = Runner::from_config(cfg, RunOptions { resume: Resume::Auto, ..options(dir.path()) }).unwrap();
    resumed.train().unwrap();
    // max_keep_ckpts = 2: the checkpoints of the first run go too.
    assert_eq!(epochs(&work), ["epoch_3.safetensors", "epoch_4.safetensors"]);
}

#[test]
fn the_log_starts_with_the_environment() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::probe_config(dir.path(), 8, 4, "");
    let runner = Runner::from_config(cfg, options(dir.path())).unwrap();
    let log = std::fs::read_to_string(runner.env.log_dir.join(format!("{}.log", runner.env.timestamp))).unwrap();
    for line in [
        "System environment:",
        "    libtorch: 2.13.0",
        "    FFmpeg: libavcodec ",
        "Runtime environment:",
        "    device: Cpu",
        "    seed: 3",
        "    AMP: false",
        "    Distributed training: false",
    ] {
        assert!(log.contains(line), "no {line:?} in the log:\n{log}");
    }
}
