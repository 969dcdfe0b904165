//! Multi-process runs of the real binaries with the tiny ActionCLIP checkpoint on
//! generated videos, Gloo over 127.0.0.1: `tools/test` with 2 ranks (`--launcher
//! pytorch`, and `--launcher slurm` as srun would start it, with and without
//! `scontrol`) gives the metrics of 1 rank with every sample counted once; 2 ranks x
//! batch B with the gathered ActionCLIP loss take MMAction2's steps: those of 1 process
//! on 2B at half the learning rate (`logit_scale` at the full one).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::cli::{dumped, free_port, metrics, setup, tiny_checkpoint, tool};

/// The dataset and config of both tests: 3 classes, 3 SGD iterations, one checkpoint.
fn dist_setup(dir: &Path) -> PathBuf {
    let extra = r#"
[train_cfg]
type = "IterBasedTrainLoop"
max_iters = 3

[optim_wrapper]
optimizer = { type = "SGD", lr = 0.002, momentum = 0.9 }

[default_hooks]
checkpoint = { type = "CheckpointHook", interval = 3, by_epoch = false }
"#;
    setup(dir, "tiny_dist", 3, 7, extra)
}

/// Runs `bin args` as `world` ranks with the environment each rank's launcher would set.
fn run_ranks(
    bin: &Path,
    args: &[String],
    world: usize,
    env_of: impl Fn(usize) -> Vec<(String, String)>,
) -> Vec<Output> {
    let children: Vec<_> = (0..world)
        .map(|rank| {
            Command::new(bin)
                .args(args)
                .envs(env_of(rank))
                .env("OMP_NUM_THREADS", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
}

fn check(outputs: &[Output]) {
    for (rank, o) in outputs.iter().enumerate() {
        assert!(o.status.success(), "rank {rank}: {:?}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    }
}

fn pytorch_env(world: usize, port: &str) -> impl Fn(usize) -> Vec<(String, String)> + '_ {
    move |rank| {
        vec![
            ("RANK".into(), rank.to_string()),
            ("LOCAL_RANK".into(), rank.to_string()),
            ("WORLD_SIZE".into(), world.to_string()),
            ("MASTER_ADDR".into(), "127.0.0.1".into()),
            ("MASTER_PORT".into(), port.into()),
        ]
    }
}

/// `CONFIG --work-dir WORK --launcher L --device cpu`, the arguments both tools share.
fn common_args(config: &Path, work: &Path, launcher: &str) -> Vec<String> {
    let mut args = vec![config.display().to_string(), "--work-dir".into(), work.display().to_string()];
    args.extend(["--launcher", launcher, "--device", "cpu"].map(String::from));
    args
}

fn test_args(config: &Path, work: &Path, launcher: &str, dump: &Path) -> Vec<String> {
    let mut args = common_args(config, work, launcher);
    args.extend(["--checkpoint".into(), tiny_checkpoint().display().to_string()]);
    args.extend(["--dump".into(), dump.display().to_string()]);
    args
}

#[test]
fn test_with_two_ranks_equals_one_rank_under_pytorch_and_slurm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dist_setup(dir.path());
    let bin = &tool("test");
    let n_test = std::fs::read_to_string(dir.path().join("data/test_list.txt")).unwrap().lines().count();
    assert_eq!(n_test % 2, 1, "an odd count makes the 2-rank sampler pad one duplicate; got {n_test}");

    let one = dir.path().join("one");
    check(&run_ranks(bin, &test_args(&config, &one, "none", &dir.path().join("one.json")), 1, |_| vec![]));
    let reference = metrics(&one);
    assert!(reference["acc/top1"].as_f64().unwrap() >= 0.0);
    assert_eq!(dumped(&dir.path().join("one.json")).len(), n_test);

    let port = free_port();
    let two = dir.path().join("two");
    check(&run_ranks(
        bin,
        &test_args(&config, &two, "pytorch", &dir.path().join("two.json")),
        2,
        pytorch_env(2, &port),
    ));
    assert_eq!(metrics(&two), reference);
    // Every sample once, in index order, with the same scores up to float rounding (the
    // batches are composed differently).
    let (two_scores, one_scores) = (dumped(&dir.path().join("two.json")), dumped(&dir.path().join("one.json")));
    assert_eq!(two_scores.len(), one_scores.len());
    for (a, b) in two_scores.iter().zip(&one_scores) {
        assert_eq!((&a["index"], &a["gt_label"]), (&b["index"], &b["gt_label"]));
        for (x, y) in a["pred_score"].as_array().unwrap().iter().zip(b["pred_score"].as_array().unwrap()) {
            assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-6, "{a} vs {b}");
        }
    }

    // srun-style: SLURM_* only; the master address comes from the node list, through a
    // stub `scontrol` (first run) and through Kinema's own parser (second run).
    let stub_dir = dir.path().join("bin");
    std::fs::create_dir_all(&stub_dir).unwrap();
    let stub = stub_dir.join("scontrol");
    std::fs::write(&stub, "#!/bin/sh\n# scontrol show hostname LIST\necho localhost\necho otherhost\n").unwrap();
    std::process::Command::new("chmod").args(["+x", stub.to_str().unwrap()]).status().unwrap();
    for (name, path_dir) in [("slurm_scontrol", Some(stub_dir.clone())), ("slurm_parser", None)] {
        let port = free_port();
        let work = dir.path().join(name);
        let nodelist = if path_dir.is_some() { "node[01-02]" } else { "localhost" };
        let outputs =
            run_ranks(bin, &test_args(&config, &work, "slurm", &dir.path().join(format!("{name}.json"))), 2, |rank| {
                let mut env = vec![
                    ("SLURM_PROCID".into(), rank.to_string()),
                    ("SLURM_NTASKS".into(), "2".into()),
                    ("SLURM_LOCALID".into(), rank.to_string()),
                    ("SLURM_NODELIST".into(), nodelist.into()),
                    ("MASTER_PORT".into(), port.clone()),
                ];
                let path = std::env::var("PATH").unwrap_or_default();
                env.push((
                    "PATH".into(),
                    match &path_dir {
                        Some(d) => format!("{}:{path}", d.display()),
                        None => path,
                    },
                ));
                env
            });
        check(&outputs);
        assert_eq!(metrics(&work), reference, "{name}");
    }
}

#[test]
fn two_ranks_train_actionclip_like_one_process_on_double_batch() {
    let dir = tempfile::tempdir().unwrap();
    let config = dist_setup(dir.path());
    let bin = &tool("train");
    let args = |work: &Path, launcher: &str, batch: usize, extra: &[&str]| -> Vec<String> {
        let mut args = common_args(&config, work, launcher);
        args.extend(["--cfg-options".into(), format!("train_dataloader.batch_size={batch}")]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    // MMAction2's GatherLayer sends each rank's loss gradient to its own slice only and
    // DDP averages: every parameter gets 1/W of the gradient of the loss over the global
    // batch, except `logit_scale`, which every rank sees whole. So the single process
    // with SGD at lr/2 and `logit_scale` at lr_mult 2 must take the very same steps.
    let one = dir.path().join("one");
    let single = ["optim_wrapper.optimizer.lr=0.001", "optim_wrapper.paramwise_cfg.custom_keys.logit_scale.lr_mult=2"];
    check(&run_ranks(bin, &args(&one, "none", 4, &single), 1, |_| vec![]));
    let port = free_port();
    let two = dir.path().join("two");
    check(&run_ranks(bin, &args(&two, "pytorch", 2, &[]), 2, pytorch_env(2, &port)));
    let load = |p: PathBuf| kinema_torch::checkpoint::load_safetensors(p).unwrap().tensors;
    let a = load(one.join("iter_3.safetensors"));
    let b = load(two.join("iter_3.safetensors"));
    let weights = |v: &Vec<(String, tch::Tensor)>| -> Vec<(String, tch::Tensor)> {
        v.iter().filter(|(n, _)| !n.starts_with("optimizer/")).map(|(n, t)| (n.clone(), t.shallow_clone())).collect()
    };
    let (a, b) = (weights(&a), weights(&b));
    assert_eq!(a.len(), b.len());
    let initial = kinema_torch::checkpoint::load_checkpoint(tiny_checkpoint()).unwrap();
    let moved = initial.tensors.iter().find(|(n, _)| n == "clip.token_embedding.weight").map(|(_, t)| t).unwrap();
    let token_embedding = &a.iter().find(|(n, _)| n == "clip.token_embedding.weight").unwrap().1;
    assert!((token_embedding - moved).abs().max().double_value(&[]) > 5e-4, "training moved the weights");
    let mut changed = 0;
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let diff = (ta - tb).abs().max().double_value(&[]);
        assert!(diff <= 1e-6, "{na}: max difference {diff}");
        changed += 1;
    }
    assert!(changed > 80);
}
