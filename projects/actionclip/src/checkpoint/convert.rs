//! Key mappings from each upstream layout to the model's names.

use kinema_models::weights::NamedTensors;
use tch::{Kind, Tensor};

/// Where a checkpoint comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Decide from the file's content.
    Auto,
    /// Kinema's safetensors (keys already `clip.*` / `adapter.*`, metadata).
    Kinema,
    /// MMAction2 / MMEngine `.pth` (`{'meta', 'state_dict'}` or a bare state dict).
    MmAction,
    /// OpenAI CLIP (`ViT-B-32.pt`: TorchScript archive or state dict), CLIP only.
    OpenAi,
    /// The original ActionCLIP (`model_state_dict` + `fusion_model_state_dict`).
    ActionClipOriginal,
}

impl std::str::FromStr for SourceFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(SourceFormat::Auto),
            "kinema" => Ok(SourceFormat::Kinema),
            "mmaction" => Ok(SourceFormat::MmAction),
            "openai" => Ok(SourceFormat::OpenAi),
            "actionclip-original" => Ok(SourceFormat::ActionClipOriginal),
            other => Err(format!(
                "unknown checkpoint format \"{other}\"; expected auto, kinema, mmaction, openai or actionclip-original"
            )),
        }
    }
}

impl std::fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceFormat::Auto => "auto",
            SourceFormat::Kinema => "kinema",
            SourceFormat::MmAction => "mmaction",
            SourceFormat::OpenAi => "openai",
            SourceFormat::ActionClipOriginal => "actionclip-original",
        })
    }
}

/// Entries of OpenAI's archives that are not parameters.
pub const OPENAI_NON_PARAMETERS: [&str; 4] = ["input_resolution", "context_length", "vocab_size", "attn_mask"];

fn to_f32(t: Tensor) -> Result<Tensor, tch::TchError> {
    match t.kind() {
        Kind::Half | Kind::BFloat16 | Kind::Double => t.f_to_kind(Kind::Float),
        _ => Ok(t),
    }
}

/// An MMAction2 state dict: `module.` prefixes stripped (as MMEngine's loader does).
pub fn from_mmaction(tensors: NamedTensors) -> Result<NamedTensors, tch::TchError> {
    tensors.into_iter().map(|(k, t)| Ok((k.strip_prefix("module.").unwrap_or(&k).to_string(), to_f32(t)?))).collect()
}

/// An OpenAI CLIP state dict: `clip.` prefix, non-parameters dropped, fp16 -> fp32.
pub fn from_openai(tensors: NamedTensors) -> Result<NamedTensors, tch::TchError> {
    tensors
        .into_iter()
        .filter(|(k, _)| !OPENAI_NON_PARAMETERS.contains(&k.as_str()))
        .map(|(k, t)| Ok((format!("clip.{k}"), to_f32(t)?)))
        .collect()
}

/// The original ActionCLIP's two state dicts: `clip.` + CLIP keys, `adapter.` + fusion
/// keys without DataParallel's `module.`, the 77-row frame position table cut to
/// `num_segs` rows (dropped for fusions that never read it), fp32.
pub fn from_original(clip: NamedTensors, fusion: NamedTensors, num_segs: i64) -> Result<NamedTensors, String> {
    let mut out =
        from_openai(clip.into_iter().map(|(k, t)| (k.strip_prefix("module.").unwrap_or(&k).to_string(), t)).collect())
            .map_err(|e| e.to_string())?;
    let fusion: Vec<(String, Tensor)> =
        fusion.into_iter().map(|(k, t)| (k.strip_prefix("module.").unwrap_or(&k).to_string(), t)).collect();
    let uses_table = fusion.iter().any(|(k, _)| k.starts_with("transformer.resblocks."));
    for (k, t) in fusion {
        let t = to_f32(t).map_err(|e| e.to_string())?;
        if k == "frame_position_embeddings.weight" {
            if !uses_table {
                continue;
            }
            let rows = t.size().first().copied().unwrap_or(0);
            if num_segs > rows {
                return Err(format!("--num-segs {num_segs} exceeds the {rows} rows of frame_position_embeddings"));
            }
            let cut = t.f_narrow(0, 0, num_segs).and_then(|c| c.f_contiguous()).map_err(|e| e.to_string())?;
            out.push((format!("adapter.{k}"), cut));
        } else {
            out.push((format!("adapter.{k}"), t));
        }
    }
    Ok(out)
}
