//! What the CLI tests of training share: a tiny TSN run on synthetic videos, and a
//! checkpoint's tensors for bit-exact comparisons.
#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of the built tool `name`.
pub fn bin(name: &str) -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_train")).parent().unwrap().join(name)
}

/// 4 classes x 6 synthetic videos in `dir/data` (made once) and a tiny TSN config
/// (ResNet-18, 4 segments of 64x64, `max_iters` iterations, checkpoint at the end, buffers
/// synchronised as in MMAction2's default runtime) with a test split and `AccMetric`.
pub fn tiny_tsn(dir: &Path, max_iters: u64) -> PathBuf {
    let data = dir.join("data");
    if !data.join("label_map.txt").exists() {
        let out = Command::new(bin("make_synthetic_dataset"))
            .arg(&data)
            .args(["--classes", "4", "--videos-per-class", "6", "--frames", "16", "--size", "64x64"])
            .output()
            .unwrap();
        assert!(out.status.success(), "make_synthetic_dataset: {}", String::from_utf8_lossy(&out.stderr));
    }
    let pipeline = |test: bool| {
        format!(
            "[{{ type = \"DecordInit\" }}, {{ type = \"SampleFrames\", clip_len = 1, num_clips = 4{} }}, \
             {{ type = \"DecordDecode\" }}, {{ type = \"Resize\", scale = [-1, 64] }}, \
             {{ type = \"FormatShape\", input_format = \"NCHW\" }}, {{ type = \"PackActionInputs\" }}]",
            if test { ", test_mode = true" } else { "" }
        )
    };
    let cfg = format!(
        r#"
randomness = {{ seed = 7 }}
log_processor = {{ by_epoch = false }}
env_cfg = {{ dist_cfg = {{ timeout = 60, connect_timeout = 20 }} }}
default_hooks = {{ logger = {{ type = "LoggerHook", interval = 1 }}, checkpoint = {{ type = "CheckpointHook", interval = {max_iters}, by_epoch = false }}, sync_buffers = {{ type = "SyncBuffersHook" }} }}

[model]
type = "Recognizer2D"
backbone = {{ type = "ResNet", depth = 18 }}
cls_head = {{ type = "TSNHead", num_classes = 4, in_channels = 512, dropout_ratio = 0.5 }}
data_preprocessor = {{ type = "ActionDataPreprocessor", mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375] }}

[train_dataloader]
batch_size = 2
num_workers = 1
sampler = {{ type = "DefaultSampler", shuffle = true }}
dataset = {{ type = "VideoDataset", ann_file = "{data}/train_list.txt", data_prefix = {{ video = "{data}" }}, pipeline = {train} }}

[test_dataloader]
batch_size = 2
num_workers = 1
sampler = {{ type = "DefaultSampler", shuffle = false }}
dataset = {{ type = "VideoDataset", ann_file = "{data}/test_list.txt", data_prefix = {{ video = "{data}" }}, pipeline = {test}, test_mode = true }}

[test_evaluator]
type = "AccMetric"

[train_cfg]
type = "IterBasedTrainLoop"
max_iters = {max_iters}

[optim_wrapper]
optimizer = {{ type = "SGD", lr = 0.01, momentum = 0.9, weight_decay = 0.0001 }}
"#,
        data = data.display(),
        train = pipeline(false),
        test = pipeline(true),
    );
    let path = dir.join(format!("tiny_tsn_{max_iters}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

/// A TCP port free on this machine now (for a test's own MASTER_PORT, so tests running in
/// parallel do not meet on 29500).
pub fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string()
}

/// Every tensor of a training checkpoint (weights and optimizer state), by name, as bytes.
pub fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let ck = kinema_torch::checkpoint::load_checkpoint(path).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = ck
        .tensors
        .iter()
        .map(|(n, t)| {
            (n.clone(), Vec::<u8>::try_from(t.contiguous().reshape([-1]).view_dtype(tch::Kind::Uint8)).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The PID of a running process whose command line contains every one of `args` and whose
/// environment has `env_entry` (`KEY=value`).
pub fn process_with(args: &[&str], env_entry: &str) -> Option<String> {
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let entry = format!("{env_entry}\0");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .find(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
            args.iter().all(|a| has(&cmdline, a.as_bytes())) && has(&environ, entry.as_bytes())
        })
        .map(|e| e.file_name().to_string_lossy().to_string())
}
