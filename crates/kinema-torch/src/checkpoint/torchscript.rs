//! TorchScript archives (`torch.jit.save`), such as OpenAI's CLIP `.pt` files, as named tensors.
//!
//! libtorch (`CModule::load`) says which tensors are parameters; the safe unpickler walks the
//! archive's `data.pkl` module tree to add the buffers (which libtorch's C API does not list)
//! and to put everything in `state_dict()` order: per module its parameters, then its buffers,
//! then its submodules.

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::error::{CheckpointError, Result};
use super::torch_zip::TorchArchive;
use super::value::{PyObject, PyValue};

/// 0-d integer buffers of OpenAI's CLIP archives that are model hyper-parameters, not weights;
/// [`load_torchscript`] drops them (OpenAI's own `build_model` deletes them too).
pub const OPENAI_CLIP_EXTRA_KEYS: [&str; 3] = ["input_resolution", "context_length", "vocab_size"];

/// Reads the tensors of a TorchScript archive in `state_dict()` order. fp16 tensors are
/// converted to fp32, and the 0-d integer entries in [`OPENAI_CLIP_EXTRA_KEYS`] are dropped.
pub fn load_torchscript(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let module = tch::CModule::load_on_device(path, Device::Cpu).map_err(|e| CheckpointError::torch(path, e))?;
    let params = module.named_parameters().map_err(|e| CheckpointError::torch(path, e))?;
    let mut by_name: HashMap<String, Tensor> = params.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();

    let mut ordered: Vec<(String, Tensor)> = Vec::with_capacity(params.len());
    match TorchArchive::open(path).and_then(|a| a.unpickle("data.pkl")) {
        Ok(PyValue::Object(root)) => walk(&root, "", &mut by_name, &mut ordered),
        Ok(other) => log::warn!(
            "{}: TorchScript data.pkl holds a {}, not a module; buffers are not read",
            path.display(),
            other.type_name()
        ),
        Err(e) => log::warn!("{}: buffers not read, the module tree could not be walked: {e}", path.display()),
    }
    // Parameters the walk did not reach (it should reach all) keep libtorch's order.
    for (name, t) in params {
        if by_name.remove(&name).is_some() {
            ordered.push((name, t));
        }
    }

    let mut out = Vec::with_capacity(ordered.len());
    for (name, t) in ordered {
        let is_int_scalar = t.dim() == 0 && matches!(t.kind(), Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8);
        if is_int_scalar && OPENAI_CLIP_EXTRA_KEYS.contains(&name.as_str()) {
            continue;
        }
        let t = if t.kind() == Kind::Half {
            t.f_to_kind(Kind::Float).map_err(|e| CheckpointError::torch(path, e))?
        } else {
            t.detach()
        };
        out.push((name, t));
    }
    Ok(out)
}

/// Appends the tensors of module `obj` (named under `prefix`) in `state_dict()` order:
/// parameters (taken from `params`), then other tensor attributes (buffers), then submodules.
fn walk(obj: &PyObject, prefix: &str, params: &mut HashMap<String, Tensor>, out: &mut Vec<(String, Tensor)>) {
    let Some(PyValue::Dict(state)) = obj.state.as_deref() else {
        return;
    };
    let mut buffers = Vec::new();
    let mut children = Vec::new();
    for (key, value) in &state.items {
        let Some(name) = key.as_str() else { continue };
        let full = format!("{prefix}{name}");
        match value {
            PyValue::Tensor(t) => match params.remove(&full) {
                Some(p) => out.push((full, p)),
                None => buffers.push((full, t.shallow_clone())),
            },
            PyValue::Object(child) if child.module.starts_with("__torch__") => children.push((full, child)),
            _ => {}
        }
    }
    out.extend(buffers);
    for (full, child) in children {
        walk(child, &format!("{full}."), params, out);
    }
}
