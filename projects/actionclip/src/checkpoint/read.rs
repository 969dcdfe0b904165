//! Reading checkpoint files of any supported format into the model's key naming. The
//! file formats themselves are kinema-torch's; this module knows which ActionCLIP
//! layout each file has and renames its keys.

use std::collections::BTreeMap;
use std::path::Path;

use kinema_models::weights::NamedTensors;
use kinema_torch::checkpoint::{self as ckio, CheckpointFormat, PyValue};

use super::convert::{self, SourceFormat};
use super::{ActionClipCheckpoint, CheckpointError};

/// String metadata from a Kinema safetensors file's JSON metadata.
fn string_map(meta: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    meta.and_then(|m| m.as_object())
        .map(|m| {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))).collect()
        })
        .unwrap_or_default()
}

/// Named tensors of a dict value (`{'name': tensor}`), in file order.
fn tensors_in(value: &PyValue, path: &Path, at: &str) -> Result<NamedTensors, CheckpointError> {
    let dict = value.as_dict().ok_or_else(|| CheckpointError::Format {
        path: path.to_path_buf(),
        message: format!("`{at}` is a {}, expected a dict of tensors", value.type_name()),
    })?;
    Ok(ckio::tensors_of(dict, path, at)?)
}

/// Reads `path` as `format` (or detects it) and renames its tensors to `clip.*` /
/// `adapter.*`. `num_segs` is needed only for original ActionCLIP `Transf`
/// checkpoints (their position table has 77 rows).
pub fn read_checkpoint(
    path: &Path,
    format: SourceFormat,
    num_segs: Option<i64>,
) -> Result<ActionClipCheckpoint, CheckpointError> {
    if !path.is_file() {
        return Err(CheckpointError::Io { path: path.to_path_buf(), message: "checkpoint file does not exist".into() });
    }
    let fmt = |message: String| CheckpointError::Format { path: path.to_path_buf(), message };
    let mut metadata = BTreeMap::new();
    let (tensors, chosen) = match ckio::detect_format(path).map_err(|e| fmt(format!("not a checkpoint: {e}")))? {
        CheckpointFormat::Safetensors | CheckpointFormat::TorchScript => {
            let ck = ckio::load_checkpoint(path)?;
            metadata = string_map(ck.meta.as_ref());
            let clip_only = !ck.tensors.iter().any(|(k, _)| k.starts_with("clip."));
            let chosen = match format {
                SourceFormat::Auto if ck.format == CheckpointFormat::TorchScript || clip_only => SourceFormat::OpenAi,
                SourceFormat::Auto => SourceFormat::Kinema,
                f => f,
            };
            let named = match chosen {
                SourceFormat::OpenAi => convert::from_openai(ck.tensors),
                _ => convert::from_mmaction(ck.tensors),
            }
            .map_err(|e| fmt(e.to_string()))?;
            (named, chosen)
        }
        CheckpointFormat::TorchZip => read_pickled(path, format, num_segs, &mut metadata)?,
        CheckpointFormat::Legacy => {
            return Err(fmt(
                "a legacy (non-zip) torch file: re-save it with torch >= 1.6 (`torch.save(torch.load(f), f)`)".into(),
            ))
        }
    };
    if tensors.is_empty() {
        return Err(fmt("the checkpoint holds no tensors".into()));
    }
    if !tensors.iter().any(|(k, _)| k.starts_with("clip.")) {
        let sample: Vec<&str> = tensors.iter().take(5).map(|(k, _)| k.as_str()).collect();
        return Err(fmt(format!(
            "no CLIP weights found (keys start with {sample:?}); not an ActionCLIP or CLIP checkpoint"
        )));
    }
    metadata.entry("source_format".into()).or_insert_with(|| chosen.to_string());
    Ok(ActionClipCheckpoint { tensors, format: chosen, metadata, path: path.to_path_buf() })
}

fn read_pickled(
    path: &Path,
    format: SourceFormat,
    num_segs: Option<i64>,
    metadata: &mut BTreeMap<String, String>,
) -> Result<(NamedTensors, SourceFormat), CheckpointError> {
    let fmt = |message: String| CheckpointError::Format { path: path.to_path_buf(), message };
    let value = ckio::load_pytorch(path)?;
    let top =
        value.as_dict().ok_or_else(|| fmt(format!("expected a dict at the top level, found {}", value.type_name())))?;
    let keys = top.str_keys();
    let original = keys.contains(&"model_state_dict");
    let chosen = match format {
        SourceFormat::Auto if original => SourceFormat::ActionClipOriginal,
        SourceFormat::Auto if keys.contains(&"state_dict") => SourceFormat::MmAction,
        SourceFormat::Auto if keys.iter().any(|k| k.starts_with("clip.") || k.starts_with("module.clip.")) => {
            SourceFormat::MmAction
        }
        SourceFormat::Auto => SourceFormat::OpenAi,
        f => f,
    };
    let named = match chosen {
        SourceFormat::ActionClipOriginal => {
            let clip = match top.get("model_state_dict") {
                Some(v) => tensors_in(v, path, "model_state_dict")?,
                None => return Err(fmt("no `model_state_dict` (an original ActionCLIP checkpoint has one)".into())),
            };
            let fusion = match top.get("fusion_model_state_dict") {
                Some(v) => tensors_in(v, path, "fusion_model_state_dict")?,
                None => Vec::new(),
            };
            let needs_segs = fusion.iter().any(|(k, _)| k.contains("transformer.resblocks."));
            let t = match num_segs {
                Some(t) => t,
                None if needs_segs => {
                    return Err(fmt(
                        "an original ActionCLIP `Transf` checkpoint does not record its frame count: give it (--num-segs 8, 16 or 32)"
                            .into(),
                    ))
                }
                None => 8,
            };
            metadata.insert("num_segs".into(), t.to_string());
            if needs_segs {
                metadata.insert("adapter".into(), "Transf".into());
            } else if fusion.is_empty() {
                metadata.insert("adapter".into(), "meanP".into());
            }
            convert::from_original(clip, fusion, t).map_err(fmt)?
        }
        SourceFormat::MmAction | SourceFormat::Kinema => {
            convert::from_mmaction(ckio::state_dict_from_value(&value, path)?).map_err(|e| fmt(e.to_string()))?
        }
        SourceFormat::OpenAi | SourceFormat::Auto => {
            convert::from_openai(ckio::state_dict_from_value(&value, path)?).map_err(|e| fmt(e.to_string()))?
        }
    };
    Ok((named, chosen))
}
