//! `LogProcessor`: turns the message hub's histories into MMEngine's log lines and the scalar
//! dicts sent to the visualizer (scalars.json, TensorBoard).

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{LoggingError, Result};
use crate::message_hub::MessageHub;
use crate::pyfmt;
use crate::scalars::{Scalar, ScalarDict};

/// MMEngine's default `mean_pattern`: keys averaged over the window; others show the latest value.
pub const DEFAULT_MEAN_PATTERN: &str = r".*(loss|time|data_time|grad_norm).*";

/// Which loop a line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training (`train/` keys).
    Train,
    /// Validation (`val/` keys).
    Val,
    /// Testing (`test/` keys).
    Test,
}

impl Mode {
    /// `"train"`, `"val"` or `"test"`: the hub-key prefix and the word in `Epoch(train)`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Train => "train",
            Mode::Val => "val",
            Mode::Test => "test",
        }
    }
}

/// The `log_processor` config table (`[log_processor]`, MMAction2 uses `window_size = 20`).
/// `custom_cfg` is not supported.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogProcessorConfig {
    /// Registry type; only `"LogProcessor"` exists.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Number of latest values averaged for keys matching `mean_pattern` (MMEngine default 10).
    pub window_size: usize,
    /// `Epoch(train) [e][i/len]` headers (true) or `Iter(train) [i/max_iters]` (false).
    pub by_epoch: bool,
    /// Decimals of float values (`{:.4f}`) and of learning rates (`{:.4e}`).
    pub num_digits: usize,
    /// Keep the `train/`, `val/`, `test/` prefix in the returned scalar dicts.
    pub log_with_hierarchy: bool,
    /// Regular expression (searched, not anchored) selecting windowed-mean keys.
    pub mean_pattern: String,
}

impl Default for LogProcessorConfig {
    fn default() -> Self {
        Self {
            kind: None,
            window_size: 10,
            by_epoch: true,
            num_digits: 4,
            log_with_hierarchy: false,
            mean_pattern: DEFAULT_MEAN_PATTERN.to_string(),
        }
    }
}

/// The runner's position, as MMEngine's `LogProcessor` reads it from the runner.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoopState {
    /// 0-based index of the current batch in this loop's dataloader.
    pub batch_idx: usize,
    /// Number of batches in this loop's dataloader.
    pub dataloader_len: usize,
    /// `runner.epoch`: completed train epochs (during training, the 0-based current epoch;
    /// during the validation after epoch k, k).
    pub epoch: usize,
    /// `runner.iter`: completed train iterations (during a train iteration, its 0-based index).
    pub iter: usize,
    /// `max_epochs` of the train loop; `None` when the runner has no train loop (test or
    /// val only), which makes the logged epoch and iter 0.
    pub max_epochs: Option<usize>,
    /// `max_iters` of the train loop (needed by iteration-based train lines).
    pub max_iters: usize,
    /// Seconds left, from [`crate::IterTimer`]; shown only when `time` and `data_time` are logged.
    pub eta_secs: Option<f64>,
    /// Peak accelerator memory in MB; shown and logged only when `Some` (MMEngine: CUDA only).
    pub memory_mb: Option<u64>,
}

/// A formatted log line and the scalars to send to the visualizer.
#[derive(Debug, Clone, PartialEq)]
pub struct LogOutput {
    /// Scalars for `Visualizer::add_scalars` (train: `step = iter + 1`; val: `step = epoch`).
    pub tag: ScalarDict,
    /// The line for the text log.
    pub line: String,
}

/// Formats log lines like MMEngine's `LogProcessor`.
#[derive(Debug, Clone)]
pub struct LogProcessor {
    config: LogProcessorConfig,
    mean_pattern: Regex,
}

impl LogProcessor {
    /// Validates `config` (window_size ≥ 1, a valid `mean_pattern`, type `LogProcessor`).
    pub fn new(config: LogProcessorConfig) -> Result<Self> {
        if let Some(kind) = config.kind.as_deref().filter(|k| *k != "LogProcessor") {
            return Err(LoggingError::InvalidSetting {
                name: "log_processor.type",
                reason: format!("{kind:?} is unknown; only \"LogProcessor\" exists"),
            });
        }
        if config.window_size == 0 {
            return Err(LoggingError::InvalidSetting {
                name: "log_processor.window_size",
                reason: "must be at least 1".to_string(),
            });
        }
        let mean_pattern = Regex::new(&config.mean_pattern)
            .map_err(|e| LoggingError::InvalidSetting { name: "log_processor.mean_pattern", reason: e.to_string() })?;
        Ok(Self { config, mean_pattern })
    }

    /// The configuration in use.
    pub fn config(&self) -> &LogProcessorConfig {
        &self.config
    }

    /// The line logged every `interval` iterations (`get_log_after_iter`), e.g.
    /// `Epoch(train)  [1][ 20/270]  base_lr: 5.0000e-08 lr: 5.0000e-08  eta: 1:02:03  time: 1.2345
    /// data_time: 0.1234  memory: 12345  loss: 1.2345  sim_loss_v2t: 0.6172` (one line).
    pub fn after_iter(&self, hub: &MessageHub, mode: Mode, state: &LoopState) -> LogOutput {
        let digits = self.config.num_digits;
        let mut log_tag = self.collect(hub, mode, false, None);
        let mut tag =
            if self.config.log_with_hierarchy { self.collect(hub, mode, true, None) } else { log_tag.clone() };

        let prefix = format!("{}/", mode.as_str());
        let mut lr_parts = Vec::new();
        for (key, value) in tag.iter() {
            if key.ends_with("lr") {
                let short = key.strip_prefix(&prefix).unwrap_or(key);
                log_tag.remove(short);
                lr_parts.push(format!("{short}: {}", pyfmt::scientific(value.as_f64(), digits)));
            }
        }

        let has_train_loop = state.max_epochs.is_some();
        let mut line = if self.config.by_epoch {
            let width = state.dataloader_len.to_string().len();
            let cur_iter = format!("{:>width$}", state.batch_idx + 1);
            match mode {
                Mode::Train | Mode::Val => {
                    let epoch = match mode {
                        Mode::Train => state.epoch + 1,
                        _ if has_train_loop => state.epoch,
                        _ => 0,
                    };
                    let epoch_str = match state.max_epochs {
                        Some(max) => format!("{:>w$}", format!("[{epoch}]"), w = max.to_string().len() + 3),
                        None => format!("[{epoch}]"),
                    };
                    tag.insert("epoch", epoch);
                    format!("Epoch({}){epoch_str}[{cur_iter}/{}]  ", mode.as_str(), state.dataloader_len)
                }
                Mode::Test => format!("Epoch(test) [{cur_iter}/{}]  ", state.dataloader_len),
            }
        } else if mode == Mode::Train {
            let width = state.max_iters.to_string().len();
            format!("Iter(train) [{:>width$}/{}]  ", state.iter + 1, state.max_iters)
        } else {
            let width = state.dataloader_len.to_string().len();
            format!("Iter({}) [{:>width$}/{}]  ", mode.as_str(), state.batch_idx + 1, state.dataloader_len)
        };
        tag.insert("iter", if has_train_loop { state.iter + 1 } else { 0 });
        line.push_str(&lr_parts.join(" "));
        line.push_str("  ");

        if let (Some(time), Some(data_time), Some(eta)) =
            (log_tag.get("time"), log_tag.get("data_time"), state.eta_secs)
        {
            line.push_str(&format!(
                "eta: {}  time: {}  data_time: {}  ",
                pyfmt::timedelta(eta),
                pyfmt::fixed(time.as_f64(), digits),
                pyfmt::fixed(data_time.as_f64(), digits)
            ));
            log_tag.remove("time");
            log_tag.remove("data_time");
        }
        if let Some(memory) = state.memory_mb {
            line.push_str(&format!("memory: {memory}  "));
            tag.insert("memory", memory);
        }
        // MMEngine prints the remaining keys for train only (for val it filters on a prefix
        // that its own prefix removal has already stripped).
        if mode == Mode::Train {
            let items: Vec<String> = log_tag.iter().map(|(k, v)| format!("{k}: {}", format_value(v, digits))).collect();
            line.push_str(&items.join("  "));
        }
        LogOutput { tag, line }
    }

    /// The summary after a val or test epoch (`get_log_after_epoch`), e.g.
    /// `Epoch(val) [1][79/79]    acc/top1: 0.8000  acc/top5: 0.9500  data_time: 0.0123  time: 0.1234`.
    /// `time` and `data_time` are averaged over the epoch (the last `dataloader_len` values;
    /// MMEngine's window is one longer and so mixes in one value of the previous epoch) and
    /// moved to the end. Train mode is formatted like val.
    pub fn after_epoch(&self, hub: &MessageHub, mode: Mode, state: &LoopState) -> LogOutput {
        let digits = self.config.num_digits;
        let n = state.dataloader_len;
        let mut line = if !self.config.by_epoch {
            format!("Iter({}) [{n}/{n}]  ", mode.as_str())
        } else if mode == Mode::Test {
            format!("Epoch(test) [{n}/{n}]  ")
        } else {
            let epoch = if state.max_epochs.is_some() { state.epoch } else { 0 };
            format!("Epoch({}) [{epoch}][{n}/{n}]  ", mode.as_str())
        };
        let all = self.collect(hub, mode, self.config.log_with_hierarchy, Some(n.max(1)));
        let prefix = format!("{}/", mode.as_str());
        let is_time = |k: &str| matches!(k.strip_prefix(&prefix).unwrap_or(k), "time" | "data_time");
        let mut tag: ScalarDict = all.iter().filter(|(k, _)| !is_time(k)).collect();
        let time_tag: ScalarDict = all.iter().filter(|(k, _)| is_time(k)).collect();
        let items: Vec<String> =
            tag.iter().chain(time_tag.iter()).map(|(k, v)| format!("{k}: {}", format_value(v, digits))).collect();
        line.push_str("  ");
        line.push_str(&items.join("  "));
        for (k, v) in time_tag.iter() {
            tag.insert(k, v);
        }
        LogOutput { tag, line }
    }

    /// The hub's `mode/` scalars: windowed means for keys matching `mean_pattern`, the latest
    /// value otherwise; `time`/`data_time` over `time_window` when given.
    fn collect(&self, hub: &MessageHub, mode: Mode, keep_prefix: bool, time_window: Option<usize>) -> ScalarDict {
        let prefix = format!("{}/", mode.as_str());
        let mut out = ScalarDict::new();
        for (full_key, history) in hub.scalars() {
            let Some(short) = full_key.strip_prefix(&prefix) else { continue };
            let value = match time_window {
                Some(window) if matches!(short, "time" | "data_time") => history.mean(window),
                _ if self.mean_pattern.is_match(short) => history.mean(self.config.window_size),
                _ => history.current(),
            };
            out.insert(if keep_prefix { full_key } else { short }, value.unwrap_or(f64::NAN));
        }
        out
    }
}

fn format_value(value: Scalar, digits: usize) -> String {
    match value {
        Scalar::Int(v) => v.to_string(),
        Scalar::Float(v) => pyfmt::fixed(v, digits),
    }
}
