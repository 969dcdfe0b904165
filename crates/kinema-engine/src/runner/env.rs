//! The run's environment: device, seed, process rank, work dir and timestamp
//! (MMEngine's `setup_env` and `set_randomness`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::EngineError;

/// `randomness = { seed, deterministic, diff_rank_seed }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomnessConfig {
    /// The run's seed; `None` draws one (on rank 0, shared with the other ranks).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Ask libtorch for deterministic algorithms.
    #[serde(default)]
    pub deterministic: bool,
    /// Give each rank its own seed (seed + rank).
    #[serde(default)]
    pub diff_rank_seed: bool,
}

/// Where the run is and who it is.
#[derive(Debug, Clone)]
pub struct RunEnv {
    /// The device the model runs on.
    pub device: Device,
    /// The effective seed of this process.
    pub seed: u64,
    /// This process's rank (0 when not distributed).
    pub rank: usize,
    /// The number of processes.
    pub world_size: usize,
    /// `work_dir`: checkpoints and `last_checkpoint` live here.
    pub work_dir: PathBuf,
    /// `work_dir/<timestamp>`: the log file, `vis_data/`, the dumped config.
    pub log_dir: PathBuf,
    /// `%Y%m%d_%H%M%S` of the run's start.
    pub timestamp: String,
    /// `<config stem>_<timestamp>`.
    pub experiment_name: String,
}

impl RunEnv {
    /// True on the process that logs and writes files.
    pub fn is_main(&self) -> bool {
        self.rank == 0
    }
}

/// Picks the device: `cpu` / `cuda` / `cuda:N` when asked, else CUDA when available.
pub fn select_device(requested: Option<&str>, local_rank: usize) -> Result<Device, EngineError> {
    match requested {
        None | Some("auto") => Ok(if tch::Cuda::is_available() { Device::Cuda(local_rank) } else { Device::Cpu }),
        Some("cpu") => Ok(Device::Cpu),
        Some(s) if s == "cuda" || s.starts_with("cuda:") => {
            if !tch::Cuda::is_available() {
                return Err(device_error(
                    s,
                    "CUDA is not available in this build or on this machine (use --device cpu)",
                ));
            }
            let index = match s.strip_prefix("cuda:") {
                Some(n) => n.parse::<usize>().map_err(|_| device_error(s, "expected cuda:N"))?,
                None => local_rank,
            };
            Ok(Device::Cuda(index))
        }
        Some(other) => Err(device_error(other, "expected cpu, cuda, cuda:N or auto")),
    }
}

fn device_error(device: &str, message: &str) -> EngineError {
    EngineError::Option { option: format!("--device {device}"), message: message.into() }
}

/// MMEngine's work-dir rule: the command line, else the config's `work_dir`, else
/// `work_dirs/<config file stem>`.
pub fn resolve_work_dir(cli: Option<&Path>, config_value: Option<&str>, config_path: &Path) -> PathBuf {
    if let Some(p) = cli {
        return p.to_path_buf();
    }
    if let Some(p) = config_value {
        return PathBuf::from(p);
    }
    let stem = config_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    PathBuf::from("work_dirs").join(stem)
}

/// A fresh random seed below 2^31, like MMEngine's.
pub fn draw_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    kinema_core::rng::mix64(nanos as u64 ^ std::process::id() as u64) % (1u64 << 31)
}

/// `%Y%m%d_%H%M%S` in local time.
pub fn timestamp_now() -> String {
    chrono::Local::now().format("%Y%m%d_%H%M%S").to_string()
}

/// `%Y%m%d_%H%M%S` (local time) of a Unix time in seconds.
pub fn format_timestamp(secs: u64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_opt(secs as i64, 0) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.format("%Y%m%d_%H%M%S").to_string(),
        chrono::LocalResult::None => timestamp_now(),
    }
}
