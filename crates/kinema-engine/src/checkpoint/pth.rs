//! Checkpoints as `torch.save` archives in MMEngine's layout, for MMAction2 and PyTorch:
//!
//! ```text
//! {'meta': {'epoch', 'iter', 'cfg' (the config, TOML), 'seed', 'experiment_name', 'time',
//!           'dataset_meta': {'classes': [...]}, ...},
//!  'state_dict': OrderedDict(name -> tensor),
//!  'optimizer': {'state': {index: {'step', 'exp_avg', ...}}, 'param_groups': [{..., 'params': [index, ...]}]},
//!  'message_hub': {...}, 'param_schedulers': [...],
//!  'kinema': '<the full Kinema description, JSON>'}
//! ```
//!
//! Only dicts, lists, strings, numbers and tensors: `torch.load(weights_only=True)` reads
//! it. The optimizer follows `torch.optim`'s `state_dict()` (parameters by index, in group
//! order); Kinema resumes from the `kinema` entry and those tensors, bit for bit.

use std::collections::HashMap;
use std::path::Path;

use kinema_torch::checkpoint::{load_pytorch, save_pytorch, PyValue};
use serde_json::Value;
use tch::Tensor;

use super::{checkpoint_error, CheckpointData};
use crate::EngineError;

/// The top-level key holding Kinema's own description (JSON text).
pub const KINEMA_KEY: &str = "kinema";

/// The parameter names of the optimizer's groups, in order: index `i` of `torch.optim`'s
/// state is `names[i]`.
fn param_order(optimizer_meta: &Value) -> Vec<String> {
    optimizer_meta["param_groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .flat_map(|g| g["params"].as_array().cloned().unwrap_or_default())
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `torch.optim`'s layout of the optimizer state.
fn torch_optimizer(meta: &Value, tensors: &[(String, Tensor)]) -> PyValue {
    let names = param_order(meta);
    let index: HashMap<&str, i64> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as i64)).collect();
    let mut per_param: Vec<Vec<(String, PyValue)>> = (0..names.len()).map(|_| Vec::new()).collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(step) = meta["state"][name]["step"].as_f64() {
            per_param[i].push(("step".into(), PyValue::Float(step)));
        }
    }
    for (full, t) in tensors {
        let Some((name, key)) = full.strip_prefix("state.").and_then(|r| r.rsplit_once('.')) else { continue };
        if let Some(&i) = index.get(name) {
            per_param[i as usize].push((key.to_string(), PyValue::Tensor(t.shallow_clone())));
        }
    }
    let state = PyValue::Dict(kinema_torch::checkpoint::PyDict {
        items: per_param
            .into_iter()
            .enumerate()
            .filter(|(_, items)| !items.is_empty())
            .map(|(i, items)| (PyValue::Int(i as i64), PyValue::dict(items, false)))
            .collect(),
        ordered: false,
        attrs: None,
    });
    let groups = meta["param_groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .map(|g| {
                    let mut g = g.clone();
                    if let Some(params) = g.get_mut("params") {
                        let ids: Vec<Value> = params
                            .as_array()
                            .map(|ps| {
                                ps.iter()
                                    .filter_map(|p| p.as_str().and_then(|n| index.get(n)))
                                    .map(|&i| i.into())
                                    .collect()
                            })
                            .unwrap_or_default();
                        *params = Value::Array(ids);
                    }
                    PyValue::from_json(&g)
                })
                .collect()
        })
        .unwrap_or_default();
    PyValue::dict(vec![("state".into(), state), ("param_groups".into(), PyValue::List(groups))], false)
}

/// MMEngine's `meta`: Kinema's loop position and run facts, the config as `cfg`.
fn mmengine_meta(meta: &Value) -> PyValue {
    let mut m = meta["meta"].clone();
    if let Some(obj) = m.as_object_mut() {
        if let Some(config) = obj.shift_remove("config") {
            obj.insert("cfg".into(), config);
        }
    }
    PyValue::from_json(&m)
}

/// Writes `data` as a `torch.save` archive in MMEngine's layout.
pub fn save(path: &Path, data: &CheckpointData) -> Result<(), EngineError> {
    let weights = data.weights.iter().map(|(k, t)| (k.clone(), PyValue::Tensor(t.shallow_clone()))).collect();
    let mut root =
        vec![("meta".to_string(), mmengine_meta(&data.meta)), ("state_dict".to_string(), PyValue::dict(weights, true))];
    if data.meta.get("optimizer").is_some_and(|o| !o.is_null()) {
        root.push(("optimizer".into(), torch_optimizer(&data.meta["optimizer"], &data.optimizer)));
    }
    for key in ["message_hub", "param_schedulers"] {
        if let Some(v) = data.meta.get(key).filter(|v| !v.is_null()) {
            root.push((key.into(), PyValue::from_json(v)));
        }
    }
    root.push((KINEMA_KEY.into(), PyValue::Str(data.meta.to_string())));
    save_pytorch(path, &PyValue::dict(root, false)).map_err(|e| checkpoint_error(path, e))
}

/// Reads a checkpoint [`save`] wrote: weights, optimizer tensors under Kinema's names, and
/// the description.
pub fn load(path: &Path) -> Result<CheckpointData, EngineError> {
    let not_training = |what: &str| EngineError::NotATrainingCheckpoint { path: path.to_path_buf(), what: what.into() };
    let tree = load_pytorch(path).map_err(|e| checkpoint_error(path, e))?;
    let meta: Value = match tree.get(KINEMA_KEY) {
        Some(PyValue::Str(text)) => serde_json::from_str(text).map_err(|e| checkpoint_error(path, e))?,
        _ => return Err(not_training("a .pth without Kinema's training state (an MMAction2 or weights-only file)")),
    };
    let weights = match tree.get("state_dict") {
        Some(PyValue::Dict(d)) => {
            kinema_torch::checkpoint::tensors_of(d, path, "['state_dict']").map_err(|e| checkpoint_error(path, e))?
        }
        _ => return Err(not_training("no `state_dict`")),
    };
    let names = param_order(&meta["optimizer"]);
    let mut optimizer = Vec::new();
    if let Some(PyValue::Dict(state)) = tree.get("optimizer").and_then(|o| o.get("state")) {
        for (index, entry) in &state.items {
            let (PyValue::Int(i), PyValue::Dict(entry)) = (index, entry) else { continue };
            let Some(name) = names.get(*i as usize) else { continue };
            for (key, value) in &entry.items {
                if let (Some(key), PyValue::Tensor(t)) = (key.as_str(), value) {
                    optimizer.push((format!("state.{name}.{key}"), t.shallow_clone()));
                }
            }
        }
    }
    Ok(CheckpointData { weights, optimizer, meta })
}
