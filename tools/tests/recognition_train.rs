//! Small TSN and TSM through the stock tools with the synthetic-motion configs: train
//! (a `.pth` checkpoint in MMAction2's layout), test with `--dump`, infer with the
//! config's label map; 2 ranks (`--launcher pytorch`, Gloo) train with per-rank batch
//! norms and test to exactly the metrics and scores of 1 rank.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config(model: &str) -> String {
    repo().join(format!("configs/recognition/{model}/{model}_r18_1x1x8_synthetic-motion.toml")).display().to_string()
}

/// 4 classes x 3 videos (one per split) and the options that point the config at them,
/// with 4 segments, 1 epoch, batch 2 and checkpoints as `.pth`.
fn dataset(dir: &Path) -> Vec<String> {
    let data = dir.join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_make_synthetic_dataset"))
        .arg(&data)
        .args(["--classes", "4", "--videos-per-class", "3", "--frames", "16", "--size", "64x64"])
        .output()
        .unwrap();
    ok(&out);
    [
        format!("data_root={}", data.display()),
        "num_segs=4".into(),
        "train_cfg.max_epochs=1".into(),
        "train_cfg.val_interval=1".into(),
        "train_dataloader.batch_size=2".into(),
        "val_dataloader.batch_size=2".into(),
        "test_dataloader.batch_size=2".into(),
        "train_dataloader.num_workers=1".into(),
        "default_hooks.checkpoint.save_format=pth".into(),
        "default_hooks.checkpoint.interval=1".into(),
        "env_cfg.dist_cfg.timeout=60".into(),
    ]
    .to_vec()
}

fn tool(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_train")).parent().unwrap();
    dir.join(name)
}

fn run(name: &str, args: &[String]) -> Output {
    Command::new(tool(name)).args(args).env("OMP_NUM_THREADS", "1").output().unwrap()
}

fn args(head: &[&str], options: &[String]) -> Vec<String> {
    let mut v: Vec<String> = head.iter().map(|s| s.to_string()).collect();
    v.push("--cfg-options".into());
    v.extend(options.iter().cloned());
    v
}

#[test]
fn tsn_and_tsm_train_test_dump_and_infer() {
    let dir = tempfile::tempdir().unwrap();
    let options = dataset(dir.path());
    for model in ["tsn", "tsm"] {
        let cfg = config(model);
        let work = dir.path().join(model);
        let w = work.to_str().unwrap();
        ok(&run("train", &args(&[&cfg, "--work-dir", w], &options)));
        let ckpt = work.join("epoch_1.pth");
        assert!(ckpt.is_file(), "{model}: no {}", ckpt.display());
        // MMAction2's layout: the state dict under its own names, with BN counters.
        let tree = kinema_torch::checkpoint::load_pytorch(&ckpt).unwrap();
        let sd = tree.get("state_dict").unwrap();
        for key in
            ["backbone.conv1.conv.weight", "backbone.layer1.0.conv1.bn.num_batches_tracked", "cls_head.fc_cls.weight"]
        {
            assert!(sd.get(key).is_some(), "{model}: {key} missing from the .pth");
        }
        if model == "tsm" {
            assert!(sd.get("backbone.layer1.0.conv1.conv.net.weight").is_some(), "TSM keeps MMAction2's wrapped name");
        }
        let dump = work.join("scores.pkl");
        let ck = ckpt.to_str().unwrap();
        let printed = ok(&run(
            "test",
            &args(&[&cfg, "--checkpoint", ck, "--work-dir", w, "--dump", dump.to_str().unwrap()], &options),
        ));
        assert!(printed.contains("acc/top1"), "{printed}");
        match kinema_torch::checkpoint::load_pickle(&dump).unwrap() {
            kinema_torch::checkpoint::PyValue::List(records) => {
                assert_eq!(records.len(), 4, "{model}: a record per video")
            }
            other => panic!("{model}: expected a list of records, got {other:?}"),
        }
        let video = dir.path().join("data/videos/moving_up/moving_up_002.mp4");
        let out =
            run("infer", &args(&[video.to_str().unwrap(), "--config", &cfg, "--checkpoint", ck, "--json"], &options));
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["labels"], serde_json::json!(["moving left", "moving right", "moving up", "moving down"]));
        let sum: f64 = v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{model}: probabilities sum to {sum}");
    }
}

/// Runs `name args` as 2 ranks with the environment `torchrun` sets.
fn two_ranks(name: &str, args: &[String]) -> Vec<Output> {
    let port = support::free_port();
    let children: Vec<_> = (0..2)
        .map(|rank| {
            Command::new(tool(name))
                .args(args)
                .args(["--launcher", "pytorch"])
                .envs([("RANK", rank.to_string()), ("LOCAL_RANK", rank.to_string()), ("WORLD_SIZE", "2".into())])
                .envs([("MASTER_ADDR", "127.0.0.1".to_string()), ("MASTER_PORT", port.clone())])
                .env("OMP_NUM_THREADS", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
}

#[test]
fn two_ranks_train_tsm_and_test_like_one() {
    let dir = tempfile::tempdir().unwrap();
    let options = dataset(dir.path());
    let cfg = config("tsm");
    let work = dir.path().join("work");
    let w = work.to_str().unwrap();
    for o in two_ranks("train", &args(&[&cfg, "--work-dir", w], &options)) {
        ok(&o);
    }
    let ckpt = work.join("epoch_1.pth");
    let ck = ckpt.to_str().unwrap();
    let one = dir.path().join("one.json");
    ok(&run("test", &args(&[&cfg, "--checkpoint", ck, "--work-dir", w, "--dump", one.to_str().unwrap()], &options)));
    let two = dir.path().join("two.json");
    let outs = two_ranks(
        "test",
        &args(&[&cfg, "--checkpoint", ck, "--work-dir", w, "--dump", two.to_str().unwrap()], &options),
    );
    let printed: Vec<String> = outs.iter().map(ok).collect();
    let read = |p: &Path| -> Vec<Value> { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let (a, b) = (read(&one), read(&two));
    assert_eq!(a.len(), 4);
    assert_eq!(a, b, "2 ranks score every test video exactly as 1 rank");
    let metric = |text: &str| text.lines().find(|l| l.starts_with("acc/top1")).map(str::to_string);
    let single = ok(&run("test", &args(&[&cfg, "--checkpoint", ck, "--work-dir", w], &options)));
    assert_eq!(metric(&printed[0]), metric(&single));
}
