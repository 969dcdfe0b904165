//! Decoding real videos through the pipeline (kinema-video's FFmpeg reader), parity
//! with MMAction2 + decord + mmcv on carphone_pristine.mp4, and a corpus of broken
//! video files through VideoDataset.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kinema_core::registry::BuildSite;
use kinema_core::rng::sample_rng;
use kinema_core::Config;
use kinema_data::{build_dataloader, Batch, DataError, LoaderContext, Pipeline, Sample};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn expected() -> Value {
    let text = std::fs::read_to_string(common::fixture("video/carphone_expected.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["videos"]["carphone_pristine.mp4"].clone()
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn run(steps: Value) -> Sample {
    let p = Pipeline::build(&steps, &BuildSite::detached(Default::default())).unwrap();
    let mut s = Sample { filename: Some(common::fixture("video/carphone_pristine.mp4")), ..Sample::default() };
    p.run(&mut s, &mut sample_rng(0, 0, 0)).unwrap();
    s
}

#[test]
fn decode_matches_decord() {
    let want = expected();
    let s = run(json!([
        {"type": "DecordInit"},
        {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 8, "test_mode": true},
        {"type": "DecordDecode"},
    ]));
    assert_eq!(s.total_frames, Some(120));
    assert!((s.avg_fps.unwrap() - want["decord"]["avg_fps"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(json!(s.frame_inds.clone().unwrap()), want["frame_inds"]);
    let f = s.imgs.unwrap();
    assert_eq!(f.shape(), [8, 144, 176, 3]);
    assert!(s.video_reader.is_none());
    assert_eq!(sha256(&f.data), want["decord_frames_sha256"].as_str().unwrap());
    let (subset, _) = common::read_npy("data/carphone/decord_frames_0_5.npy.gz");
    assert_eq!(&subset[..f.frame_len()], f.frame(0));
    assert_eq!(&subset[f.frame_len()..], f.frame(5));
}

#[test]
fn clip_test_pipeline_is_bit_identical_to_mmaction2() {
    for init in ["DecordInit", "PyAVInit"] {
        let decode = init.replace("Init", "Decode");
        let s = run(json!([
            {"type": init},
            {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 8, "test_mode": true},
            {"type": decode},
            {"type": "Resize", "scale": [-1, 256]},
            {"type": "CenterCrop", "crop_size": 224},
            {"type": "FormatShape", "input_format": "NCHW"},
            {"type": "PackActionInputs"},
        ]));
        let inputs = s.inputs.unwrap();
        assert_eq!(inputs.shape, vec![8, 3, 224, 224]);
        // the SHA-256 of MMAction2's whole [8, 3, 224, 224] uint8 output
        assert_eq!(sha256(&inputs.data), expected()["processed_uint8_sha256"].as_str().unwrap(), "{init}");
    }
}

#[test]
fn broken_videos_through_video_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = std::fs::read(common::fixture("video/carphone_pristine.mp4")).unwrap();
    std::fs::write(root.join("good.mp4"), &good).unwrap();
    std::fs::write(root.join("noext.mp4"), &good).unwrap(); // listed as `noext`: .mp4 is appended
    std::fs::write(root.join("empty.mp4"), b"").unwrap();
    std::fs::write(root.join("text.mp4"), b"this is not a video\n").unwrap();
    std::fs::write(
        root.join("random.mp4"),
        (0..50_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(root.join("truncated.mp4"), &good[..good.len() / 20]).unwrap();
    std::fs::write(
        root.join("list.txt"),
        "good.mp4 0\nempty.mp4 1\ntext.mp4 2\nrandom.mp4 3\ntruncated.mp4 4\nmissing.mp4 5\nnoext 6\n",
    )
    .unwrap();
    let cfg_text = |on_error: &str| {
        format!(
            r#"
[test_dataloader]
batch_size = 1
num_workers = 2
sampler = {{ type = "DefaultSampler", shuffle = false }}
[test_dataloader.dataset]
type = "VideoDataset"
ann_file = "list.txt"
data_root = "{root}"
data_prefix = {{ video = "" }}
test_mode = true
on_error = "{on_error}"
pipeline = [
  {{ type = "DecordInit" }},
  {{ type = "SampleFrames", clip_len = 1, num_clips = 8, test_mode = true }},
  {{ type = "DecordDecode" }},
  {{ type = "Resize", scale = [-1, 64] }},
  {{ type = "CenterCrop", crop_size = 56 }},
  {{ type = "FormatShape", input_format = "NCHW" }},
  {{ type = "PackActionInputs" }},
]
"#,
            root = root.display()
        )
    };
    let ctx = LoaderContext::default();
    let cfg = Config::from_toml_str(&cfg_text("raise"), root.join("cfg.toml")).unwrap();
    let mut loader = build_dataloader(&cfg, "test_dataloader", &ctx).unwrap();
    let results: Vec<Result<Batch, DataError>> = loader.epoch(0).collect();
    assert_eq!(results.len(), 7);
    assert!(results[0].is_ok() && results[6].is_ok());
    for (i, name) in [(1, "empty.mp4"), (2, "text.mp4"), (3, "random.mp4"), (4, "truncated.mp4"), (5, "missing.mp4")] {
        let e = results[i].as_ref().err().unwrap_or_else(|| panic!("{name} loaded")).to_string();
        assert!(e.contains(name) && (e.contains(": DecordInit: ") || e.contains(": DecordDecode: ")), "{name}: {e}");
    }
    let report = kinema_data::tools::check::check_dataset(loader.dataset().as_ref(), 2, 0);
    let bad: Vec<usize> = report.bad.iter().map(|b| b.index).collect();
    assert_eq!(bad, vec![1, 2, 3, 4, 5]);

    let cfg = Config::from_toml_str(&cfg_text("skip"), root.join("cfg.toml")).unwrap();
    let mut loader = build_dataloader(&cfg, "test_dataloader", &ctx).unwrap();
    let mut it = loader.epoch(0);
    let batches: Vec<Batch> = it.by_ref().map(Result::unwrap).collect();
    assert_eq!(batches.len(), 7);
    assert!(batches.iter().all(|b| b.shape == vec![1, 8, 3, 56, 56]));
    assert!(batches
        .iter()
        .flat_map(|b| &b.metas)
        .all(|m| m.source.ends_with("good.mp4") || m.source.ends_with("noext")));
    let report = it.report();
    assert_eq!(report.files.len(), 5);
    assert!(report.skipped >= 5);
}

#[test]
fn inspect_pipeline_reports_and_saves_the_test_output() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
[test_dataloader]
batch_size = 1
sampler = { type = "DefaultSampler", shuffle = false }
[test_dataloader.dataset]
type = "VideoDataset"
ann_file = "unused.txt"
pipeline = [
  { type = "DecordInit" },
  { type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 8, test_mode = true },
  { type = "DecordDecode" },
  { type = "Resize", scale = [-1, 256] },
  { type = "CenterCrop", crop_size = 224 },
  { type = "FormatShape", input_format = "NCHW" },
  { type = "PackActionInputs" },
]
"#;
    let cfg = Config::from_toml_str(text, dir.path().join("cfg.toml")).unwrap();
    let video = common::fixture("video/carphone_pristine.mp4");
    let report = kinema_data::tools::inspect::inspect_pipeline(&cfg, "test", &video, 0, None).unwrap();
    assert_eq!(report.total_frames, Some(120));
    assert_eq!(report.frame_inds, vec![7, 22, 37, 52, 67, 82, 97, 112]);
    assert_eq!((report.shape.clone(), report.layout.as_str()), (vec![8, 3, 224, 224], "NCHW"));
    let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["DecordInit", "SampleFrames", "DecordDecode", "Resize", "CenterCrop", "FormatShape", "PackActionInputs"]
    );
    assert_eq!(report.steps[3].shape, Some(vec![8, 256, 313, 3]));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["shape"], json!([8, 3, 224, 224]));
    let out = dir.path().join("out.npy");
    kinema_data::npy::write_u8(&out, &report.data, &report.shape).unwrap();
    let (data, shape) = kinema_data::npy::read_u8(&out).unwrap();
    assert_eq!(shape, vec![8, 3, 224, 224]);
    assert_eq!(sha256(&data), expected()["processed_uint8_sha256"].as_str().unwrap());
    let err = kinema_data::tools::inspect::inspect_pipeline(&cfg, "train", &video, 0, None).unwrap_err();
    assert!(err.to_string().contains("`train_dataloader.dataset`: missing"), "{err}");
}
