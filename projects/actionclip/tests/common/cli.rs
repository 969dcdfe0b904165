//! Helpers of the tests that run the stock tools (`tools/*`, which link this project): the
//! binaries, a tiny synthetic dataset with a config running the tiny ActionCLIP checkpoint
//! on it, and readers for what `tools/test` writes.

use std::path::{Path, PathBuf};

use kinema_video::synthetic::{write_dataset, DatasetOptions};
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../..")
}

/// The stock tool `name` (`train`, `test`, `infer`, ...), built beside this test binary
/// (`target/<profile>/<name>`; `cargo test --workspace` builds them, `make test` first
/// runs `cargo build --workspace --bins`).
pub fn tool(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build the stock tools first (`cargo build --workspace --bins`)",
        bin.display()
    );
    bin
}

/// A TCP port free on 127.0.0.1 now (for a launched multi-rank run).
pub fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string()
}

/// The 120-frame 176x144 H.264 fixture video (29.97 fps).
pub fn carphone() -> PathBuf {
    repo().join("tests/fixtures/video/carphone_pristine.mp4")
}

/// The stdout of a tool run that must have succeeded (else its stderr in the panic).
pub fn succeeded(out: &std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The tiny ActionCLIP checkpoint made by the upstream code.
pub fn tiny_checkpoint() -> PathBuf {
    repo().join("tests/fixtures/tiny/mmaction_clip_tiny.pth")
}

/// Writes `classes` x `videos_per_class` small videos under `dir/data` and `dir/<name>.toml`:
/// ActionCLIP from the tiny checkpoint, 8 frames of 32x32, train and test loaders with
/// batch 2, `AccMetric`; `extra` (train loop, optimizer, hooks tables) is appended.
pub fn setup(dir: &Path, name: &str, classes: usize, videos_per_class: usize, extra: &str) -> PathBuf {
    let data = dir.join("data");
    let opts = DatasetOptions { classes, videos_per_class, frames: 16, width: 48, height: 48, ..Default::default() };
    write_dataset(&data, &opts).unwrap();
    let pipeline = |test_mode: bool| {
        let sample = if test_mode {
            "{ type = \"SampleFrames\", clip_len = 1, frame_interval = 1, num_clips = 8, test_mode = true }"
        } else {
            "{ type = \"SampleFrames\", clip_len = 1, frame_interval = 1, num_clips = 8 }"
        };
        format!(
            "[{{ type = \"DecordInit\" }}, {sample}, {{ type = \"DecordDecode\" }}, {{ type = \"Resize\", scale = [-1, 37] }}, \
             {{ type = \"CenterCrop\", crop_size = 32 }}, {{ type = \"FormatShape\", input_format = \"NCHW\" }}, {{ type = \"PackActionInputs\" }}]"
        )
    };
    let text = format!(
        r#"
randomness = {{ seed = 5 }}
env_cfg = {{ dist_cfg = {{ timeout = 60 }} }}

[model]
type = "ActionClip"
pretrained = "{ckpt}"
labels_or_label_file = "{data}/label_map.txt"
templates_or_template_file = ["a video of {{}}"]

[train_dataloader]
batch_size = 2
num_workers = 1
sampler = {{ type = "DefaultSampler", shuffle = false }}
dataset = {{ type = "VideoDataset", ann_file = "{data}/train_list.txt", data_prefix = {{ video = "{data}" }}, pipeline = {train} }}

[test_dataloader]
batch_size = 2
num_workers = 1
sampler = {{ type = "DefaultSampler", shuffle = false }}
dataset = {{ type = "VideoDataset", ann_file = "{data}/test_list.txt", data_prefix = {{ video = "{data}" }}, pipeline = {test}, test_mode = true }}

[test_evaluator]
type = "AccMetric"
{extra}"#,
        ckpt = tiny_checkpoint().display(),
        data = data.display(),
        train = pipeline(false),
        test = pipeline(true),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `WORK_DIR/metrics.json` as written by `tools/test`.
pub fn metrics(work: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(work.join("metrics.json")).unwrap()).unwrap()
}

/// The per-video records of `tools/test --dump`.
pub fn dumped(path: &Path) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(path).unwrap()).unwrap()
}
