//! `LocalVisBackend`: scalars as JSON lines in `vis_data/scalars.json`, the config as a file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::VisBackend;
use crate::error::{LoggingError, Result};
use crate::json_lines::to_python_json;
use crate::scalars::ScalarDict;

/// MMEngine's `LocalVisBackend`: every `add_scalars` appends one JSON line (the dict plus
/// `"step"` unless present) to `save_dir/scalars.json` and, when set, to
/// `save_dir/<json log name>` (LoggerHook's `<timestamp>.json`). Files are opened per write
/// in append mode, so a killed run keeps every line written.
#[derive(Debug, Clone)]
pub struct LocalVisBackend {
    save_dir: PathBuf,
    scalar_file: String,
    json_log: Option<String>,
    config_file: String,
}

impl LocalVisBackend {
    /// Writes into `save_dir` (created on first write): `scalars.json`, `config.toml`.
    pub fn new(save_dir: impl Into<PathBuf>) -> Self {
        Self {
            save_dir: save_dir.into(),
            scalar_file: "scalars.json".to_string(),
            json_log: None,
            config_file: "config.toml".to_string(),
        }
    }

    /// Also appends every line to `save_dir/<name>` (MMEngine: `<timestamp>.json`).
    pub fn with_json_log(mut self, name: impl Into<String>) -> Self {
        self.json_log = Some(name.into());
        self
    }

    /// Uses another scalar file name than `scalars.json`.
    pub fn with_scalar_file(mut self, name: impl Into<String>) -> Self {
        self.scalar_file = name.into();
        self
    }

    /// Uses another config file name than `config.toml`.
    pub fn with_config_file(mut self, name: impl Into<String>) -> Self {
        self.config_file = name.into();
        self
    }

    /// `save_dir/scalars.json`.
    pub fn scalar_path(&self) -> PathBuf {
        self.save_dir.join(&self.scalar_file)
    }

    /// `save_dir/<json log name>`, if set.
    pub fn json_log_path(&self) -> Option<PathBuf> {
        self.json_log.as_ref().map(|n| self.save_dir.join(n))
    }

    fn ensure_dir(&self) -> Result<()> {
        std::fs::create_dir_all(&self.save_dir).map_err(|e| LoggingError::io("create directory", &self.save_dir, e))
    }
}

/// Appends `line` and a newline to `path` in one write.
fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut file =
        OpenOptions::new().create(true).append(true).open(path).map_err(|e| LoggingError::io("open", path, e))?;
    file.write_all(format!("{line}\n").as_bytes()).map_err(|e| LoggingError::io("write", path, e))
}

/// Dumps test metrics as one JSON object (no newline) to `path`, like MMEngine's
/// `LoggerHook.after_test_epoch` writes `log_dir/<timestamp>.json`.
pub fn write_test_metrics(path: &Path, metrics: &ScalarDict) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| LoggingError::io("create directory", dir, e))?;
    }
    std::fs::write(path, to_python_json(metrics)).map_err(|e| LoggingError::io("write", path, e))
}

impl VisBackend for LocalVisBackend {
    fn name(&self) -> &'static str {
        "LocalVisBackend"
    }

    fn add_config(&mut self, text: &str) -> Result<()> {
        self.ensure_dir()?;
        let path = self.save_dir.join(&self.config_file);
        std::fs::write(&path, text).map_err(|e| LoggingError::io("write", &path, e))
    }

    fn add_scalars(&mut self, scalars: &ScalarDict, step: u64) -> Result<()> {
        self.ensure_dir()?;
        let mut dict = scalars.clone();
        dict.set_default("step", step);
        let line = to_python_json(&dict);
        if let Some(path) = self.json_log_path() {
            append_line(&path, &line)?;
        }
        append_line(&self.scalar_path(), &line)
    }
}
