//! One entry point for every supported checkpoint: detect the format from the content and
//! return named tensors plus metadata.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::Tensor;

use super::detect::{detect_format, CheckpointFormat};
use super::error::{CheckpointError, Result};
use super::safetensors_io::load_safetensors;
use super::state_dict::state_dict_from_value;
use super::torch_zip::load_pytorch;
use super::torchscript::load_torchscript;
use super::value::PyValue;

/// A checkpoint read from any supported format.
#[derive(Debug)]
pub struct Checkpoint {
    /// The file.
    pub path: PathBuf,
    /// The format the file turned out to be in.
    pub format: CheckpointFormat,
    /// The named tensors (the state dict), in file order, on the CPU.
    pub tensors: Vec<(String, Tensor)>,
    /// Metadata: MMEngine's `meta` dict (as JSON) for `torch.save` files, the saved JSON for
    /// Kinema safetensors files, `None` when the file has none.
    pub meta: Option<serde_json::Value>,
    /// The whole object tree of a `torch.save` file (optimizer, message hub, ...); `None` for
    /// other formats.
    pub tree: Option<PyValue>,
}

impl Checkpoint {
    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The tensor names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// Reads any supported checkpoint: a `torch.save` zip file (plain or `module.`-prefixed state
/// dict, or an MMEngine checkpoint, whose `state_dict` and `meta` are used), a TorchScript
/// archive (OpenAI CLIP `.pt`: fp16 made fp32, hyper-parameter ints dropped) or a safetensors
/// file. The format comes from the file's content, not its name.
pub fn load_checkpoint(path: impl AsRef<Path>) -> Result<Checkpoint> {
    load(path.as_ref(), false)
}

/// Like [`load_checkpoint`], but a `torch.save` file that holds no state dict (several
/// dicts of tensors side by side, such as `{'epoch', 'model_state_dict', ...}`) gives every
/// tensor of its tree under its dotted path (`model_state_dict.visual.proj`) instead of
/// an error, for a model to pick from.
pub fn load_checkpoint_lenient(path: impl AsRef<Path>) -> Result<Checkpoint> {
    load(path.as_ref(), true)
}

fn load(path: &Path, lenient: bool) -> Result<Checkpoint> {
    let start = Instant::now();
    let format = detect_format(path)?;
    let ckpt = match format {
        CheckpointFormat::TorchZip => {
            let tree = load_pytorch(path)?;
            let tensors = match state_dict_from_value(&tree, path) {
                Ok(tensors) => tensors,
                Err(e) if lenient => match flatten_tensors(&tree) {
                    found if !found.is_empty() => found,
                    _ => return Err(e),
                },
                Err(e) => return Err(e),
            };
            let meta = tree.get("meta").map(PyValue::to_json);
            Checkpoint { path: path.to_path_buf(), format, tensors, meta, tree: Some(tree) }
        }
        CheckpointFormat::TorchScript => {
            Checkpoint { path: path.to_path_buf(), format, tensors: load_torchscript(path)?, meta: None, tree: None }
        }
        CheckpointFormat::Safetensors => load_safetensors(path)?,
        CheckpointFormat::Legacy => return Err(CheckpointError::LegacyFormat { path: path.into() }),
    };
    log::info!(
        "loaded {} ({:?}, {} tensors) in {:.1} ms",
        path.display(),
        format,
        ckpt.tensors.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(ckpt)
}

/// Every tensor of a tree of string-keyed dicts, named by its dotted path
/// (`model_state_dict.conv1.weight`), in file order.
pub fn flatten_tensors(tree: &PyValue) -> Vec<(String, Tensor)> {
    fn walk(value: &PyValue, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        match value {
            PyValue::Tensor(t) => out.push((prefix.to_string(), t.shallow_clone())),
            PyValue::Dict(dict) => {
                for (key, item) in &dict.items {
                    if let Some(k) = key.as_str() {
                        let name = if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
                        walk(item, &name, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

/// The named tensors of any supported checkpoint (see [`load_checkpoint`]), in file order.
pub fn state_dict(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    load_checkpoint(path).map(|c| c.tensors)
}
