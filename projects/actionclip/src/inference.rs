//! The test pipeline ActionCLIP runs on a video when no config gives one.

use serde_json::{json, Value};

/// MMAction2's ActionCLIP test pipeline for a model with `num_segs` frames per clip and
/// input side `resolution`: `SampleFrames` in test mode, short side resized to
/// `int(resolution * 256 / 224 + 0.5)`, center crop, `NCHW`.
pub fn default_test_pipeline(num_segs: i64, resolution: i64) -> Value {
    let short = (resolution as f64 * 256.0 / 224.0 + 0.5) as i64;
    json!([
        {"type": "DecordInit"},
        {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": num_segs, "test_mode": true},
        {"type": "DecordDecode"},
        {"type": "Resize", "scale": [-1, short]},
        {"type": "CenterCrop", "crop_size": resolution},
        {"type": "FormatShape", "input_format": "NCHW"},
        {"type": "PackActionInputs"}
    ])
}
