//! `type = "ActionClip"`: the model table of an ActionCLIP config, with MMAction2's keys.

use std::path::{Path, PathBuf};

use kinema_core::registry::{build, BoxError, BuildSite};
use kinema_core::{register, Component, ComponentSpec};
use kinema_models::layers::AttentionImpl;
use kinema_models::recognizer::{ModelContext, Recognizer, RecognizerKind};
use kinema_models::weights::{load_into_varstore, LoadMode};
use kinema_models::weights_source::resolve_weights;
use kinema_models::{ClipArch, DataPreprocessorKind, ModelError};
use kinema_text::{LabelSource, TemplateSource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::adapters::AdapterKind;
use crate::checkpoint::{infer_spec, read_checkpoint, SourceFormat};
use crate::losses::VideoTextLossKind;
use crate::model::{ActionClip, ActionClipSpec, RunOptions};
use crate::prompts::{default_template_source, TokenizedPrompts};

/// Frames per clip when neither the config (`num_adapter_segs`) nor the checkpoint tells:
/// MMAction2's ActionCLIP configs use 8.
pub const DEFAULT_NUM_SEGS: i64 = 8;

/// Adapter blocks when neither the config (`num_adapter_layers`) nor the checkpoint tells
/// (MMAction2's default).
pub const DEFAULT_NUM_LAYERS: i64 = 6;

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
    #[serde(default = "default_layers")]
    pub num_adapter_layers: i64,
    /// Accepted for MMAction2 configs; the model always runs in fp32.
    #[serde(default)]
    pub to_float32: bool,
    /// Class names: a list, or a label-map file (one name per line, or an `id,name`
    /// CSV); a relative file is also looked up beside the config.
    #[serde(default)]
    pub labels_or_label_file: Option<LabelSource>,
    /// Templates with `{}` for the class name: a list, or a file with one per line;
    /// default: ActionCLIP's 16.
    #[serde(default = "default_template_source")]
    pub templates_or_template_file: TemplateSource,
    /// The data preprocessor: CLIP's mean and std in 0-255 scale, `NCHW`, by default.
    #[serde(default = "default_preprocessor")]
    pub data_preprocessor: ComponentSpec<DataPreprocessorKind>,
    /// The loss: `CrossEntropyLoss` (MMAction2, `loss_weight = 0.5`) or `KLLoss` (the
    /// original ActionCLIP).
    #[serde(default = "default_loss")]
    pub loss: ComponentSpec<VideoTextLossKind>,
    /// The temporal adapter: `TransformerAdapter` (MMAction2), `Transf`, `meanP`,
    /// `Conv_1D`, `LSTM` or `Transf_cls` (the original's).
    #[serde(default = "default_adapter")]
    pub adapter: ComponentSpec<AdapterKind>,
    /// Weights to start from (MMAction2 does this by downloading OpenAI's CLIP): an
    /// OpenAI CLIP `.pt`, an MMAction2 `.pth`, an original ActionCLIP `.pt` or a Kinema
    /// checkpoint, as a path, a URL or a model-zoo name (`"ViT-B/32"`, fetched once). The architecture follows its shapes. CLIP-only files leave the
    /// adapter at its initialisation.
    #[serde(default)]
    pub pretrained: Option<PathBuf>,
    /// The layout of checkpoints this model reads (`pretrained`, `load_from`, test and
    /// inference checkpoints): "auto", "kinema", "mmaction", "openai" or
    /// "actionclip-original".
    #[serde(default = "auto")]
    pub pretrained_format: String,
    /// Keep prompt text features in this folder, keyed by weights and prompts.
    #[serde(default)]
    pub text_cache_dir: Option<PathBuf>,
    /// Encode prompts only up to the last end-of-text token of the batch, and the words
    /// a template's prompts share before the label once (identical features, faster).
    #[serde(default = "yes")]
    pub truncate_prompts: bool,
    /// Attention kernel: "fused" (`scaled_dot_product_attention`) or "plain".
    #[serde(default = "fused")]
    pub attention: String,
}

fn default_layers() -> i64 {
    DEFAULT_NUM_LAYERS
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
fn default_loss() -> ComponentSpec<VideoTextLossKind> {
    ComponentSpec::new(json!({"type": "CrossEntropyLoss", "loss_weight": 0.5}))
}
fn default_adapter() -> ComponentSpec<AdapterKind> {
    ComponentSpec::new(json!({"type": "TransformerAdapter"}))
}
fn default_preprocessor() -> ComponentSpec<DataPreprocessorKind> {
    ComponentSpec::new(json!({
        "type": "ActionDataPreprocessor",
        "mean": [122.771, 116.746, 104.093],
        "std": [68.500, 66.632, 70.323],
        "format_shape": "NCHW",
    }))
}

fn config_dir(site: &BuildSite<'_>) -> Option<PathBuf> {
    match site.source_of(site.path()) {
        kinema_core::config::Source::File(p) => p.parent().map(Path::to_path_buf),
        _ => None,
    }
}

/// Reads `clip_arch`: a preset name or a table of every `ClipArch` size.
fn parse_clip_arch(value: &Value) -> Result<ClipArch, ModelError> {
    match value {
        Value::String(name) => ClipArch::preset(name).map_err(|e| ModelError::config("clip_arch", e.to_string())),
        Value::Object(_) => serde_json::from_value::<ClipArch>(value.clone())
            .map_err(|e| ModelError::config("clip_arch", format!("{e} (expected every field of ClipArch, integers)"))),
        other => {
            Err(ModelError::config("clip_arch", format!("expected a preset name or a table of sizes, got {other}")))
        }
    }
}

/// Builds the model described by `config`.
pub fn build_action_clip(
    config: &ActionClipConfig,
    ctx: &ModelContext,
    site: &BuildSite<'_>,
) -> Result<ActionClip, ModelError> {
    let base = config_dir(site);
    let preprocessor =
        build::<DataPreprocessorKind>(&config.data_preprocessor.value, &site.key("data_preprocessor"), ctx)?
            .into_inner();
    let loss = build::<VideoTextLossKind>(&config.loss.value, &site.key("loss"), &())?.into_inner();
    let adapter = build::<AdapterKind>(&config.adapter.value, &site.key("adapter"), &())?.into_inner();
    let attention = match config.attention.as_str() {
        "fused" => AttentionImpl::Fused,
        "plain" => AttentionImpl::Plain,
        other => {
            return Err(ModelError::config("attention", format!("expected \"fused\" or \"plain\", got \"{other}\"")))
        }
    };
    let weights_format: SourceFormat =
        config.pretrained_format.parse().map_err(|e: String| ModelError::config("pretrained_format", e))?;
    let options = RunOptions {
        attention,
        truncate_prompts: config.truncate_prompts,
        text_cache_dir: config.text_cache_dir.clone(),
    };
    let preset = config.clip_arch.as_ref().map(parse_clip_arch).transpose()?;

    // With the architecture given, `pretrained` is loaded at train start
    // (`init_weights`, as MMEngine), so test and inference configs need not have the file.
    let deferred = config.clip_arch.is_some() && config.num_adapter_segs.is_some();
    let (spec, checkpoint) = match &config.pretrained {
        Some(path) if !deferred => {
            let file = resolve_weights(&path.to_string_lossy(), "model.pretrained")?;
            let ck = read_checkpoint(&file, weights_format, config.num_adapter_segs)?;
            let inferred = infer_spec(&ck, config.num_adapter_segs, config.num_adapter_layers, Some(adapter))?;
            if let Some(p) = &preset {
                if *p != inferred.spec.clip {
                    return Err(ModelError::config(
                        "clip_arch",
                        format!("is {} but {} holds a {} CLIP", p.name(), path.display(), inferred.spec.clip.name()),
                    ));
                }
            }
            if let Some(t) = config.num_adapter_segs {
                if inferred.segs_from_checkpoint && t != inferred.spec.num_segs {
                    return Err(ModelError::config(
                        "num_adapter_segs",
                        format!(
                            "is {t} but {} was trained with {} frames per clip",
                            path.display(),
                            inferred.spec.num_segs
                        ),
                    ));
                }
            }
            (inferred.spec, Some(ck))
        }
        _ => {
            let clip = preset
                .ok_or_else(|| ModelError::config("clip_arch", "required when no `pretrained` weights are given"))?;
            let num_segs = config.num_adapter_segs.ok_or_else(|| {
                ModelError::config("num_adapter_segs", "required when no `pretrained` weights are given")
            })?;
            (ActionClipSpec { clip, adapter, num_segs, num_layers: config.num_adapter_layers }, None)
        }
    };
    let mut model = ActionClip::new(&spec, ctx.device, preprocessor, loss, options)?;
    model.set_weights_format(weights_format);
    if let Some(ck) = checkpoint {
        load_pretrained(&model, &ck)?;
    } else if let Some(path) = &config.pretrained {
        model.set_pending_pretrained(path.clone());
    }
    if let Some(labels) = &config.labels_or_label_file {
        let labels = labels.relative_to(base.as_deref());
        let templates = config.templates_or_template_file.relative_to(base.as_deref());
        model.set_prompts(TokenizedPrompts::from_sources(&labels, &templates)?);
    }
    Ok(model)
}

/// Loads `pretrained` weights into `model`: a full ActionCLIP checkpoint must match
/// exactly; CLIP-only weights must cover every CLIP parameter (the adapter keeps its
/// initialisation).
pub fn load_pretrained(model: &ActionClip, ck: &crate::checkpoint::ActionClipCheckpoint) -> Result<(), ModelError> {
    let name = ck.path.display().to_string();
    let mismatch = |e: kinema_torch::checkpoint::CheckpointError| match e {
        kinema_torch::checkpoint::CheckpointError::Mismatch(report) => ModelError::Weights(report),
        other => ModelError::Checkpoint(other),
    };
    let report = if !ck.is_clip_only() {
        load_into_varstore(model.var_store(), &ck.tensors, LoadMode::Strict, &name).map_err(mismatch)?
    } else {
        let report =
            load_into_varstore(model.var_store(), &ck.tensors, LoadMode::NonStrict, &name).map_err(mismatch)?;
        let clip_missing = report.missing.iter().any(|(k, _)| k.starts_with("clip."));
        if !report.unexpected.is_empty() || !report.mismatched.is_empty() || clip_missing {
            return Err(ModelError::Weights(Box::new(report)));
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
