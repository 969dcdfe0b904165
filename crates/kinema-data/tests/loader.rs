//! The loader: determinism across worker counts, order, lengths, samplers, and the
//! raise / skip policy on a corpus of broken files.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::{Component, Config};
use kinema_data::transforms::template::{Arg, FrameTemplate};
use kinema_data::{
    build_dataloader, Batch, DataError, FrameStack, LoaderContext, Sample, Transform, TransformError, TransformKind,
};
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Test-only decoder: frame `k` of folder `d` is a 24x32 image whose pixels depend on
/// (d, k) and on a random draw (so the RNG stream is exercised too).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FakeDecodeConfig {}

struct FakeDecode;

impl Component<TransformKind> for FakeDecode {
    type Config = FakeDecodeConfig;
    fn build(_: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        Ok(Box::new(FakeDecode))
    }
}
kinema_core::register!(TransformKind, "FakeDecode", FakeDecode);

impl Transform for FakeDecode {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        let dir = s.frame_dir.clone().ok_or(TransformError::Missing("frame_dir"))?;
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if name.starts_with("broken") {
            return Err(TransformError::Invalid("cannot decode".into()));
        }
        let id: u64 = name.trim_start_matches("vid").parse().unwrap_or(0);
        let inds = s.frame_inds.clone().ok_or(TransformError::Missing("frame_inds"))?;
        let noise: u8 = rng.random();
        let (h, w) = (24, 32);
        let mut data = Vec::with_capacity(inds.len() * h * w * 3);
        for &k in &inds {
            for p in 0..h * w * 3 {
                data.push((id as usize * 31 + k as usize * 7 + p + noise as usize) as u8);
            }
        }
        s.imgs = FrameStack::new(data, inds.len(), h, w, 3);
        s.img_shape = Some([h, w]);
        s.original_shape = Some([h, w]);
        Ok(())
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// A RawframeDataset config over `n` fake videos with a random train pipeline.
fn synthetic_config(dir: &Path, n: usize, workers: usize, extra_lines: &str, on_error: &str) -> Config {
    let mut list: String = (0..n).map(|i| format!("vid{i} {} {}\n", 20 + i % 7, i % 5)).collect();
    list.push_str(extra_lines);
    write(&dir.join("train.txt"), &list);
    let text = format!(
        r#"
[train_dataloader]
batch_size = 4
num_workers = {workers}
persistent_workers = true
sampler = {{ type = "DefaultSampler", shuffle = true }}

[train_dataloader.dataset]
type = "RawframeDataset"
ann_file = "{ann}"
on_error = "{on_error}"
max_refetch = 50
pipeline = [
  {{ type = "SampleFrames", clip_len = 1, frame_interval = 1, num_clips = 3 }},
  {{ type = "FakeDecode" }},
  {{ type = "RandomResizedCrop" }},
  {{ type = "MultiScaleCrop", input_size = 16, scales = [1.0, 0.875, 0.75], num_fixed_crops = 13 }},
  {{ type = "Resize", scale = [16, 16], keep_ratio = false }},
  {{ type = "Flip", flip_ratio = 0.5 }},
  {{ type = "FormatShape", input_format = "NCHW" }},
  {{ type = "PackActionInputs" }},
]
"#,
        ann = dir.join("train.txt").display()
    );
    Config::from_toml_str(&text, dir.join("cfg.toml")).unwrap()
}

fn run_epochs(cfg: &Config, seed: u64, epochs: u64) -> Vec<Batch> {
    let mut loader =
        build_dataloader(cfg, "train_dataloader", &LoaderContext { seed, rank: 0, world_size: 1 }).unwrap();
    let mut out = Vec::new();
    for e in 0..epochs {
        for b in loader.epoch(e) {
            out.push(b.unwrap());
        }
    }
    out
}

#[test]
fn same_seed_same_batches_for_any_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    let reference = run_epochs(&synthetic_config(dir.path(), 23, 1, "", "raise"), 7, 2);
    assert_eq!(reference.len(), 2 * 6); // ceil(23 / 4) per epoch
    assert_eq!(reference[0].shape, vec![4, 3, 3, 16, 16]);
    assert_eq!(reference[5].shape, vec![3, 3, 3, 16, 16]);
    for workers in [0, 2, 8] {
        let other = run_epochs(&synthetic_config(dir.path(), 23, workers, "", "raise"), 7, 2);
        assert_eq!(other, reference, "{workers} workers differ from 1");
    }
    let reseeded = run_epochs(&synthetic_config(dir.path(), 23, 2, "", "raise"), 8, 2);
    assert_ne!(reseeded, reference);
    // epochs differ (shuffle and augmentation), and every sample appears once per epoch
    let epoch =
        |k: usize| -> Vec<usize> { reference[k * 6..(k + 1) * 6].iter().flat_map(|b| b.indices.clone()).collect() };
    assert_ne!(epoch(0), epoch(1));
    let mut sorted = epoch(0);
    sorted.sort();
    assert_eq!(sorted, (0..23).collect::<Vec<_>>());
}

#[test]
fn batches_come_in_sampler_order_with_labels_and_metas() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = synthetic_config(dir.path(), 10, 2, "", "raise");
    let ctx = LoaderContext { seed: 3, rank: 0, world_size: 1 };
    let mut loader = build_dataloader(&cfg, "train_dataloader", &ctx).unwrap();
    assert_eq!((loader.len(), loader.num_samples(), loader.batch_size()), (3, 10, 4));
    let mut sampler = kinema_data::DefaultSampler::new(10, true, 3, true, 0, 1);
    kinema_data::Sampler::set_epoch(&mut sampler, 1);
    let expected = kinema_data::Sampler::indices(&sampler);
    let got: Vec<usize> = loader.epoch(1).flat_map(|b| b.unwrap().indices).collect();
    assert_eq!(got, expected);
    let first = loader.epoch(0).next().unwrap().unwrap();
    assert_eq!(first.label_indices().unwrap(), first.indices.iter().map(|&i| (i % 5) as i64).collect::<Vec<_>>());
    assert!(first.metas[0].source.ends_with(&format!("vid{}", first.indices[0])));
    assert_eq!(first.metas[0].frame_inds.len(), 3);
    assert_eq!(first.inputs.len(), first.shape.iter().product::<usize>());

    // drop_last and a 2-rank split
    let mut cfg2 = cfg.clone();
    cfg2.set("train_dataloader.drop_last", serde_json::json!(true)).unwrap();
    assert_eq!(build_dataloader(&cfg2, "train_dataloader", &ctx).unwrap().len(), 2);
    let r1 = build_dataloader(&cfg, "train_dataloader", &LoaderContext { seed: 3, rank: 1, world_size: 4 }).unwrap();
    assert_eq!((r1.num_samples(), r1.len()), (3, 1));
}

#[test]
fn dropping_an_epoch_early_does_not_disturb_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = synthetic_config(dir.path(), 30, 2, "", "raise");
    let ctx = LoaderContext { seed: 1, rank: 0, world_size: 1 };
    let mut loader = build_dataloader(&cfg, "train_dataloader", &ctx).unwrap();
    let partial: Vec<Batch> = loader.epoch(0).take(2).map(Result::unwrap).collect();
    let full: Vec<Batch> = loader.epoch(0).map(Result::unwrap).collect();
    assert_eq!(&full[..2], &partial[..]);
    assert_eq!(full.len(), 8);
    // resuming mid-epoch: the same batches from position 3 on, nothing before
    let resumed: Vec<Batch> = loader.epoch_from(0, 3).map(Result::unwrap).collect();
    assert_eq!(&resumed[..], &full[3..]);
    assert_eq!(loader.epoch_from(0, 99).count(), 0);
}

#[test]
fn skip_policy_substitutes_deterministically_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "broken_a 20 1\nbroken_b 20 2\n";
    // raise: the error names the file and the transform
    let cfg = synthetic_config(dir.path(), 10, 2, extra, "raise");
    let ctx = LoaderContext { seed: 5, rank: 0, world_size: 1 };
    let mut loader = build_dataloader(&cfg, "train_dataloader", &ctx).unwrap();
    let errors: Vec<String> = loader.epoch(0).filter_map(|b| b.err()).map(|e| e.to_string()).collect();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| e.contains("broken_") && e.contains(": FakeDecode: cannot decode")), "{errors:?}");

    // skip: every batch loads, the broken ones are replaced, the same way for 1 or 8 workers
    let run = |workers| {
        let cfg = synthetic_config(dir.path(), 10, workers, extra, "skip");
        let mut loader = build_dataloader(&cfg, "train_dataloader", &ctx).unwrap();
        let mut it = loader.epoch(0);
        let batches: Vec<Batch> = it.by_ref().map(Result::unwrap).collect();
        (batches, it.report())
    };
    let (a, report) = run(1);
    let (b, report8) = run(8);
    assert_eq!(a, b);
    assert_eq!(report, report8);
    assert_eq!(a.iter().map(Batch::len).sum::<usize>(), 12);
    let substituted: Vec<usize> = a.iter().flat_map(|b| b.metas.iter().filter_map(|m| m.substitute_for)).collect();
    assert_eq!(substituted.len(), report.skipped);
    assert!(substituted.iter().all(|&i| i >= 10));
    assert!(a.iter().flat_map(|b| &b.metas).all(|m| !m.source.contains("broken")));
    let files: Vec<&str> = report.files.iter().map(|(f, _)| f.rsplit('/').next().unwrap()).collect();
    assert_eq!(files, vec!["broken_a", "broken_b"]);
}

#[test]
fn broken_jpeg_corpus_through_rawframe_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let jpeg = std::fs::read(common::fixture("data/jpeg/frame.jpg")).unwrap();
    let tmpl = FrameTemplate::parse("img_{:05}.jpg").unwrap();
    let make = |name: &str, frames: &[(i64, &[u8])]| {
        std::fs::create_dir_all(root.join(name)).unwrap();
        for (k, bytes) in frames {
            std::fs::write(root.join(name).join(tmpl.format(&[Arg::Int(*k)]).unwrap()), bytes).unwrap();
        }
    };
    let all: Vec<(i64, &[u8])> = (1..=4).map(|k| (k, &jpeg[..])).collect();
    make("good", &all);
    make("empty_file", &[(1, b""), (2, b""), (3, b""), (4, b"")]);
    make("garbage", &[(1, b"not a jpeg at all"), (2, b"x"), (3, b"x"), (4, b"x")]);
    make("truncated", &[(1, &jpeg[..200]), (2, &jpeg[..200]), (3, &jpeg[..200]), (4, &jpeg[..200])]);
    make("missing_frames", &[(1, &jpeg[..])]);
    write(
        &root.join("list.txt"),
        "good 4 0\nempty_file 4 1\ngarbage 4 2\ntruncated 4 3\nmissing_frames 4 4\nno_such_dir 4 0\n",
    );
    let cfg_text = |on_error: &str| {
        format!(
            r#"
[val_dataloader]
batch_size = 2
num_workers = 2
sampler = {{ type = "DefaultSampler", shuffle = false }}
[val_dataloader.dataset]
type = "RawframeDataset"
ann_file = "list.txt"
data_root = "{root}"
test_mode = true
on_error = "{on_error}"
max_refetch = 200
pipeline = [
  {{ type = "SampleFrames", clip_len = 1, num_clips = 4, test_mode = true }},
  {{ type = "RawFrameDecode" }},
  {{ type = "CenterCrop", crop_size = 32 }},
  {{ type = "FormatShape", input_format = "NCHW" }},
  {{ type = "PackActionInputs" }},
]
"#,
            root = root.display()
        )
    };
    let ctx = LoaderContext::default();
    let cfg = Config::from_toml_str(&cfg_text("raise"), root.join("cfg.toml")).unwrap();
    let mut loader = build_dataloader(&cfg, "val_dataloader", &ctx).unwrap();
    let results: Vec<Result<Batch, DataError>> = loader.epoch(0).collect();
    assert_eq!(results.len(), 3);
    let errs: Vec<String> = results.iter().filter_map(|r| r.as_ref().err()).map(|e| e.to_string()).collect();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs[0].contains("empty_file") && errs[0].contains("RawFrameDecode"), "{}", errs[0]);
    assert!(
        errs[1].contains("garbage/img_00001.jpg: not a decodable JPEG") || errs[1].contains("truncated"),
        "{}",
        errs[1]
    );
    assert!(errs[2].contains("missing_frames/img_00002.jpg: cannot read"), "{}", errs[2]);

    let report = kinema_data::tools::check::check_dataset(loader.dataset().as_ref(), 2, 0);
    let bad: Vec<&str> = report.bad.iter().map(|b| b.file.rsplit('/').next().unwrap()).collect();
    assert_eq!(report.total, 6);
    assert_eq!(bad, vec!["empty_file", "garbage", "truncated", "missing_frames", "no_such_dir"]);
    assert!(report.bad[4].reason.contains("no_such_dir/img_00001.jpg: cannot read"), "{}", report.bad[4].reason);

    let cfg = Config::from_toml_str(&cfg_text("skip"), root.join("cfg.toml")).unwrap();
    let mut loader = build_dataloader(&cfg, "val_dataloader", &ctx).unwrap();
    let mut it = loader.epoch(0);
    let batches: Vec<Batch> = it.by_ref().map(Result::unwrap).collect();
    let report = it.report();
    assert_eq!(batches.iter().map(Batch::len).sum::<usize>(), 6);
    assert!(batches.iter().flat_map(|b| &b.metas).all(|m| m.source.ends_with("good")));
    assert_eq!(report.files.len(), 5);
    assert!(report.skipped >= 5);
}

#[test]
fn annotation_and_loader_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("bad.txt"), "a.mp4 1\nb.mp4 x\n");
    let text = format!(
        "[test_dataloader]\nbatch_size = 1\nsampler = {{ type = \"DefaultSampler\", shuffle = false }}\n\
         [test_dataloader.dataset]\ntype = \"VideoDataset\"\nann_file = \"{}\"\npipeline = []\n",
        dir.path().join("bad.txt").display()
    );
    let cfg = Config::from_toml_str(&text, "cfg.toml").unwrap();
    let err = build_dataloader(&cfg, "test_dataloader", &LoaderContext::default()).err().unwrap().to_string();
    // Reported at the key that named the file, by the file that set the key.
    assert_eq!(
        err,
        format!(
            "cfg.toml: `test_dataloader.dataset.ann_file`: {}:2: label \"x\" is not an integer (in dataset VideoDataset)",
            dir.path().join("bad.txt").display()
        )
    );

    let cfg = Config::from_toml_str("[test_dataloader]\nbatch_size = 1\nshuffle = true\n", "cfg.toml").unwrap();
    let err = build_dataloader(&cfg, "test_dataloader", &LoaderContext::default()).err().unwrap().to_string();
    assert!(
        err.starts_with("cfg.toml: `test_dataloader.shuffle`: unknown key `shuffle`; expected one of: batch_size,"),
        "{err}"
    );
    let cfg = Config::from_toml_str("[test_dataloader]\nbatch_siz = 1\n", "cfg.toml").unwrap();
    let err = build_dataloader(&cfg, "test_dataloader", &LoaderContext::default()).err().unwrap().to_string();
    assert!(err.ends_with("(did you mean `batch_size`?)"), "{err}");
    let err = build_dataloader(&cfg, "val_dataloader", &LoaderContext::default()).err().unwrap().to_string();
    assert!(err.contains("`val_dataloader`: missing"), "{err}");
}

#[test]
fn absurd_sizes_fail_validation_at_their_key_naming_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let build_with = |overrides: &[&str]| {
        let mut cfg = synthetic_config(dir.path(), 2, 0, "", "raise");
        cfg.apply_overrides(overrides.iter().map(|s| s.to_string()).collect::<Vec<_>>().as_slice()).unwrap();
        build_dataloader(&cfg, "train_dataloader", &LoaderContext::default()).err().unwrap().to_string()
    };
    assert_eq!(
        build_with(&["train_dataloader.num_workers=100000"]),
        "--cfg-options: `train_dataloader.num_workers`: 100000 worker threads asked for; at most 256"
    );
    let err = build_with(&["train_dataloader.dataset.pipeline.0.num_clips=100000000"]);
    assert_eq!(
        err,
        "--cfg-options: `train_dataloader.dataset.pipeline.0.num_clips`: clip_len 1 x num_clips 100000000 asks for \
         more than 65536 frames per sample (in transform SampleFrames)"
    );
}
