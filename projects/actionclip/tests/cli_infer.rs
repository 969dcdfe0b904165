//! `tools/infer` and `tools/convert_checkpoint` end to end on the tiny ActionCLIP
//! checkpoint: a real video, a normalised `.npy`, JSON output, clear errors.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::cli::{repo as root, tool};

fn tiny(name: &str) -> PathBuf {
    root().join("tests/fixtures/tiny").join(name)
}

fn infer(args: &[&str]) -> std::process::Output {
    Command::new(tool("infer")).args(args).output().unwrap()
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn npy_input_gives_upstream_scores_as_json() {
    let ckpt = tiny("mmaction_clip_tiny.pth");
    let npy = tiny("input.npy");
    let tmpl = tiny("template_the_woman_is.txt");
    let out = infer(&[
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--input-npy",
        npy.to_str().unwrap(),
        "--labels",
        "singing,dancing,performing",
        "--template-file",
        tmpl.to_str().unwrap(),
        "--json",
        "--top-k",
        "2",
    ]);
    let v = json_of(&out);
    assert_eq!(v["labels"], serde_json::json!(["singing", "dancing", "performing"]));
    let scores: Vec<f64> = v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    // Upstream (expected.json, case1): 0.99999726, 2.67e-6, 6.65e-8.
    assert!((scores[0] - 0.999_997_258).abs() < 1e-6, "{scores:?}");
    assert!((scores[1] - 2.671_217_5e-6).abs() < 1e-6, "{scores:?}");
    assert_eq!(v["top_k"].as_array().unwrap().len(), 2);
    assert_eq!(v["top_k"][0]["label"], "singing");
}

#[test]
fn video_runs_end_to_end_with_a_table() {
    let video = root().join("tests/fixtures/video/carphone_pristine.mp4");
    assert!(video.is_file(), "{} is missing", video.display());
    let ckpt = tiny("mmaction_clip_tiny.pth");
    let out = infer(&[
        "--checkpoint",
        ckpt.to_str().unwrap(),
        video.to_str().unwrap(),
        "--labels",
        "driving a car,talking on the phone,swimming",
        "--json",
    ]);
    let v = json_of(&out);
    let scores: Vec<f64> = v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    assert_eq!(scores.len(), 3);
    assert!((scores.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    let table = infer(&["--checkpoint", ckpt.to_str().unwrap(), video.to_str().unwrap(), "--labels", "a,b"]);
    assert!(table.status.success(), "{}", String::from_utf8_lossy(&table.stderr));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("rank") && text.contains("probability"), "{text}");
}

#[test]
fn errors_name_the_problem() {
    let ckpt = tiny("mmaction_clip_tiny.pth");
    let out = infer(&["--checkpoint", ckpt.to_str().unwrap(), "/nonexistent/video.mp4", "--labels", "a,b"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/video.mp4") && err.contains("does not exist"), "{err}");

    let npy = tiny("input.npy");
    let out = infer(&["--checkpoint", npy.to_str().unwrap(), "--input-npy", npy.to_str().unwrap(), "--labels", "a"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("input.npy") && err.contains("not a supported checkpoint format"), "{err}");

    let long = vec!["word"; 80].join(" ");
    let out = infer(&["--checkpoint", ckpt.to_str().unwrap(), "--input-npy", npy.to_str().unwrap(), "--labels", &long]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too long") || err.contains("77"), "{err}");
}

#[test]
fn converted_checkpoint_gives_the_same_scores() {
    let dir = std::env::temp_dir().join(format!("kinema-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("tiny.safetensors");
    let ckpt = tiny("mmaction_clip_tiny.pth");
    let conv = Command::new(tool("convert_checkpoint"))
        .args([ckpt.to_str().unwrap(), out_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let npy = tiny("input.npy");
    let run = |c: &PathBuf| {
        json_of(&infer(&[
            "--checkpoint",
            c.to_str().unwrap(),
            "--input-npy",
            npy.to_str().unwrap(),
            "--labels",
            "singing,dancing",
            "--json",
        ]))
    };
    assert_eq!(run(&ckpt)["scores"], run(&out_file)["scores"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pth_conversion_carries_the_labels_and_infers_without_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("tiny_labelled.pth");
    let ckpt = tiny("mmaction_clip_tiny.pth");
    let tmpl = tiny("template_the_woman_is.txt");
    let conv = Command::new(tool("convert_checkpoint"))
        .args([ckpt.to_str().unwrap(), out_file.to_str().unwrap(), "--to", "pth"])
        .args(["--labels", "singing,dancing,performing", "--template-file", tmpl.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    // A torch.save archive in MMEngine's layout.
    let tree = kinema_torch::checkpoint::load_pytorch(&out_file).unwrap();
    assert!(tree.get("state_dict").is_some() && tree.get("meta").is_some());
    let npy = tiny("input.npy");
    let v =
        json_of(&infer(&["--checkpoint", out_file.to_str().unwrap(), "--input-npy", npy.to_str().unwrap(), "--json"]));
    assert_eq!(v["labels"], serde_json::json!(["singing", "dancing", "performing"]));
    let scores: Vec<f64> = v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    assert!((scores[0] - 0.999_997_258).abs() < 1e-6, "{scores:?}");
    // The source is never the destination.
    let same = Command::new(tool("convert_checkpoint"))
        .args([ckpt.to_str().unwrap(), ckpt.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!same.status.success());
    assert!(String::from_utf8_lossy(&same.stderr).contains("is both the input and the output"));
}

#[test]
fn bf16_precision_keeps_the_top_label_and_moves_scores_slightly() {
    let video = root().join("tests/fixtures/video/carphone_pristine.mp4");
    let ckpt = tiny("mmaction_clip_tiny.pth");
    let scores = |precision: &str, timeline: bool| -> Vec<f64> {
        let mut args = vec!["--checkpoint", ckpt.to_str().unwrap(), video.to_str().unwrap()];
        args.extend(["--labels", "driving a car,talking on the phone,swimming", "--json", "--precision", precision]);
        if timeline {
            args.extend(["--frame-interval", "8", "--all-scores"]);
        }
        let v = json_of(&infer(&args));
        let s = if timeline { &v["windows"][0]["scores"] } else { &v["scores"] };
        s.as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect()
    };
    for timeline in [false, true] {
        let (a, b) = (scores("fp32", timeline), scores("bf16", timeline));
        let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f64, f64::max);
        assert!(diff > 0.0 && diff < 0.02, "timeline {timeline}: {a:?} vs {b:?}");
        assert!(a[0] > a[1] && a[0] > a[2] && b[0] > b[1] && b[0] > b[2], "{a:?} vs {b:?}");
    }
    let bad = infer(&[
        "--checkpoint",
        ckpt.to_str().unwrap(),
        video.to_str().unwrap(),
        "--labels",
        "a",
        "--precision",
        "int8",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown precision \"int8\"; expected fp32, bf16 or fp16"));
}
