//! `tools/train` and `tools/test` as a user runs them, on the tiny ActionCLIP checkpoint
//! and generated videos: a run killed with SIGKILL (twice, at whatever moment, often in
//! the middle of writing a checkpoint) and resumed ends with the bytes of an uninterrupted
//! run, and no checkpoint left behind is ever torn; `tools/test`'s metrics equal an
//! independent computation over the scores it dumps; the demo's config builds; `--amp`
//! with bfloat16 trains on CPU under autocast.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{dumped, metrics, setup, tiny_checkpoint, tool};
use kinema_torch::checkpoint::load_safetensors;

/// 3 classes, 3 epochs of AdamW with warm-up and cosine, a checkpoint after every
/// iteration (so kills often land in a write), shuffled and randomly sampled frames.
fn train_config(dir: &Path) -> PathBuf {
    let extra = r#"
[train_cfg]
type = "EpochBasedTrainLoop"
max_epochs = 3
val_interval = 10

[optim_wrapper]
optimizer = { type = "AdamW", lr = 1e-3, betas = [0.9, 0.98], eps = 1e-8, weight_decay = 0.2 }
paramwise_cfg = { custom_keys = { adapter = { lr_mult = 10 } } }

[[param_scheduler]]
type = "LinearLR"
start_factor = 0.1
by_epoch = true
begin = 0
end = 1
convert_to_iter_based = true

[[param_scheduler]]
type = "CosineAnnealingLR"
by_epoch = true
begin = 1
end = 3
convert_to_iter_based = true

[default_hooks]
checkpoint = { type = "CheckpointHook", interval = 1, by_epoch = false, max_keep_ckpts = 2 }
logger = { type = "LoggerHook", interval = 1 }
"#;
    let path = setup(dir, "tiny_train", 3, 7, extra);
    // Shuffle the training set (the first sampler of the file is the training one).
    let text = std::fs::read_to_string(&path).unwrap().replacen("shuffle = false", "shuffle = true", 1);
    std::fs::write(&path, text).unwrap();
    path
}

fn train(config: &Path, work: &Path, resume: bool) -> Command {
    let mut cmd = Command::new(tool("train"));
    cmd.arg(config).arg("--work-dir").arg(work).args(["--device", "cpu"]).env("OMP_NUM_THREADS", "1");
    if resume {
        cmd.arg("--resume");
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

/// The iteration number of the newest checkpoint, from `last_checkpoint`.
fn newest_iter(work: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(work.join("last_checkpoint")).ok()?;
    let name = Path::new(text.trim()).file_stem()?.to_string_lossy().into_owned();
    name.strip_prefix("iter_")?.parse().ok()
}

/// Runs `child` until the newest checkpoint is at least iteration `at`, then SIGKILLs it.
fn kill_at(mut child: Child, work: &Path, at: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(300);
    while newest_iter(work).unwrap_or(0) < at {
        assert!(child.try_wait().unwrap().is_none(), "tools/train ended before iteration {at}");
        assert!(Instant::now() < deadline, "no checkpoint of iteration {at} within 300 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed, not finished: {status:?}");
    newest_iter(work).unwrap()
}

/// Every checkpoint in `work` reads back whole.
fn assert_no_torn_checkpoint(work: &Path) {
    for entry in std::fs::read_dir(work).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            load_safetensors(&path).unwrap_or_else(|e| panic!("{} is damaged after a kill: {e}", path.display()));
        }
    }
    let last = std::fs::read_to_string(work.join("last_checkpoint")).unwrap();
    assert!(Path::new(last.trim()).is_file(), "last_checkpoint names a missing file: {last}");
}

fn run_to_end(mut cmd: Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn killed_twice_and_resumed_ends_bit_identical_to_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = train_config(dir.path());

    let straight = dir.path().join("straight");
    run_to_end(train(&config, &straight, false));
    let total = newest_iter(&straight).unwrap();
    assert!(total >= 12, "3 epochs of at least 4 iterations, got {total}");

    let killed = dir.path().join("killed");
    let first = kill_at(train(&config, &killed, false).spawn().unwrap(), &killed, 3);
    assert_no_torn_checkpoint(&killed);
    let second = kill_at(train(&config, &killed, true).spawn().unwrap(), &killed, first + 4);
    assert_no_torn_checkpoint(&killed);
    assert!(second < total, "killed at iteration {second} of {total}");
    run_to_end(train(&config, &killed, true));

    let name = format!("iter_{total}.safetensors");
    let a = load_safetensors(straight.join(&name)).unwrap();
    let b = load_safetensors(killed.join(&name)).unwrap();
    assert_eq!(a.tensors.len(), b.tensors.len());
    assert!(a.tensors.iter().any(|(n, _)| n.contains("exp_avg_sq")), "the optimizer state is compared too");
    for ((na, ta), (nb, tb)) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs after kill-and-resume");
    }

    // The checkpoint carries its class names: `tools/infer` needs neither a config nor
    // `--labels`, even with the label map gone.
    let label_map = dir.path().join("data/label_map.txt");
    let names: Vec<String> = std::fs::read_to_string(&label_map).unwrap().lines().map(str::to_string).collect();
    std::fs::remove_file(&label_map).unwrap();
    let list = std::fs::read_to_string(dir.path().join("data/test_list.txt")).unwrap();
    let video = dir.path().join("data").join(list.split_whitespace().next().unwrap());
    let out = Command::new(tool("infer"))
        .arg("--checkpoint")
        .arg(straight.join(&name))
        .arg(&video)
        .arg("--json")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["labels"], serde_json::json!(names));
    assert_eq!(v["scores"].as_array().unwrap().len(), names.len());
}

#[test]
fn test_metrics_equal_an_independent_computation_over_the_dumped_scores() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), "tiny_test", 7, 4, "");
    let work = dir.path().join("work");
    let dump = dir.path().join("scores.json");
    let out = Command::new(tool("test"))
        .arg(&config)
        .arg("--checkpoint")
        .arg(tiny_checkpoint())
        .arg("--work-dir")
        .arg(&work)
        .args(["--device", "cpu", "--dump"])
        .arg(&dump)
        .arg("--cfg-options")
        .arg(format!("test_dataloader.dataset.ann_file={}", dir.path().join("data/train_list.txt").display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let records = dumped(&dump);
    let n_videos = std::fs::read_to_string(dir.path().join("data/train_list.txt")).unwrap().lines().count();
    assert_eq!(records.len(), n_videos);
    let (mut top1, mut top5) = (0usize, 0usize);
    let mut per_class = [(0usize, 0usize); 7];
    for r in &records {
        let scores: Vec<f64> = r["pred_score"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
        assert_eq!(scores.len(), 7);
        let label = r["gt_label"].as_u64().unwrap() as usize;
        assert!(r["filename"].as_str().unwrap().ends_with(".mp4"), "{r}");
        assert!(r["gt_class"].is_string() && r["pred_class"].is_string(), "{r}");
        // Rank of the label: classes scoring strictly higher, ties broken by index (argsort).
        let rank = (0..7).filter(|&c| scores[c] > scores[label] || (scores[c] == scores[label] && c < label)).count();
        top1 += usize::from(rank == 0);
        top5 += usize::from(rank < 5);
        per_class[label].0 += usize::from(rank == 0);
        per_class[label].1 += 1;
    }
    let n = records.len() as f64;
    let present: Vec<f64> = per_class.iter().filter(|(_, t)| *t > 0).map(|(h, t)| *h as f64 / *t as f64).collect();
    let mean1 = present.iter().sum::<f64>() / present.len() as f64;
    let m = metrics(&work);
    let close = |key: &str, want: f64| {
        let got = m[key].as_f64().unwrap_or_else(|| panic!("no {key} in {m}"));
        assert!((got - want).abs() < 1e-9, "{key}: tools/test says {got}, the dump gives {want}");
    };
    close("acc/top1", top1 as f64 / n);
    close("acc/top5", top5 as f64 / n);
    close("acc/mean1", mean1);
    assert!(top5 > top1, "a meaningful top-5 (7 classes): {top1} vs {top5}");
    // The run's folder has every prediction and the confusion matrix (JSON and PNG).
    let run = std::fs::read_dir(&work).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir()).unwrap();
    let cm: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("confusion_matrix.json")).unwrap()).unwrap();
    let counts: Vec<Vec<u64>> = serde_json::from_value(cm["counts"].clone()).unwrap();
    assert_eq!(counts.len(), 7);
    assert_eq!(counts.iter().flatten().sum::<u64>() as usize, records.len());
    let correct: u64 = (0..7).map(|i| counts[i][i]).sum();
    assert!((correct as f64 / records.len() as f64 - m["acc/top1"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(cm["labels"][0], records.iter().find(|r| r["gt_label"] == 0).unwrap()["gt_class"]);
    let png = std::fs::read(run.join("confusion_matrix.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // `--dump x.pkl` writes MMAction2's records as a Python pickle: tensors are
    // `torch.tensor([...])` calls (pickle.load makes them), the rest plain values.
    let pkl = dir.path().join("scores.pkl");
    let out = Command::new(tool("test"))
        .arg(&config)
        .args(["--checkpoint", tiny_checkpoint().to_str().unwrap(), "--work-dir", work.to_str().unwrap()])
        .args(["--device", "cpu", "--dump", pkl.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = kinema_torch::checkpoint::load_pickle(&pkl).unwrap();
    let kinema_torch::checkpoint::PyValue::List(items) = list else { panic!("a list of records") };
    let first = items[0].as_dict().unwrap();
    let kinema_torch::checkpoint::PyValue::Object(score) = first.get("pred_score").unwrap() else { panic!() };
    assert_eq!((score.module.as_str(), score.name.as_str()), ("torch", "tensor"));
    assert!(first.get("filename").unwrap().as_str().unwrap().ends_with(".mp4"));
    // An unwritable dump fails before the test pass, naming the folder.
    let out = Command::new(tool("test"))
        .arg(&config)
        .args(["--checkpoint", tiny_checkpoint().to_str().unwrap(), "--work-dir", work.to_str().unwrap()])
        .args(["--device", "cpu", "--dump", "/proc/kinema/x.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot create the folder /proc/kinema"), "{err}");
}

#[test]
fn the_demo_config_builds_and_reads_a_batch() {
    // `make demo`'s config, run where `data/synthetic` is a small dataset of the same form.
    let dir = tempfile::tempdir().unwrap();
    let opts = kinema_video::synthetic::DatasetOptions { videos_per_class: 3, frames: 16, ..Default::default() };
    kinema_video::synthetic::write_dataset(&dir.path().join("data/synthetic"), &opts).unwrap();
    let config = common::cli::repo().join("projects/actionclip/configs/tiny_synthetic.toml");
    let out = Command::new(tool("train"))
        .arg(&config)
        .args(["--dry-run", "--device", "cpu", "--work-dir", "work"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("dry run"), "{log}");
}

/// The `loss` logged at each training iteration, from `vis_data/scalars.json`.
fn logged_losses(work: &Path) -> Vec<f64> {
    let run = std::fs::read_dir(work).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir()).unwrap();
    let text = std::fs::read_to_string(run.join("vis_data/scalars.json")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v["loss"].as_f64())
        .collect()
}

#[test]
fn amp_with_bfloat16_trains_on_cpu_under_autocast() {
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
[train_cfg]
type = "IterBasedTrainLoop"
max_iters = 3

[optim_wrapper]
optimizer = { type = "AdamW", lr = 1e-4 }

[default_hooks]
checkpoint = { type = "CheckpointHook", interval = 3, by_epoch = false }
logger = { type = "LoggerHook", interval = 1 }
"#;
    let config = setup(dir.path(), "tiny_amp", 3, 4, extra);
    let run = |name: &str, amp: &[&str]| -> Vec<f64> {
        let work = dir.path().join(name);
        let out = train(&config, &work, false).args(amp).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        logged_losses(&work)
    };
    let fp32 = run("fp32", &[]);
    let bf16 = run("bf16", &["--amp", "--cfg-options", "optim_wrapper.dtype=bfloat16"]);
    assert_eq!((fp32.len(), bf16.len()), (3, 3));
    // The same first loss up to bfloat16 rounding, but not the same bits: autocast was on.
    assert_ne!(fp32[0], bf16[0]);
    assert!((fp32[0] - bf16[0]).abs() < 0.05 * fp32[0].abs(), "fp32 {fp32:?} vs bf16 {bf16:?}");
    assert!(bf16.iter().all(|l| l.is_finite()));
    // `--amp` alone on the CPU takes bfloat16 (float16 would run ~28x slower): the same
    // steps as asking for bfloat16.
    assert_eq!(run("amp", &["--amp"]), bf16);
    let out = train(&config, &dir.path().join("fp16"), false)
        .args(["--amp", "--cfg-options", "optim_wrapper.dtype=float16"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`optim_wrapper.dtype`: float16 on the CPU runs about 28x slower"), "{err}");
}

#[test]
fn bf16_precision_by_flag_or_mmengine_key_agrees_with_fp32() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), "tiny_bf16", 4, 3, "");
    let run = |name: &str, extra: &[&str]| -> Vec<Vec<f64>> {
        let dump = dir.path().join(format!("{name}.json"));
        let out = Command::new(tool("test"))
            .arg(&config)
            .args(["--checkpoint", tiny_checkpoint().to_str().unwrap(), "--device", "cpu", "--dump"])
            .arg(&dump)
            .arg("--work-dir")
            .arg(dir.path().join(name))
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dumped(&dump)
            .iter()
            .map(|r| r["pred_score"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect())
            .collect()
    };
    let fp32 = run("fp32", &[]);
    let flag = run("flag", &["--precision", "bf16"]);
    let key = run("key", &["--cfg-options", "test_cfg.fp16=true"]);
    assert_eq!(flag, key, "MMEngine's fp16 = true is bf16 on a CPU");
    let argmax = |v: &Vec<f64>| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    let mut max_diff = 0f64;
    for (a, b) in fp32.iter().zip(&flag) {
        assert_eq!(argmax(a), argmax(b), "{a:?} vs {b:?}");
        max_diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(max_diff, f64::max);
    }
    // bf16 really ran (scores move) and stays close.
    assert!(max_diff > 0.0 && max_diff < 0.05, "{max_diff}");
    let both = Command::new(tool("test"))
        .arg(&config)
        .args(["--checkpoint", tiny_checkpoint().to_str().unwrap(), "--device", "cpu", "--precision", "bf16"])
        .args(["--cfg-options", "test_cfg.fp16=true", "--work-dir"])
        .arg(dir.path().join("both"))
        .output()
        .unwrap();
    assert!(!both.status.success());
    let err = String::from_utf8_lossy(&both.stderr);
    assert!(err.contains("test_cfg.fp16") && err.contains("is set together with `precision`"), "{err}");
}
