//! Training checkpoints in Kinema's format: one safetensors file holding the model
//! weights under their `state_dict` names and the optimizer's tensors under
//! `optimizer/<name>`, with a JSON header entry `kinema` describing everything else
//! (loop position, seed, scheduler and hook states, the config). Standard safetensors
//! tools read the weights; `tools/infer` and `load_from` accept the file directly.
//!
//! Files are written atomically: a temporary file in the same folder, fsync, rename,
//! fsync of the folder. A run killed while writing leaves the previous checkpoint and,
//! at worst, a stray `.*.tmp` file that is ignored.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tch::Tensor;

use crate::EngineError;

/// The format tag written in the description.
pub const FORMAT: &str = "kinema-checkpoint-v1";
/// The name prefix of optimizer tensors.
pub const OPTIMIZER_PREFIX: &str = "optimizer/";

/// What a training checkpoint holds.
pub struct CheckpointData {
    /// Model weights by `state_dict` name.
    pub weights: Vec<(String, Tensor)>,
    /// Optimizer tensors (moments...) by the optimizer's own names.
    pub optimizer: Vec<(String, Tensor)>,
    /// Everything else: `{format, meta: {epoch, iter, ...}, optimizer, param_schedulers, hooks, ...}`.
    pub meta: Value,
}

/// Writes `data` to `path` atomically.
pub fn save(path: &Path, data: &CheckpointData) -> Result<(), EngineError> {
    let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(data.weights.len() + data.optimizer.len());
    for (name, t) in &data.weights {
        tensors.push((name.clone(), t.shallow_clone()));
    }
    for (name, t) in &data.optimizer {
        tensors.push((format!("{OPTIMIZER_PREFIX}{name}"), t.shallow_clone()));
    }
    kinema_torch::checkpoint::save_safetensors(path, &tensors, Some(&data.meta))
        .map_err(|e| EngineError::Checkpoint { path: path.to_path_buf(), message: e.to_string() })
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Io { path: dir.to_path_buf(), source })?;
    }
    kinema_torch::checkpoint::write_atomically(path, bytes)
        .map_err(|e| EngineError::Checkpoint { path: path.to_path_buf(), message: e.to_string() })
}

/// Reads a checkpoint written by [`save`]. Other formats are an error that says to use
/// `load_from` (weights only) instead.
pub fn load(path: &Path) -> Result<CheckpointData, EngineError> {
    let err = |message: String| EngineError::Checkpoint { path: path.to_path_buf(), message };
    let format = kinema_torch::checkpoint::detect_format(path).map_err(|e| err(e.to_string()))?;
    if format != kinema_torch::checkpoint::CheckpointFormat::Safetensors {
        return Err(err(format!(
            "a {format:?} file is not a Kinema training checkpoint; to start from its weights use `load_from` or \
             `--checkpoint` instead of `--resume`"
        )));
    }
    let ckpt = kinema_torch::checkpoint::load_safetensors(path).map_err(|e| err(e.to_string()))?;
    let meta = ckpt.meta.unwrap_or(Value::Null);
    if meta.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(err(format!("unknown checkpoint format {:?} (this build reads {FORMAT})", meta.get("format"))));
    }
    let mut weights = Vec::new();
    let mut optimizer = Vec::new();
    for (name, t) in ckpt.tensors {
        match name.strip_prefix(OPTIMIZER_PREFIX) {
            Some(rest) => optimizer.push((rest.to_string(), t)),
            None => weights.push((name, t)),
        }
    }
    Ok(CheckpointData { weights, optimizer, meta })
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
