//! Writing a whole synthetic dataset: videos, split lists, label map.

use std::path::{Path, PathBuf};

use super::motion::Motion;
use super::scene::Scene;
use crate::writer::{Codec, VideoWriter, WriterOptions};
use crate::VideoError;

/// Why a dataset could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The options are out of range.
    #[error("invalid synthetic dataset options: {0}")]
    InvalidOptions(String),
    /// A file or directory could not be written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A video could not be encoded.
    #[error(transparent)]
    Video(#[from] VideoError),
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetOptions {
    /// Number of classes, the first N of [`Motion::ALL`] (1..=12; default 8).
    pub classes: usize,
    /// Videos per class (at least 3: one per split; default 60: 42 train, 9 val, 9 test).
    pub videos_per_class: usize,
    /// Frames per video (at least 8; default 32).
    pub frames: usize,
    /// Frame width (even, 16..=1024; default 64).
    pub width: u32,
    /// Frame height (even, 16..=1024; default 64).
    pub height: u32,
    /// Frames per second written in the files (default 16).
    pub fps: u32,
    /// Seed of everything random (default 0).
    pub seed: u64,
    /// Encoder (default: H.264 when available).
    pub codec: Codec,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            classes: 8,
            videos_per_class: 60,
            frames: 32,
            width: 64,
            height: 64,
            fps: 16,
            seed: 0,
            codec: Codec::Auto,
        }
    }
}

/// A dataset split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training videos.
    Train,
    /// Validation videos.
    Val,
    /// Held-out test videos.
    Test,
}

impl Split {
    /// The annotation file name, e.g. `"train_list.txt"`.
    pub fn list_file(self) -> &'static str {
        match self {
            Split::Train => "train_list.txt",
            Split::Val => "val_list.txt",
            Split::Test => "test_list.txt",
        }
    }
}

/// What [`write_dataset`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSummary {
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// Videos per split: (train, val, test).
    pub split_sizes: (usize, usize, usize),
    /// The encoder used.
    pub codec: &'static str,
}

impl DatasetOptions {
    /// Checks ranges; the error says which option and what is allowed.
    pub fn validate(&self) -> Result<(), DatasetError> {
        let bad = |m: String| Err(DatasetError::InvalidOptions(m));
        if !(1..=Motion::ALL.len()).contains(&self.classes) {
            return bad(format!("classes must be 1..={}, got {}", Motion::ALL.len(), self.classes));
        }
        if self.videos_per_class < 3 {
            return bad(format!("videos-per-class must be at least 3 (one per split), got {}", self.videos_per_class));
        }
        if !(8..=10_000).contains(&self.frames) {
            return bad(format!("frames must be 8..=10000, got {}", self.frames));
        }
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if !(16..=1024).contains(&v) || v % 2 == 1 {
                return bad(format!("{name} must be even and 16..=1024, got {v}"));
            }
        }
        if !(1..=240).contains(&self.fps) {
            return bad(format!("fps must be 1..=240, got {}", self.fps));
        }
        Ok(())
    }

    /// Videos of one class per split: about 70 % / 15 % / 15 %, at least one each.
    pub fn split_counts(&self) -> (usize, usize, usize) {
        let n = self.videos_per_class;
        let held = ((n as f64 * 0.15).round() as usize).max(1);
        (n - 2 * held, held, held)
    }
}

/// Seed of video `video` of class `class`: independent of the other options.
fn video_seed(seed: u64, class: usize, video: usize) -> u64 {
    // splitmix64 over the three numbers.
    let mut z = seed ^ ((class as u64) << 32) ^ (video as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The scene of video `video` of class `class` under `options` (what [`write_dataset`] renders).
pub fn scene_for(options: &DatasetOptions, class: usize, video: usize) -> Scene {
    let motion = Motion::ALL[class % Motion::ALL.len()];
    let seed = video_seed(options.seed, class, video);
    Scene::random(motion, options.width as usize, options.height as usize, options.frames, seed)
}

/// Which split video `video` of a class goes to.
fn split_of(options: &DatasetOptions, video: usize) -> Split {
    let (train, val, _) = options.split_counts();
    if video < train {
        Split::Train
    } else if video < train + val {
        Split::Val
    } else {
        Split::Test
    }
}

/// Writes the dataset into `out_dir` (created if missing; existing files are overwritten).
pub fn write_dataset(out_dir: &Path, options: &DatasetOptions) -> Result<DatasetSummary, DatasetError> {
    options.validate()?;
    let io = |path: &Path, action: &'static str| {
        let path = path.to_path_buf();
        move |source| DatasetError::Io { path, action, source }
    };
    let classes = &Motion::ALL[..options.classes];
    for motion in classes {
        let dir = out_dir.join("videos").join(motion.slug());
        std::fs::create_dir_all(&dir).map_err(io(&dir, "creating the directory"))?;
    }
    // Every video is independent (its own seed, CPU-independent encoder): written in
    // parallel, listed in order, so the files and lists are the same on any core count.
    use rayon::prelude::*;
    let jobs: Vec<(usize, usize)> =
        (0..classes.len()).flat_map(|label| (0..options.videos_per_class).map(move |video| (label, video))).collect();
    let written: Vec<(usize, String, &'static str)> = jobs
        .par_iter()
        .map(|&(label, video)| {
            let slug = classes[label].slug();
            let rel = format!("videos/{slug}/{slug}_{video:03}.mp4");
            let codec = write_scene(&out_dir.join(&rel), &scene_for(options, label, video), options)?;
            Ok((split_of(options, video) as usize, format!("{rel} {label}\n"), codec))
        })
        .collect::<Result<_, DatasetError>>()?;
    let mut lists = [String::new(), String::new(), String::new()];
    let mut codec = "";
    for (split, line, c) in written {
        lists[split].push_str(&line);
        codec = c;
    }
    for (label, motion) in classes.iter().enumerate() {
        log::info!(
            "{}: wrote {} videos of class {label} ({})",
            out_dir.display(),
            options.videos_per_class,
            motion.name()
        );
    }
    for (split, text) in [Split::Train, Split::Val, Split::Test].into_iter().zip(&lists) {
        let path = out_dir.join(split.list_file());
        std::fs::write(&path, text).map_err(io(&path, "writing the annotation list"))?;
    }
    let names: Vec<String> = classes.iter().map(|m| m.name().to_string()).collect();
    let path = out_dir.join("label_map.txt");
    std::fs::write(&path, names.join("\n") + "\n").map_err(io(&path, "writing the label map"))?;
    let (train, val, test) = options.split_counts();
    let k = options.classes;
    Ok(DatasetSummary { class_names: names, split_sizes: (train * k, val * k, test * k), codec })
}

/// Renders `scene` and encodes it to `path`; returns the encoder's name.
fn write_scene(path: &Path, scene: &Scene, options: &DatasetOptions) -> Result<&'static str, DatasetError> {
    let mut writer_options = WriterOptions::new(options.width, options.height, options.fps);
    writer_options.codec = options.codec;
    let mut writer = VideoWriter::create(path, &writer_options)?;
    let frames = scene.render();
    let frame_bytes = scene.width * scene.height * 3;
    for frame in frames.chunks_exact(frame_bytes) {
        writer.write_frame(frame)?;
    }
    let codec = writer.codec_name();
    writer.finish()?;
    Ok(codec)
}

/// Parses `"WxH"` (e.g. `"64x64"`) into (width, height).
pub fn parse_size(text: &str) -> Result<(u32, u32), DatasetError> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    parsed
        .ok_or_else(|| DatasetError::InvalidOptions(format!("size must look like 64x64 (WIDTHxHEIGHT), got {text:?}")))
}
