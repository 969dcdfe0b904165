//! `type = "ActionClip"`: the model table of an ActionCLIP config, with MMAction2's keys.

use std::path::{Path, PathBuf};

use kinema_core::registry::{build, BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_models::data_preprocessor::ActionDataPreprocessorConfig;
use kinema_models::layers::AttentionImpl;
use kinema_models::recognizer::{ModelContext, Recognizer, RecognizerKind};
use kinema_models::weights::{load_into_varstore, LoadMode};
use kinema_models::{ActionDataPreprocessor, ClipArch, DataPreprocessorKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adapters::AdapterKind;
use crate::checkpoint::{infer_spec, read_checkpoint, SourceFormat};
use crate::losses::VideoTextLossKind;
use crate::model::{ActionClip, ActionClipSpec, RunOptions};
use crate::prompts::{default_templates, ListOrFile, PromptSet};

/// ActionCLIP (MMAction2's `ActionClip`): CLIP frame features, a temporal adapter,
/// zero-shot scores against `template x label` prompts; contrastive training.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionClipConfig {
    /// CLIP architecture: "ViT-B/32", "ViT-B/16", "ViT-L/14" or "ViT-L/14@336px", or a
    /// table of OpenAI's `CLIP.__init__` sizes (`embed_dim`, `image_resolution`,
    /// `vision_layers`, `vision_width`, `vision_patch_size`, `context_length`,
    /// `vocab_size`, `transformer_width`, `transformer_heads`, `transformer_layers`) for
    /// small models trained from scratch. Optional when `pretrained` is given (its shapes
    /// decide; a different value is an error).
    #[serde(default)]
    pub clip_arch: Option<Value>,
    /// Frames per clip T (the adapter's position-table rows). Optional when
    /// `pretrained` holds an adapter.
    #[serde(default)]
    pub num_adapter_segs: Option<i64>,
    /// Adapter blocks (read from `pretrained` when it holds an adapter).
    #[serde(default = "six")]
    pub num_adapter_layers: i64,
    /// Accepted for MMAction2 configs; the model always runs in fp32.
    #[serde(default)]
    pub to_float32: bool,
    /// Class names: a list, or a file with one name per line.
    #[serde(default)]
    pub labels_or_label_file: Option<ListOrFile>,
    /// Templates with `{}` for the class name: a list, or a file with one per line;
    /// default: ActionCLIP's 16.
    #[serde(default)]
    pub templates_or_template_file: Option<ListOrFile>,
    /// The data preprocessor table (default: `ActionDataPreprocessor` with CLIP's
    /// mean/std in 0-255 scale, `NCHW`).
    #[serde(default)]
    pub data_preprocessor: Option<Value>,
    /// The loss table: `CrossEntropyLoss` (MMAction2, default, `loss_weight = 0.5`) or
    /// `KLLoss` (the original ActionCLIP).
    #[serde(default = "default_loss")]
    pub loss: Value,
    /// The temporal adapter table: `TransformerAdapter` (default), `Transf`, `meanP`,
    /// `Conv_1D`, `LSTM` or `Transf_cls`.
    #[serde(default)]
    pub adapter: Option<Value>,
    /// Weights to start from (MMAction2 does this by downloading OpenAI's CLIP): an
    /// OpenAI CLIP `.pt`, an MMAction2 `.pth`, an original ActionCLIP `.pt` or a Kinema
    /// `.safetensors`. The architecture follows its shapes. CLIP-only files leave the
    /// adapter at its initialisation.
    #[serde(default)]
    pub pretrained: Option<PathBuf>,
    /// The format of `pretrained`: "auto", "kinema", "mmaction", "openai" or
    /// "actionclip-original".
    #[serde(default = "auto")]
    pub pretrained_format: String,
    /// Keep prompt text features in this folder, keyed by weights and prompts.
    #[serde(default)]
    pub text_cache_dir: Option<PathBuf>,
    /// Encode prompts only up to the last end-of-text token of the batch (identical
    /// features, faster).
    #[serde(default = "yes")]
    pub truncate_prompts: bool,
    /// Attention kernel: "fused" (`scaled_dot_product_attention`) or "plain".
    #[serde(default = "fused")]
    pub attention: String,
}

fn six() -> i64 {
    6
}
fn yes() -> bool {
    true
}
fn auto() -> String {
    "auto".into()
}
fn fused() -> String {
    "fused".into()
}
fn default_loss() -> Value {
    serde_json::json!({"type": "CrossEntropyLoss", "loss_weight": 0.5})
}

fn config_dir(site: &BuildSite<'_>) -> Option<PathBuf> {
    match site.source_of(site.path()) {
        kinema_core::config::Source::File(p) => p.parent().map(Path::to_path_buf),
        _ => None,
    }
}

/// Reads `clip_arch`: a preset name or a table of every `ClipArch` size.
fn parse_clip_arch(value: &Value) -> Result<ClipArch, BoxError> {
    match value {
        Value::String(name) => Ok(ClipArch::preset(name)?),
        Value::Object(_) => serde_json::from_value::<ClipArch>(value.clone())
            .map_err(|e| format!("`clip_arch` table: {e} (expected every field of ClipArch, integers)").into()),
        other => Err(format!("`clip_arch` must be a preset name or a table of sizes, got {other}").into()),
    }
}

/// Builds the model described by `config`.
pub fn build_action_clip(
    config: &ActionClipConfig,
    ctx: &ModelContext,
    site: &BuildSite<'_>,
) -> Result<ActionClip, BoxError> {
    let base = config_dir(site);
    let preprocessor = match &config.data_preprocessor {
        Some(v) => build::<DataPreprocessorKind>(v, &site.key("data_preprocessor"), ctx)?.into_inner(),
        None => Box::new(ActionDataPreprocessor::new(&ActionDataPreprocessorConfig::default(), ctx.device)?),
    };
    let loss = build::<VideoTextLossKind>(&config.loss, &site.key("loss"), &())?.into_inner();
    let adapter = match &config.adapter {
        Some(v) => Some(build::<AdapterKind>(v, &site.key("adapter"), &())?.into_inner()),
        None => None,
    };
    let attention = match config.attention.as_str() {
        "fused" => AttentionImpl::Fused,
        "plain" => AttentionImpl::Plain,
        other => return Err(format!("`attention` must be \"fused\" or \"plain\", got \"{other}\"").into()),
    };
    let options = RunOptions {
        attention,
        truncate_prompts: config.truncate_prompts,
        text_cache_dir: config.text_cache_dir.clone(),
    };
    let preset = match &config.clip_arch {
        Some(value) => Some(parse_clip_arch(value)?),
        None => None,
    };

    // With the architecture given, `pretrained` is loaded at train start
    // (`init_weights`, as MMEngine), so test and inference configs need not have the file.
    let deferred = config.clip_arch.is_some() && config.num_adapter_segs.is_some();
    let (spec, checkpoint) = match &config.pretrained {
        Some(path) if !deferred => {
            let format: SourceFormat = config.pretrained_format.parse()?;
            let ck = read_checkpoint(path, format, config.num_adapter_segs)?;
            let inferred = infer_spec(&ck, config.num_adapter_segs, config.num_adapter_layers, adapter)?;
            if let Some(p) = &preset {
                if *p != inferred.spec.clip {
                    return Err(format!(
                        "`clip_arch` is {} but {} holds a {} CLIP",
                        p.name(),
                        path.display(),
                        inferred.spec.clip.name()
                    )
                    .into());
                }
            }
            if let Some(t) = config.num_adapter_segs {
                if inferred.segs_from_checkpoint && t != inferred.spec.num_segs {
                    return Err(format!(
                        "`num_adapter_segs` is {t} but {} was trained with {} frames per clip",
                        path.display(),
                        inferred.spec.num_segs
                    )
                    .into());
                }
            }
            (inferred.spec, Some(ck))
        }
        _ => {
            let clip = preset.ok_or("`clip_arch` is required when no `pretrained` weights are given")?;
            let num_segs = config
                .num_adapter_segs
                .ok_or("`num_adapter_segs` is required when no `pretrained` weights are given")?;
            let adapter = match adapter {
                Some(a) => a,
                None => crate::checkpoint::spec::build_named("TransformerAdapter")?,
            };
            (ActionClipSpec { clip, adapter, num_segs, num_layers: config.num_adapter_layers }, None)
        }
    };
    let mut model = ActionClip::new(&spec, ctx.device, preprocessor, loss, options)?;
    if let Some(ck) = checkpoint {
        load_pretrained(&model, &ck)?;
    } else if let Some(path) = &config.pretrained {
        let format: SourceFormat = config.pretrained_format.parse()?;
        model.set_pending_pretrained(path.clone(), format);
    }
    if let Some(labels) = &config.labels_or_label_file {
        let labels = labels.resolve("label", base.as_deref())?;
        let templates = match &config.templates_or_template_file {
            Some(t) => t.resolve("template", base.as_deref())?,
            None => default_templates(),
        };
        model.set_prompts(PromptSet::new(labels, templates)?);
    }
    Ok(model)
}

/// Loads `pretrained` weights into `model`: a full ActionCLIP checkpoint must match
/// exactly; CLIP-only weights must cover every CLIP parameter (the adapter keeps its
/// initialisation).
pub fn load_pretrained(model: &ActionClip, ck: &crate::checkpoint::ActionClipCheckpoint) -> Result<(), BoxError> {
    let name = ck.path.display().to_string();
    let report = if !ck.is_clip_only() {
        load_into_varstore(model.var_store(), &ck.tensors, LoadMode::Strict, &name)?
    } else {
        let report = load_into_varstore(model.var_store(), &ck.tensors, LoadMode::NonStrict, &name)?;
        let clip_missing = report.missing.iter().any(|(k, _)| k.starts_with("clip."));
        if !report.unexpected.is_empty() || !report.mismatched.is_empty() || clip_missing {
            return Err(report.to_string().into());
        }
        report
    };
    log::info!("loaded {} ({}): {} tensors", ck.path.display(), ck.format, report.loaded);
    Ok(())
}

impl Component<RecognizerKind> for ActionClip {
    type Config = ActionClipConfig;
    fn build(config: &Self::Config, ctx: &ModelContext, site: &BuildSite<'_>) -> Result<Box<dyn Recognizer>, BoxError> {
        Ok(Box::new(build_action_clip(config, ctx, site)?))
    }
}

register!(RecognizerKind, "ActionClip", ActionClip);
