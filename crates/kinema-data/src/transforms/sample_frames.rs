//! `SampleFrames`: which frames of a video make the clips (MMAction2's exact index
//! formulas in train and test mode).

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::TransformError;
use crate::sample::Sample;
use crate::transform::{Transform, TransformKind};

/// What to do with indices past the last frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutOfBound {
    /// Wrap around: index modulo the frame count.
    #[default]
    Loop,
    /// Replace by the clip's last valid index.
    RepeatLast,
}

/// Samples frame indices for `num_clips` clips of `clip_len` frames taken every
/// `frame_interval` frames (MMAction2 `SampleFrames`). Sets `frame_inds`, `clip_len`,
/// `frame_interval` and `num_clips`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleFramesConfig {
    /// Frames per clip.
    pub clip_len: usize,
    /// Step between the frames of a clip.
    #[serde(default = "one")]
    pub frame_interval: usize,
    /// Number of clips.
    #[serde(default = "one")]
    pub num_clips: usize,
    /// Add a random shift in `[0, frame_interval)` to every index.
    #[serde(default)]
    pub temporal_jitter: bool,
    /// Test mode: also sample the clips without the half-interval shift (2D) or twice
    /// as many offsets (3D), as TSM's testing does.
    #[serde(default)]
    pub twice_sample: bool,
    /// `loop` or `repeat_last`.
    #[serde(default)]
    pub out_of_bound_opt: OutOfBound,
    /// Deterministic evenly spaced clips (validation and test).
    #[serde(default)]
    pub test_mode: bool,
    /// Train mode: spread clips over the whole video instead of dropping the tail.
    #[serde(default)]
    pub keep_tail_frames: bool,
    /// Resample the video to this frame rate first (PySlowFast style).
    #[serde(default)]
    pub target_fps: Option<f64>,
    /// Accepted and ignored, as upstream does: the dataset's `start_index` is used.
    #[serde(default)]
    pub start_index: Option<i64>,
}

fn one() -> usize {
    1
}

/// The built transform.
pub struct SampleFrames {
    cfg: SampleFramesConfig,
}

impl SampleFrames {
    /// A transform with the given config (checked like the registry does).
    pub fn new(cfg: SampleFramesConfig) -> Result<Self, FieldError> {
        FieldError::check_positive(&[
            ("clip_len", cfg.clip_len as u64),
            ("frame_interval", cfg.frame_interval as u64),
            ("num_clips", cfg.num_clips as u64),
        ])?;
        let max = kinema_video::limits::MAX_SAMPLE_FRAMES;
        let twice = if cfg.twice_sample { 2 } else { 1 };
        if cfg.clip_len.checked_mul(cfg.num_clips).and_then(|n| n.checked_mul(twice)).is_none_or(|n| n > max) {
            let field = if cfg.num_clips >= cfg.clip_len { "num_clips" } else { "clip_len" };
            return Err(FieldError::new(
                field,
                format!(
                    "clip_len {} x num_clips {}{} asks for more than {max} frames per sample",
                    cfg.clip_len,
                    cfg.num_clips,
                    if cfg.twice_sample { " x 2 (twice_sample)" } else { "" }
                ),
            ));
        }
        if cfg.frame_interval > u32::MAX as usize {
            return Err(FieldError::new(
                "frame_interval",
                format!("frame_interval {} is larger than any video", cfg.frame_interval),
            ));
        }
        if cfg.test_mode && cfg.twice_sample && cfg.clip_len > 1 && cfg.num_clips == 1 {
            return Err(FieldError::new(
                "twice_sample",
                "twice_sample with clip_len > 1 needs num_clips > 1 (upstream divides by num_clips - 1)",
            ));
        }
        if matches!(cfg.target_fps, Some(f) if !(f > 0.0 && f.is_finite())) {
            return Err(FieldError::new("target_fps", "target_fps must be a positive number"));
        }
        Ok(SampleFrames { cfg })
    }
}

impl Component<TransformKind> for SampleFrames {
    type Config = SampleFramesConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        if config.start_index.is_some() {
            log::warn!("SampleFrames: `start_index` is ignored (as in MMAction2); set the dataset's `start_index`");
        }
        Ok(Box::new(SampleFrames::new(config.clone())?))
    }
}

kinema_core::register!(TransformKind, "SampleFrames", SampleFrames);

impl Transform for SampleFrames {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        let total = s.total_frames.ok_or(TransformError::Missing("total_frames"))?;
        let inds = sample_frame_indices(&self.cfg, total, s.avg_fps, s.start_index, rng)?;
        s.frame_inds = Some(inds);
        s.clip_len = Some(self.cfg.clip_len);
        s.frame_interval = Some(self.cfg.frame_interval);
        s.num_clips = Some(self.cfg.num_clips);
        Ok(())
    }
}

/// The frame indices MMAction2's `SampleFrames` produces for a video of `total_frames`
/// frames (`start_index` added, truncated like the int32 cast). Random draws come from
/// `rng` (numpy's global RNG upstream), so train-mode values differ from upstream's but
/// follow the same distribution.
pub fn sample_frame_indices(
    cfg: &SampleFramesConfig,
    total_frames: usize,
    avg_fps: Option<f64>,
    start_index: i64,
    rng: &mut impl Rng,
) -> Result<Vec<i64>, TransformError> {
    if total_frames == 0 {
        return Err(TransformError::Invalid("the video has 0 frames".into()));
    }
    let n_frames = total_frames as f64;
    let fps_ratio = match (cfg.target_fps, avg_fps) {
        (Some(t), Some(f)) if f > 0.0 => f / t,
        _ => 1.0,
    };
    let ori = ori_clip_len(cfg, fps_ratio);
    let offsets = if cfg.test_mode { test_offsets(cfg, n_frames, ori) } else { train_offsets(cfg, n_frames, ori, rng) };

    let clip_len = cfg.clip_len;
    let mut inds: Vec<f64> = Vec::with_capacity(offsets.len() * clip_len);
    for &o in &offsets {
        for j in 0..clip_len {
            let step = if cfg.target_fps.is_some() {
                linspace_trunc(ori - 1.0, clip_len, j)
            } else {
                (j * cfg.frame_interval) as f64
            };
            inds.push(o + step);
        }
    }
    if cfg.temporal_jitter {
        for v in inds.iter_mut() {
            *v += rng.random_range(0..cfg.frame_interval) as f64;
        }
    }
    match cfg.out_of_bound_opt {
        OutOfBound::Loop => {
            for v in inds.iter_mut() {
                *v = v.rem_euclid(n_frames);
            }
        }
        OutOfBound::RepeatLast => {
            for clip in inds.chunks_mut(clip_len) {
                let last = clip.iter().filter(|&&v| v < n_frames).fold(0.0f64, |a, &v| a.max(v));
                for v in clip.iter_mut() {
                    if *v >= n_frames {
                        *v = last;
                    }
                }
            }
        }
    }
    Ok(inds.into_iter().map(|v| (v + start_index as f64).trunc() as i64).collect())
}

fn ori_clip_len(cfg: &SampleFramesConfig, fps_ratio: f64) -> f64 {
    if cfg.target_fps.is_some() {
        ((cfg.clip_len * cfg.frame_interval) as f64 * fps_ratio).max(1.0)
    } else if cfg.test_mode {
        ((cfg.clip_len - 1) * cfg.frame_interval + 1) as f64
    } else {
        (cfg.clip_len * cfg.frame_interval) as f64
    }
}

/// `int32(linspace(0, stop, num)[j])`: numpy computes `j * (stop / (num - 1))` and
/// sets the last value to `stop` exactly.
fn linspace_trunc(stop: f64, num: usize, j: usize) -> f64 {
    if num <= 1 {
        return 0.0;
    }
    let v = if j == num - 1 { stop } else { j as f64 * (stop / (num - 1) as f64) };
    v.trunc()
}

fn train_offsets(cfg: &SampleFramesConfig, n: f64, ori: f64, rng: &mut impl Rng) -> Vec<f64> {
    let clips = cfg.num_clips;
    let nc = clips as f64;
    if cfg.keep_tail_frames {
        let avg = (n - ori + 1.0) / nc;
        if n > ori - 1.0 {
            return (0..clips)
                .map(|i| {
                    let u = if avg > 0.0 { rng.random::<f64>() * avg } else { 0.0 };
                    (i as f64 * avg + u).trunc()
                })
                .collect();
        }
        return vec![0.0; clips];
    }
    let avg = ((n - ori + 1.0) / nc).floor();
    if avg > 0.0 {
        let a = avg as u64;
        (0..clips).map(|i| i as f64 * avg + rng.random_range(0..a) as f64).collect()
    } else if n > nc.max(ori) {
        let high = (n - ori + 1.0) as u64;
        let mut v: Vec<f64> = (0..clips).map(|_| rng.random_range(0..high.max(1)) as f64).collect();
        v.sort_by(f64::total_cmp);
        v
    } else if avg == 0.0 {
        let ratio = (n - ori + 1.0) / nc;
        (0..clips).map(|i| (i as f64 * ratio).round_ties_even()).collect()
    } else {
        vec![0.0; clips]
    }
}

fn test_offsets(cfg: &SampleFramesConfig, n: f64, ori: f64) -> Vec<f64> {
    let clips = cfg.num_clips;
    if cfg.clip_len == 1 {
        let avg = n / clips as f64;
        let base: Vec<f64> = (0..clips).map(|i| i as f64 * avg).collect();
        let mut out: Vec<f64> = base.iter().map(|b| b + avg / 2.0).collect();
        if cfg.twice_sample {
            out.extend(base);
        }
        return out;
    }
    let max_offset = (n - ori).max(0.0);
    let count = if cfg.twice_sample { clips * 2 } else { clips };
    if count > 1 {
        // Upstream divides by num_clips - 1 even when twice_sample doubles the count;
        // num_clips == 1 with twice_sample is rejected when building.
        let segments = (clips.max(2) - 1) as f64;
        if cfg.target_fps.is_some() {
            let between = (max_offset / segments).floor();
            (0..count).map(|i| i as f64 * between).collect()
        } else {
            let between = max_offset / segments;
            (0..count).map(|i| (i as f64 * between).round_ties_even()).collect()
        }
    } else {
        vec![(max_offset / 2.0).floor()]
    }
}
