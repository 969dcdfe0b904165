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

/// The checkpoint `work_dir/last_checkpoint` points to, for `--resume`: `None` only when
/// the work dir has no `last_checkpoint` and no checkpoint (a fresh run). A `last_checkpoint`
/// that cannot be read or points to no file, or checkpoints without a `last_checkpoint`,
/// are errors: starting over would overwrite what is there.
pub fn find_last_checkpoint(work_dir: &Path) -> Result<Option<PathBuf>, EngineError> {
    let file = last_checkpoint_file(work_dir);
    let err = |message: String| EngineError::Resume { path: file.clone(), message };
    let text = match std::fs::read(&file) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|_| err("is not text; expected the path of a checkpoint".into()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let found = checkpoints_in(work_dir);
            if found.is_empty() {
                return Ok(None);
            }
            return Err(err(format!(
                "is missing, but the work dir holds {} checkpoint(s) ({}); resume from one with --resume PATH \
                 or train in another --work-dir (starting over would overwrite them)",
                found.len(),
                found.join(", ")
            )));
        }
        Err(e) => return Err(err(format!("cannot be read: {e}"))),
    };
    let named = text.trim();
    if named.is_empty() {
        return Err(err("is empty; expected the path of a checkpoint".into()));
    }
    let path = PathBuf::from(named);
    let path = if path.is_absolute() || path.exists() { path } else { work_dir.join(path) };
    if !path.is_file() {
        return Err(err(format!(
            "points to {}, which {}; resume from another checkpoint with --resume PATH",
            path.display(),
            if path.exists() { "is not a file" } else { "does not exist" }
        )));
    }
    Ok(Some(path))
}

/// The names of the checkpoints (`epoch_*`, `iter_*`, `best_*` in a checkpoint format)
/// directly in `dir`, sorted.
fn checkpoints_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            ["epoch_", "iter_", "best_"].iter().any(|p| n.starts_with(p))
                && [".pth", ".safetensors", ".pt"].iter().any(|x| n.ends_with(x))
        })
        .collect();
    names.sort();
    names
}

/// Points `work_dir/last_checkpoint` at `checkpoint` (atomically).
pub fn set_last_checkpoint(work_dir: &Path, checkpoint: &Path) -> Result<(), EngineError> {
    write_atomic(&last_checkpoint_file(work_dir), checkpoint.to_string_lossy().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(work: &Path) -> String {
        find_last_checkpoint(work).unwrap_err().to_string()
    }

    /// `--resume` never starts over where there is something to lose.
    #[test]
    fn last_checkpoint_is_found_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path();
        let last = last_checkpoint_file(work);
        assert_eq!(find_last_checkpoint(work).unwrap(), None, "an empty work dir: a fresh run");
        std::fs::write(work.join("epoch_3.pth"), b"x").unwrap();
        assert_eq!(
            message(work),
            format!(
                "cannot resume from {}: is missing, but the work dir holds 1 checkpoint(s) (epoch_3.pth); resume from \
                 one with --resume PATH or train in another --work-dir (starting over would overwrite them)",
                last.display()
            )
        );
        std::fs::write(&last, work.join("epoch_9.pth").to_string_lossy().as_bytes()).unwrap();
        assert_eq!(
            message(work),
            format!(
                "cannot resume from {}: points to {}, which does not exist; resume from another checkpoint with \
                 --resume PATH",
                last.display(),
                work.join("epoch_9.pth").display()
            )
        );
        std::fs::write(&last, [0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(
            message(work),
            format!("cannot resume from {}: is not text; expected the path of a checkpoint", last.display())
        );
        std::fs::write(&last, b"  \n").unwrap();
        assert!(message(work).ends_with("is empty; expected the path of a checkpoint"));
        std::fs::write(&last, b"epoch_3.pth\n").unwrap();
        assert_eq!(find_last_checkpoint(work).unwrap(), Some(work.join("epoch_3.pth")), "relative to the work dir");
    }
}
