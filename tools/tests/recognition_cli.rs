//! TSN and TSM through the stock tools with MMAction2's configs, against the outputs of
//! MMAction2 1.2.0 itself (`tests/reference/make_tsn_tsm_reference.py`): `tools/test`
//! on the TSN config (25 clips x TenCrop = 250 views) and the TSM config (8 clips x
//! TenCrop = 80 frames) of a real H.264 video gives the reference's 400 class scores
//! within 1e-5, from an MMAction2-layout `.pth`; `tools/infer --config` prints them with
//! the config's label map.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../tests/support/formula_weights.rs"]
mod formula_weights;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kinema_torch::checkpoint::{save_pytorch, PyValue};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/recognition/tsn_tsm_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes the reference model `name` (formula weights, calibrated BN statistics) as an
/// MMAction2 checkpoint: `{'meta': {...}, 'state_dict': OrderedDict(...)}`.
fn write_mmaction_checkpoint(reference: &Value, name: &str, path: &Path) {
    let model = &reference["models"][name];
    let entries: Vec<(String, Vec<i64>)> = model["state_dict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let shape = e["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
            (e["name"].as_str().unwrap().to_string(), shape)
        })
        .collect();
    let stats_file = model["bn_stats_file"].as_str().unwrap();
    let stats = formula_weights::bn_stats(&repo().join("tests/fixtures/recognition").join(stats_file));
    let tensors = formula_weights::formula_state_dict(&entries, Some(&stats));
    let state_dict = PyValue::dict(tensors.into_iter().map(|(k, t)| (k, PyValue::Tensor(t))).collect(), true);
    let meta = PyValue::dict(vec![("mmaction_version".into(), PyValue::Str("1.2.0".into()))], false);
    save_pytorch(path, &PyValue::dict(vec![("meta".into(), meta), ("state_dict".into(), state_dict)], false)).unwrap();
}

fn config(rel: &str) -> String {
    repo().join(rel).display().to_string()
}

/// Runs `tools/test` on the fixture video with the reference weights; the dumped record.
fn test_one_video(dir: &Path, model: &str, config_rel: &str) -> Value {
    let reference = reference();
    let ckpt = dir.join(format!("{model}.pth"));
    write_mmaction_checkpoint(&reference, model, &ckpt);
    std::fs::write(dir.join("val.txt"), "carphone_pristine.mp4 91\n").unwrap();
    let dump = dir.join("results.json");
    let videos = repo().join("tests/fixtures/video");
    let options = [
        format!("ann_file_val={}", dir.join("val.txt").display()),
        format!("data_root_val={}", videos.display()),
        "test_dataloader.num_workers=1".to_string(),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_test"));
    cmd.arg(config(config_rel)).args(["--checkpoint", ckpt.to_str().unwrap()]);
    cmd.args(["--work-dir", dir.join("work").to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    cmd.arg("--cfg-options").args(&options);
    ok(cmd.output().unwrap());
    let records: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    assert_eq!(records.len(), 1);
    records[0].clone()
}

fn assert_scores(got: &Value, want: &Value, what: &str) {
    let got: Vec<f64> = got.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let want: Vec<f64> = want.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(got.len(), 400, "{what}");
    let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
    eprintln!("{what}: max |difference| to MMAction2 {worst:e}");
    assert!(worst <= 1e-5, "{what}: max |difference| {worst:e}");
}

#[test]
fn tsn_test_on_250_views_matches_mmaction2() {
    let dir = tempfile::tempdir().unwrap();
    let record = test_one_video(
        dir.path(),
        "tsn_r50",
        "configs/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.toml",
    );
    let want = &reference()["cases"]["tsn_test"];
    assert_scores(&record["pred_score"], &want["pred_score"], "TSN 25x10 pred_score");
    assert_eq!(record["pred_label"], want["pred_label"]);
}

#[test]
fn tsm_test_on_80_frames_matches_mmaction2() {
    let dir = tempfile::tempdir().unwrap();
    let record = test_one_video(
        dir.path(),
        "tsm_r50",
        "configs/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.toml",
    );
    let want = &reference()["cases"]["tsm_test"];
    assert_scores(&record["pred_score"], &want["pred_score"], "TSM 8x10 pred_score");
    assert_eq!(record["pred_label"], want["pred_label"]);
}

#[test]
fn infer_with_the_tsm_config_prints_400_scores_with_the_label_map() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference();
    let ckpt = dir.path().join("tsm_r50.pth");
    write_mmaction_checkpoint(&reference, "tsm_r50", &ckpt);
    let video = repo().join("tests/fixtures/video/carphone_pristine.mp4");
    let out = Command::new(env!("CARGO_BIN_EXE_infer"))
        .arg(video)
        .args([
            "--config",
            &config("configs/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.toml"),
        ])
        .args(["--checkpoint", ckpt.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&ok(out)).unwrap();
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 400);
    assert_eq!((labels[0].as_str().unwrap(), labels[399].as_str().unwrap()), ("abseiling", "zumba"));
    // The config's test pipeline (8 clips x TenCrop) gives the reference's scores.
    assert_scores(&v["scores"], &reference["cases"]["tsm_test"]["pred_score"], "infer TSM");
    let best = reference["cases"]["tsm_test"]["pred_label"].as_u64().unwrap() as usize;
    assert_eq!(v["top_k"][0]["label"], labels[best]);
}

/// A model whose backbone mixes frames (TSM's temporal shift) has no per-frame features:
/// the timeline decodes and transforms each grid frame once and runs the whole model per
/// window, with the same scores as one clip of the window's frames.
#[test]
fn a_tsm_timeline_runs_the_whole_model_per_window_on_frames_decoded_once() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("tsm_r50.pth");
    write_mmaction_checkpoint(&reference(), "tsm_r50", &ckpt);
    let video = repo().join("tests/fixtures/video/carphone_pristine.mp4");
    let tsm = config("configs/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.toml");
    let infer = |extra: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_infer"))
            .arg(&video)
            .args(["--config", &tsm, "--checkpoint", ckpt.to_str().unwrap(), "--json"])
            // One view per frame (a timeline needs it): CenterCrop instead of TenCrop.
            .args(extra)
            .args(["--cfg-options", "test_pipeline.4.type=CenterCrop"])
            .output()
            .unwrap();
        serde_json::from_str(&ok(out)).unwrap()
    };
    let v = infer(&["--frame-interval", "8", "--stride", "4", "--all-scores"]);
    let windows = v["windows"].as_array().unwrap();
    // 15 grid frames (0, 8, ..., 112): windows at grid 0 and 4; grid frames 0..11 decoded once.
    assert_eq!(windows.len(), 2);
    assert_eq!(v["stats"]["frames_decoded"], 12);
    assert_eq!(v["stats"]["frames_encoded"], 0, "TSM has no per-frame features");
    let inds: Vec<String> = windows[1]["frame_inds"].as_array().unwrap().iter().map(|i| i.to_string()).collect();
    assert_eq!(inds.join(","), "32,40,48,56,64,72,80,88");
    let single = infer(&["--frame-inds", &inds.join(",")]);
    assert_scores(&windows[1]["scores"], &single["scores"], "TSM window 1 vs one clip of its frames");
}
