//! The work-dir layout of one run, as MMEngine lays it out:
//!
//! ```text
//! work_dir/<timestamp>/<timestamp>.log         text log
//! work_dir/<timestamp>/<timestamp>.json        test metrics (one JSON object)
//! work_dir/<timestamp>/vis_data/scalars.json   LocalVisBackend scalars (JSON lines)
//! work_dir/<timestamp>/vis_data/<timestamp>.json  the same lines (LoggerHook's json log)
//! work_dir/<timestamp>/vis_data/config.toml    the run's config
//! work_dir/<timestamp>/vis_data/events.out.tfevents.*  TensorBoard
//! ```

use std::path::{Path, PathBuf};

use crate::error::{LoggingError, Result};

/// `%Y%m%d_%H%M%S` in local time, MMEngine's run timestamp (`20240131_235959`).
pub fn timestamp_now() -> String {
    chrono::Local::now().format("%Y%m%d_%H%M%S").to_string()
}

/// Paths of one run's log files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPaths {
    work_dir: PathBuf,
    timestamp: String,
}

impl RunPaths {
    /// The layout for `work_dir` and a timestamp (from [`timestamp_now`], or rank 0's in
    /// distributed runs). Creates nothing.
    pub fn new(work_dir: impl Into<PathBuf>, timestamp: impl Into<String>) -> Self {
        Self { work_dir: work_dir.into(), timestamp: timestamp.into() }
    }

    /// Creates `log_dir` and `vis_dir`.
    pub fn create_dirs(&self) -> Result<()> {
        let vis = self.vis_dir();
        std::fs::create_dir_all(&vis).map_err(|e| LoggingError::io("create directory", vis, e))
    }

    /// The run's work dir.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// The run's timestamp.
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }

    /// `work_dir/<timestamp>`.
    pub fn log_dir(&self) -> PathBuf {
        self.work_dir.join(&self.timestamp)
    }

    /// `work_dir/<timestamp>/<timestamp>.log`.
    pub fn log_file(&self) -> PathBuf {
        self.log_dir().join(format!("{}.log", self.timestamp))
    }

    /// `work_dir/<timestamp>/<timestamp>.json`: where test metrics are dumped.
    pub fn test_metrics_file(&self) -> PathBuf {
        self.log_dir().join(self.json_log_name())
    }

    /// `work_dir/<timestamp>/vis_data`: the visualizer backends' save dir.
    pub fn vis_dir(&self) -> PathBuf {
        self.log_dir().join("vis_data")
    }

    /// `<timestamp>.json`: the file name of LoggerHook's JSON log (inside `vis_dir`).
    pub fn json_log_name(&self) -> String {
        format!("{}.json", self.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_mmengine() {
        let p = RunPaths::new("/w", "20240131_235959");
        assert_eq!(p.log_dir(), Path::new("/w/20240131_235959"));
        assert_eq!(p.log_file(), Path::new("/w/20240131_235959/20240131_235959.log"));
        assert_eq!(p.test_metrics_file(), Path::new("/w/20240131_235959/20240131_235959.json"));
        assert_eq!(p.vis_dir(), Path::new("/w/20240131_235959/vis_data"));
        assert_eq!(p.json_log_name(), "20240131_235959.json");
        let ts = timestamp_now();
        assert_eq!(ts.len(), 15);
        assert!(ts.chars().enumerate().all(|(i, c)| if i == 8 { c == '_' } else { c.is_ascii_digit() }), "{ts}");
    }
}
