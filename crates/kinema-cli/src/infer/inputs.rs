//! The command-line arguments shared by the tools that read many videos and long videos
//! (`tools/infer`, `tools/extract_features`): where the videos are, and the window grid.

use std::path::PathBuf;

use clap::Args;

use super::records::read_list;
use super::session::expand_inputs;
use super::windows::WindowGrid;

/// The file extensions a folder is searched for.
pub const VIDEO_EXTENSIONS: &str = "mp4,avi,mkv,mov,webm,m4v,mpg,mpeg,flv,wmv,3gp";

/// `--list`, `--data-prefix`, `--extensions`.
#[derive(Args, Debug, Clone)]
pub struct VideoListArgs {
    /// An MMAction2 list file (`path label` per line) of videos.
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// The folder the paths of `--list` are relative to.
    #[arg(long)]
    pub data_prefix: Option<PathBuf>,
    /// File extensions searched for in folders.
    #[arg(long, value_delimiter = ',', default_value = VIDEO_EXTENSIONS)]
    pub extensions: Vec<String>,
}

impl VideoListArgs {
    /// The videos of `paths` (files, folders searched recursively) and of `--list`.
    pub fn videos(&self, paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
        let mut videos = expand_inputs(paths, &self.extensions)?;
        if let Some(list) = &self.list {
            videos.extend(read_list(list, self.data_prefix.as_deref())?);
        }
        Ok(videos)
    }
}

/// `--frame-interval`, `--sample-fps`, `--stride`: the timeline grid (docs/zero_shot.md).
#[derive(Args, Debug, Clone, Default)]
pub struct GridArgs {
    /// Timeline grid: every k-th frame.
    #[arg(long)]
    pub frame_interval: Option<usize>,
    /// Timeline grid: `k = round(fps / F)`.
    #[arg(long, conflicts_with = "frame_interval")]
    pub sample_fps: Option<f64>,
    /// Grid frames between window starts (default: half the model's frames per clip).
    #[arg(long)]
    pub stride: Option<usize>,
}

impl GridArgs {
    /// Whether any of the three was given.
    pub fn given(&self) -> bool {
        self.frame_interval.is_some() || self.sample_fps.is_some() || self.stride.is_some()
    }

    /// The grid for a video at `fps` with windows of `window` frames (every frame when
    /// neither interval nor rate is given).
    pub fn grid(&self, fps: f64, window: usize) -> anyhow::Result<WindowGrid> {
        let k = match (self.frame_interval, self.sample_fps) {
            (Some(k), _) => k,
            (None, Some(f)) => WindowGrid::interval_for_rate(fps, f)?,
            (None, None) => 1,
        };
        WindowGrid::new(k, window, self.stride)
    }
}
