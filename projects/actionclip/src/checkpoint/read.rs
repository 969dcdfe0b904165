//! Which ActionCLIP layout a checkpoint has, and its tensors renamed to the model's
//! keys. The file itself is read by kinema-models' resolver
//! ([`kinema_models::resolve::read_checkpoint`]).

use std::collections::BTreeMap;
use std::path::Path;

use kinema_models::weights::NamedTensors;
use kinema_models::ModelError;
use kinema_torch::checkpoint::{Checkpoint, CheckpointFormat};

use super::convert::{self, SourceFormat};
use super::ActionClipCheckpoint;

/// The prefixes the original ActionCLIP saves its two state dicts under.
const ORIGINAL_CLIP: &str = "model_state_dict.";
const ORIGINAL_FUSION: &str = "fusion_model_state_dict.";

/// String metadata of a Kinema safetensors header (`{"adapter": "meanP", ...}`).
fn string_map(meta: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    meta.and_then(|m| m.as_object())
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// The layout of `ck`: the original's two state dicts, OpenAI's CLIP (a TorchScript
/// archive or a state dict without `clip.` keys), else MMAction2/Kinema keys.
fn detect(ck: &Checkpoint) -> SourceFormat {
    if ck.tensors.iter().any(|(k, _)| k.starts_with(ORIGINAL_CLIP)) {
        SourceFormat::ActionClipOriginal
    } else if ck.format == CheckpointFormat::TorchScript || !ck.tensors.iter().any(|(k, _)| k.starts_with("clip.")) {
        SourceFormat::OpenAi
    } else if ck.format == CheckpointFormat::Safetensors {
        SourceFormat::Kinema
    } else {
        SourceFormat::MmAction
    }
}

/// `ck`'s tensors under the model's names. `format` forces a layout (`Auto` detects it);
/// `num_segs` cuts an original `Transf` checkpoint's 77-row frame position table.
pub fn rename(
    ck: &Checkpoint,
    format: SourceFormat,
    num_segs: Option<i64>,
) -> Result<ActionClipCheckpoint, ModelError> {
    let fmt = |message: String| ModelError::Format { path: ck.path.clone(), message };
    let chosen = match format {
        SourceFormat::Auto => detect(ck),
        f => f,
    };
    let mut metadata = string_map(ck.meta.as_ref());
    let copy = |prefix: &str| -> NamedTensors {
        ck.tensors
            .iter()
            .filter_map(|(k, t)| k.strip_prefix(prefix).map(|k| (k.to_string(), t.shallow_clone())))
            .collect()
    };
    let all = || ck.tensors.iter().map(|(k, t)| (k.clone(), t.shallow_clone())).collect::<NamedTensors>();
    let tensors = match chosen {
        SourceFormat::ActionClipOriginal => {
            let (clip, fusion) = (copy(ORIGINAL_CLIP), copy(ORIGINAL_FUSION));
            if clip.is_empty() {
                return Err(fmt(format!(
                    "no `{}` tensors (an original ActionCLIP checkpoint has them)",
                    ORIGINAL_CLIP.trim_end_matches('.')
                )));
            }
            let needs_segs = fusion.iter().any(|(k, _)| k.contains("transformer.resblocks."));
            let t = num_segs.unwrap_or(crate::config::DEFAULT_NUM_SEGS);
            if needs_segs {
                metadata.insert("adapter".into(), "Transf".into());
                if num_segs.is_none() {
                    log::info!(
                        "{}: an original `Transf` checkpoint does not record its frames per clip; using {t} \
                         (set `num_adapter_segs`, or --num-segs)",
                        ck.path.display()
                    );
                }
            } else if fusion.is_empty() {
                metadata.insert("adapter".into(), "meanP".into());
            }
            metadata.insert("num_segs".into(), t.to_string());
            convert::from_original(clip, fusion, t).map_err(fmt)?
        }
        SourceFormat::MmAction | SourceFormat::Kinema => {
            convert::from_mmaction(all()).map_err(|e| fmt(e.to_string()))?
        }
        SourceFormat::OpenAi | SourceFormat::Auto => convert::from_openai(all()).map_err(|e| fmt(e.to_string()))?,
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
    Ok(ActionClipCheckpoint { tensors, format: chosen, metadata, path: ck.path.clone() })
}

/// Reads `path` (any format) and renames its tensors (see [`rename`]).
pub fn read_checkpoint(
    path: &Path,
    format: SourceFormat,
    num_segs: Option<i64>,
) -> Result<ActionClipCheckpoint, ModelError> {
    rename(&kinema_models::resolve::read_checkpoint(path)?, format, num_segs)
}
