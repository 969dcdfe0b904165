//! Reading a run's `scalars.json` (or `<timestamp>.json`) into curves and timing statistics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{LoggingError, Result};
use crate::json_lines;
use crate::scalars::ScalarDict;

/// The entries of one JSON-lines scalar log. Train entries carry an `iter` key (and `epoch`,
/// `step` = iter); val entries carry metrics and `step` = epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonLog {
    path: PathBuf,
    entries: Vec<ScalarDict>,
}

/// Whether a curve's x axis counts train iterations or epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// Train entries: x is the global iteration.
    Iter,
    /// Val entries: x is the epoch (the entry's `step`).
    Epoch,
}

impl XAxis {
    /// `"iter"` or `"epoch"`.
    pub fn label(self) -> &'static str {
        match self {
            XAxis::Iter => "iter",
            XAxis::Epoch => "epoch",
        }
    }
}

/// One key's values over training.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The key.
    pub key: String,
    /// What x counts.
    pub x_axis: XAxis,
    /// (x, value) in file order.
    pub points: Vec<(f64, f64)>,
}

/// Per-epoch iteration times of a log (MMAction2's `cal_train_time`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTimeStats {
    /// (epoch, mean `time` of its logged train entries), by epoch.
    pub epoch_means: Vec<(i64, f64)>,
    /// Mean of all the times used.
    pub mean_iter_time: f64,
    /// Population standard deviation of the epoch means.
    pub std_over_epochs: f64,
}

impl JsonLog {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self { path: path.to_path_buf(), entries: json_lines::read_file(path)? })
    }

    /// Wraps entries already in memory (`path` is used in messages).
    pub fn from_entries(path: impl Into<PathBuf>, entries: Vec<ScalarDict>) -> Self {
        Self { path: path.into(), entries }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries in file order.
    pub fn entries(&self) -> &[ScalarDict] {
        &self.entries
    }

    /// The values of `key`: from train entries against `iter` when any train entry has it
    /// (losses, lr, time), else from val entries against their `step`, the epoch
    /// (`acc/top1`). Fails when no entry has the key.
    pub fn curve(&self, key: &str) -> Result<Curve> {
        let train: Vec<(f64, f64)> =
            self.entries.iter().filter_map(|e| Some((e.get("iter")?.as_f64(), e.get(key)?.as_f64()))).collect();
        if !train.is_empty() {
            return Ok(Curve { key: key.to_string(), x_axis: XAxis::Iter, points: train });
        }
        let val: Vec<(f64, f64)> = self
            .entries
            .iter()
            .filter(|e| !e.contains_key("iter"))
            .filter_map(|e| Some((e.get("step")?.as_f64(), e.get(key)?.as_f64())))
            .collect();
        if val.is_empty() {
            return Err(LoggingError::MissingKey {
                path: self.path.clone(),
                key: key.to_string(),
                available: self.keys().join(", "),
            });
        }
        Ok(Curve { key: key.to_string(), x_axis: XAxis::Epoch, points: val })
    }

    /// Every key of the file, in first-seen order (without `step`).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for entry in &self.entries {
            for key in entry.keys() {
                if key != "step" && !keys.iter().any(|k| k == key) {
                    keys.push(key.to_string());
                }
            }
        }
        keys
    }

    /// Mean train iteration time per epoch. The first logged entry of each epoch is left out
    /// unless `include_outliers` (it includes start-up costs). `None` without train entries.
    pub fn train_time(&self, include_outliers: bool) -> Option<TrainTimeStats> {
        let mut by_epoch: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for entry in self.entries.iter().filter(|e| e.contains_key("iter")) {
            if let (Some(epoch), Some(time)) = (entry.get("epoch"), entry.get("time")) {
                by_epoch.entry(epoch.as_f64() as i64).or_default().push(time.as_f64());
            }
        }
        let mut epoch_means = Vec::new();
        let mut all = Vec::new();
        for (epoch, times) in by_epoch {
            let used = if include_outliers || times.len() < 2 { &times[..] } else { &times[1..] };
            epoch_means.push((epoch, used.iter().sum::<f64>() / used.len() as f64));
            all.extend_from_slice(used);
        }
        if epoch_means.is_empty() {
            return None;
        }
        let n = epoch_means.len() as f64;
        let mean_of_means = epoch_means.iter().map(|(_, m)| m).sum::<f64>() / n;
        let variance = epoch_means.iter().map(|(_, m)| (m - mean_of_means).powi(2)).sum::<f64>() / n;
        Some(TrainTimeStats {
            epoch_means,
            mean_iter_time: all.iter().sum::<f64>() / all.len() as f64,
            std_over_epochs: variance.sqrt(),
        })
    }
}
