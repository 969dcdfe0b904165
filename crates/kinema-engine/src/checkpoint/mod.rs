//! Training checkpoints, in two formats chosen by `default_hooks.checkpoint.save_format`:
//!
//! * `safetensors` (Kinema's default): the model weights under their `state_dict` names,
//!   the optimizer's tensors under `optimizer/<name>`, and a JSON description (loop
//!   position, seed, scheduler and hook states, the config) in the header. Standard
//!   safetensors tools read the weights.
//! * `pth` ([`pth`]): a `torch.save` archive in MMEngine's layout (`meta`, `state_dict`,
//!   `optimizer`, `message_hub`, `param_schedulers`), which MMAction2's `load_checkpoint`
//!   and `torch.load(weights_only=True)` read; Kinema resumes from it exactly.
//!
//! Both are written atomically: a temporary file in the same folder, fsync, rename, fsync
//! of the folder. A run killed while writing leaves the previous checkpoint and, at worst,
//! a stray `.*.tmp` file that is ignored.

pub mod pth;

use std::path::{Path, PathBuf};

use kinema_torch::checkpoint::{CheckpointFormat, OPTIMIZER_PREFIX};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use crate::EngineError;

/// The format tag written in the description.
pub const FORMAT: &str = "kinema-checkpoint-v1";

/// A checkpoint file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SaveFormat {
    /// Kinema's safetensors (`.safetensors`).
    #[default]
    Safetensors,
    /// A `torch.save` archive in MMEngine's layout (`.pth`).
    Pth,
}

impl SaveFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            SaveFormat::Safetensors => "safetensors",
            SaveFormat::Pth => "pth",
        }
    }

    /// The format a file name asks for (`.pth`/`.pt`, `.safetensors`).
    pub fn from_extension(path: &Path) -> Option<SaveFormat> {
        match path.extension()?.to_str()? {
            "pth" | "pt" => Some(SaveFormat::Pth),
            "safetensors" => Some(SaveFormat::Safetensors),
            _ => None,
        }
    }
}

/// What a checkpoint holds.
pub struct CheckpointData {
    /// Model weights by `state_dict` name.
    pub weights: Vec<(String, Tensor)>,
    /// Optimizer tensors (moments...) by the optimizer's own names.
    pub optimizer: Vec<(String, Tensor)>,
    /// Everything else: `{format, meta: {epoch, iter, config, dataset_meta, ...}, optimizer,
    /// param_schedulers, hooks, message_hub, best}`.
    pub meta: Value,
}

fn checkpoint_error(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> EngineError {
    EngineError::Checkpoint { path: path.to_path_buf(), source: Box::new(e) }
}

/// Writes `data` to `path` atomically, in `format`.
pub fn save(path: &Path, data: &CheckpointData, format: SaveFormat) -> Result<(), EngineError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), source })?;
    }
    match format {
        SaveFormat::Safetensors => {
            let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(data.weights.len() + data.optimizer.len());
            tensors.extend(data.weights.iter().map(|(n, t)| (n.clone(), t.shallow_clone())));
            tensors.extend(data.optimizer.iter().map(|(n, t)| (format!("{OPTIMIZER_PREFIX}{n}"), t.shallow_clone())));
            kinema_torch::checkpoint::save_safetensors(path, &tensors, Some(&data.meta))
                .map_err(|e| checkpoint_error(path, e))
        }
        SaveFormat::Pth => pth::save(path, data),
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), source })?;
    }
    kinema_torch::checkpoint::write_atomically(path, bytes).map_err(|e| checkpoint_error(path, e))
}

/// Reads a training checkpoint written by [`save`] (either format). Other files are an
/// error that says to use `load_from` (weights only) instead.
pub fn load(path: &Path) -> Result<CheckpointData, EngineError> {
    let not_training = |what: String| EngineError::NotATrainingCheckpoint { path: path.to_path_buf(), what };
    let format = kinema_torch::checkpoint::detect_format(path).map_err(|e| checkpoint_error(path, e))?;
    let data = match format {
        CheckpointFormat::Safetensors => {
            let ckpt = kinema_torch::checkpoint::load_safetensors(path).map_err(|e| checkpoint_error(path, e))?;
            let meta = ckpt.meta.unwrap_or(Value::Null);
            let mut weights = Vec::new();
            let mut optimizer = Vec::new();
            for (name, t) in ckpt.tensors {
                match name.strip_prefix(OPTIMIZER_PREFIX) {
                    Some(rest) => optimizer.push((rest.to_string(), t)),
                    None => weights.push((name, t)),
                }
            }
            CheckpointData { weights, optimizer, meta }
        }
        CheckpointFormat::TorchZip => pth::load(path)?,
        other => return Err(not_training(format!("a {other:?} file"))),
    };
    if data.meta.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(not_training(format!("no Kinema training state (format {:?})", data.meta.get("format"))));
    }
    Ok(data)
}

/// `work_dir/last_checkpoint`: the text file naming the newest checkpoint (MMEngine's).
pub fn last_checkpoint_file(work_dir: &Path) -> PathBuf {
    work_dir.join("last_checkpoint")
}

/// The checkpoint `work_dir/last_checkpoint` points to, if the file and its target exist.
pub fn find_last_checkpoint(work_dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(last_checkpoint_file(work_dir)).ok()?;
    let path = PathBuf::from(text.trim());
    let path = if path.is_absolute() || path.exists() { path } else { work_dir.join(path) };
    path.is_file().then_some(path)
}

/// Points `work_dir/last_checkpoint` at `checkpoint` (atomically).
pub fn set_last_checkpoint(work_dir: &Path, checkpoint: &Path) -> Result<(), EngineError> {
    write_atomic(&last_checkpoint_file(work_dir), checkpoint.to_string_lossy().as_bytes())
}
