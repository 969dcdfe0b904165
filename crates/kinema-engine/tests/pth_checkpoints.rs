//! Checkpoints written as `torch.save` archives in MMEngine's layout:
//! * the committed `tests/fixtures/checkpoint/kinema_written.pth` is what this writer
//!   makes (byte for byte) from fixed data, and `tests/reference/check_kinema_pth.py`
//!   recorded what PyTorch (`torch.load(weights_only=True)`) and MMEngine
//!   (`load_checkpoint`) read from it: the same tensors, bit for bit;
//! * Kinema's own reader reads it back;
//! * a run saving `.pth` checkpoints resumes from one bit-exactly.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kinema_engine::checkpoint::{self, CheckpointData, SaveFormat};
use kinema_engine::runner::{Resume, RunOptions, Runner};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

fn fixture(name: &str) -> std::path::PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()),
    )
    .join("../../tests/fixtures/checkpoint")
    .join(name)
}

/// Fixed weights of several dtypes and shapes, an SGD state and a description.
fn fixture_data() -> CheckpointData {
    let f32s = |n: i64, shape: &[i64]| (Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.37 - 1.5).sin().view(shape);
    let weights = vec![
        ("backbone.conv1.conv.weight".to_string(), f32s(2 * 3 * 3 * 3, &[2, 3, 3, 3])),
        ("backbone.conv1.bn.running_var".to_string(), f32s(2, &[2]).abs() + 0.5),
        ("backbone.conv1.bn.num_batches_tracked".to_string(), Tensor::from_slice(&[7i64]).view([])),
        ("cls_head.fc_cls.weight".to_string(), f32s(4 * 2, &[4, 2])),
        ("cls_head.fc_cls.bias".to_string(), Tensor::from_slice(&[0.5f64, -0.25, 1e-10, 3.0]).to_kind(Kind::Half)),
    ];
    let optimizer = vec![
        ("state.cls_head.fc_cls.weight.momentum_buffer".to_string(), f32s(8, &[4, 2]) * 0.1),
        ("state.backbone.conv1.conv.weight.momentum_buffer".to_string(), f32s(54, &[2, 3, 3, 3]) * 0.01),
    ];
    let meta = json!({
        "format": checkpoint::FORMAT,
        "meta": {
            "epoch": 3, "iter": 120, "batch_in_epoch": 0, "batches_per_epoch": 40, "seed": 42, "world_size": 1,
            "experiment_name": "tsn_fixture_20261207_000000", "time": "20261207_000000", "kinema_version": "0.1.0",
            "config": "[model]\ntype = \"Recognizer2D\"\n",
            "dataset_meta": { "classes": ["abseiling", "air drumming", "answering questions", "applauding"] },
        },
        "optimizer": {
            "type": "SGD",
            "state": {},
            "param_groups": [
                { "params": ["backbone.conv1.conv.weight"], "lr": 0.01, "momentum": 0.9, "dampening": 0.0,
                  "weight_decay": 1e-4, "nesterov": false, "initial_lr": 0.01 },
                { "params": ["cls_head.fc_cls.weight"], "lr": 0.05, "momentum": 0.9, "dampening": 0.0,
                  "weight_decay": 1e-4, "nesterov": false, "initial_lr": 0.05 },
            ],
        },
        "param_schedulers": [{ "type": "MultiStepLR", "milestones": [40, 80], "gamma": 0.1, "last_step": 3 }],
        "message_hub": { "log_scalars": {}, "runtime_info": { "epoch": 3, "iter": 120 } },
    });
    CheckpointData { weights, optimizer, meta }
}

fn sha256(t: &Tensor) -> String {
    let t = t.contiguous();
    let len = t.numel() * t.kind().elt_size_in_bytes();
    let mut bytes = vec![0u8; len];
    t.copy_data_u8(&mut bytes, t.numel());
    format!("{:x}", Sha256::digest(&bytes))
}

#[test]
fn the_writer_makes_the_file_pytorch_and_mmengine_read_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("written.pth");
    checkpoint::save(&path, &fixture_data(), SaveFormat::Pth).unwrap();
    let committed = fixture("kinema_written.pth");
    assert!(
        std::fs::read(&path).unwrap() == std::fs::read(&committed).unwrap(),
        "the writer's output differs from {} (regenerate both it and the reference JSON if the change is intended: \
         `cargo test -p kinema-engine --test pth_checkpoints -- --ignored`, then tests/reference/check_kinema_pth.py)",
        committed.display()
    );
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("kinema_written_reference.json")).unwrap()).unwrap();
    let torch_read = &reference["torch_load_weights_only"]["state_dict"];
    let mmengine_read = &reference["mmengine_load_checkpoint"]["state_dict"];
    for (name, t) in &fixture_data().weights {
        for read in [torch_read, mmengine_read] {
            assert_eq!(read[name]["sha256"].as_str(), Some(sha256(t).as_str()), "{name}");
            assert_eq!(read[name]["shape"], json!(t.size()), "{name}");
        }
    }
    assert_eq!(reference["torch_load_weights_only"]["meta"]["epoch"], json!(3));
    assert_eq!(reference["torch_load_weights_only"]["meta"]["dataset_meta"]["classes"][1], json!("air drumming"));
    assert_eq!(reference["torch_load_weights_only"]["optimizer_state_keys"], json!(["0", "1"]));
    // Kinema reads it back: weights, optimizer tensors under their names, the description.
    let back = checkpoint::load(&path).unwrap();
    let want = fixture_data();
    for ((ka, a), (kb, b)) in want.weights.iter().zip(&back.weights) {
        assert_eq!(ka, kb);
        assert!(a.equal(b), "{ka}");
    }
    let mut got_opt: Vec<_> = back.optimizer.iter().map(|(k, t)| (k.clone(), sha256(t))).collect();
    let mut want_opt: Vec<_> = want.optimizer.iter().map(|(k, t)| (k.clone(), sha256(t))).collect();
    got_opt.sort();
    want_opt.sort();
    assert_eq!(got_opt, want_opt);
    assert_eq!(back.meta, want.meta);
}

#[test]
#[ignore = "regenerates tests/fixtures/checkpoint/kinema_written.pth; run tests/reference/check_kinema_pth.py after"]
fn regenerate_the_pth_fixture() {
    checkpoint::save(&fixture("kinema_written.pth"), &fixture_data(), SaveFormat::Pth).unwrap();
}

#[test]
fn a_run_saving_pth_checkpoints_resumes_from_one_bit_exactly() {
    let _serial = common::serial();
    let options = |dir: &std::path::Path| RunOptions {
        config_path: dir.join("probe.toml"),
        device: Some("cpu".into()),
        ..RunOptions::default()
    };
    let straight_dir = tempfile::tempdir().unwrap();
    let mut cfg = common::probe_config(straight_dir.path(), 24, 8, "");
    cfg.set("default_hooks.checkpoint.save_format", json!("pth")).unwrap();
    let mut straight = Runner::from_config(cfg, options(straight_dir.path())).unwrap();
    straight.train().unwrap();
    assert!(straight.env.work_dir.join("epoch_4.pth").is_file());

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::probe_config(dir.path(), 24, 8, "");
    cfg.set("default_hooks.checkpoint.save_format", json!("pth")).unwrap();
    cfg.set("train_cfg.max_epochs", json!(2)).unwrap();
    Runner::from_config(cfg, options(dir.path())).unwrap().train().unwrap();
    let mut cfg = common::probe_config(dir.path(), 24, 8, "");
    cfg.set("default_hooks.checkpoint.save_format", json!("pth")).unwrap();
    let ckpt = dir.path().join("work/epoch_2.pth");
    let mut resumed =
        Runner::from_config(cfg, RunOptions { resume: Resume::From(ckpt), ..options(dir.path()) }).unwrap();
    resumed.train().unwrap();
    assert_eq!(common::weights(&resumed), common::weights(&straight));
    let a = checkpoint::load(&straight.env.work_dir.join("epoch_4.pth")).unwrap();
    let b = checkpoint::load(&resumed.env.work_dir.join("epoch_4.pth")).unwrap();
    let digest = |d: &CheckpointData| {
        let mut v: Vec<_> = d.optimizer.iter().map(|(k, t)| (k.clone(), sha256(t))).collect();
        v.sort();
        v
    };
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(a.meta["optimizer"], b.meta["optimizer"]);
}
