//! Picking the named tensors (the state dict) out of a checkpoint's object tree, the way
//! MMEngine's `load_checkpoint` does.

use std::collections::HashMap;
use std::path::Path;

use tch::Tensor;

use super::error::{CheckpointError, Result};
use super::value::{PyDict, PyValue};

/// The prefix `torch.nn.DataParallel` / `DistributedDataParallel` put before every key, which
/// MMEngine's `load_checkpoint` strips (`revise_keys=[(r'^module\.', '')]`).
pub const MODULE_PREFIX: &str = "module.";

/// The state dict of a checkpoint tree: `root['state_dict']` when the root is a dict holding a
/// dict under that key (MMEngine checkpoints), else the root dict itself (plain
/// `torch.save(model.state_dict())` files). A leading `module.` is stripped from every key.
/// Keys keep file order. `source` names the file in errors.
pub fn state_dict_from_value(root: &PyValue, source: &Path) -> Result<Vec<(String, Tensor)>> {
    let dict = root.as_dict().ok_or_else(|| {
        CheckpointError::content(source, format!("the checkpoint holds a {}, not a dict of tensors", root.type_name()))
    })?;
    let (dict, at) = match dict.get("state_dict") {
        Some(PyValue::Dict(inner)) => (inner, "['state_dict']"),
        _ => (dict, ""),
    };
    let tensors = tensors_of(dict, source, at)?;
    Ok(strip_prefix(tensors, MODULE_PREFIX))
}

/// The tensors of a dict of string keys to tensors. `at` describes where the dict sits in the
/// file (for messages). A non-tensor value is an error that lists the dict's keys whose values
/// are dicts, which is where a state dict usually hides in other layouts.
pub fn tensors_of(dict: &PyDict, source: &Path, at: &str) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::with_capacity(dict.len());
    for (key, value) in &dict.items {
        let Some(name) = key.as_str() else {
            return Err(CheckpointError::content(
                source,
                format!("state dict{at} has a {} key; tensor names must be strings", key.type_name()),
            ));
        };
        match value {
            PyValue::Tensor(t) => out.push((name.to_string(), t.shallow_clone())),
            other => {
                let sub: Vec<&str> = dict
                    .items
                    .iter()
                    .filter(|(_, v)| matches!(v, PyValue::Dict(_)))
                    .filter_map(|(k, _)| k.as_str())
                    .collect();
                let hint = if sub.is_empty() {
                    String::new()
                } else {
                    format!("; dict-valued keys that may hold the weights: {sub:?}")
                };
                return Err(CheckpointError::content(
                    source,
                    format!(
                        "state dict{at}: key `{name}` holds a {}, not a tensor (no 'state_dict' entry found){hint}",
                        other.type_name()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Removes `prefix` from the start of every key that has it. As in MMEngine (a dict
/// comprehension), when two keys become equal the later value wins, at the earlier position.
pub fn strip_prefix(tensors: Vec<(String, Tensor)>, prefix: &str) -> Vec<(String, Tensor)> {
    let mut out: Vec<(String, Tensor)> = Vec::with_capacity(tensors.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(tensors.len());
    for (name, t) in tensors {
        let name = name.strip_prefix(prefix).map(str::to_string).unwrap_or(name);
        match index.get(&name) {
            Some(&at) => {
                log::warn!("checkpoint keys collide after stripping `{prefix}`: `{name}` appears twice; the later value is used");
                out[at].1 = t;
            }
            None => {
                index.insert(name.clone(), out.len());
                out.push((name, t));
            }
        }
    }
    out
}
