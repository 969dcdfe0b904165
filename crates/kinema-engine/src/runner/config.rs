//! The top level of a run's config: MMEngine's `Runner` arguments as a typed,
//! documented struct.
//!
//! Any other top-level key must be a *variable*: a key some file of the config refers to
//! with `${...}` (`num_segs`, `data_root`, `train_pipeline`). A key that is neither is a
//! typo (`train_dataloder`) and an error naming the file, with a did-you-mean, instead of
//! being silently ignored as MMEngine does.

use std::collections::BTreeMap;

use kinema_core::registry::{resolve_tree, schema_for, BuildSite};
use kinema_core::{ComponentSpec, Config, KeyPath};
use kinema_data::{DataLoaderConfig, TransformKind};
use kinema_logging::LogProcessorConfig;
use kinema_models::recognizer::RecognizerKind;
use kinema_optim::{OptimWrapperKind, ParamSchedulerKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::env::RandomnessConfig;
use crate::evaluation::MetricKind;
use crate::hooks::HookKind;
use crate::loops::{EvalLoopKind, TrainLoopKind};
use crate::vis::VisBackendKind;
use crate::EngineError;

/// One table, or a list of tables (`param_scheduler`, `val_evaluator`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One table.
    One(T),
    /// A list.
    Many(Vec<T>),
}

/// A `default_hooks` entry: a hook table, or `false` to switch a default hook off.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum HookSlot {
    /// The hook.
    Hook(ComponentSpec<HookKind>),
    /// `false`: no hook in this slot.
    Off(bool),
}

/// MMEngine's `auto_scale_lr`: scale every optimizer group's learning rate by
/// `world_size * train_dataloader.batch_size / base_batch_size` before the schedulers
/// are built (`tools/train --auto-scale-lr` sets `enable`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoScaleLr {
    /// Scale the learning rate.
    #[serde(default)]
    pub enable: bool,
    /// The total batch size the config's learning rate was tuned for.
    pub base_batch_size: u64,
}

/// `env_cfg.dist_cfg`: the process group.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistCfg {
    /// `"nccl"` (CUDA) or `"gloo"` (CPU); default: nccl with CUDA, gloo on CPU.
    #[serde(default)]
    pub backend: Option<String>,
    /// Seconds a collective may wait (PyTorch's default: 600 for NCCL, 1800 for Gloo).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Seconds joining may take: reaching the master address and meeting every rank
    /// (Kinema addition, default 60; PyTorch waits the whole `timeout`). An address that
    /// does not resolve fails at once.
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// Seconds another rank may go without a heartbeat (a frozen or stopped process, a hung
    /// machine) before this rank ends the job naming it (Kinema addition, default 60;
    /// PyTorch waits for the collective `timeout`).
    #[serde(default)]
    pub heartbeat_timeout: Option<f64>,
}

/// `env_cfg`: MMEngine's environment settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// cuDNN's benchmark mode.
    #[serde(default)]
    pub cudnn_benchmark: bool,
    /// Accepted for MMEngine configs (worker processes are threads here).
    #[serde(default)]
    pub mp_cfg: Option<Value>,
    /// The process group.
    #[serde(default)]
    pub dist_cfg: Option<DistCfg>,
}

/// `visualizer`: where logged scalars go.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisualizerConfig {
    /// Accepted for MMAction2 configs (`ActionVisualizer`); Kinema has one visualizer.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The visualizer's name (MMEngine's; unused).
    #[serde(default)]
    pub name: Option<String>,
    /// The backends, each a registered `vis_backend` (`LocalVisBackend`,
    /// `TensorboardVisBackend`).
    #[serde(default = "local_backend")]
    pub vis_backends: Vec<ComponentSpec<VisBackendKind>>,
}

fn local_backend() -> Vec<ComponentSpec<VisBackendKind>> {
    vec![ComponentSpec::new(json!({"type": "LocalVisBackend"}))]
}

impl Default for VisualizerConfig {
    fn default() -> Self {
        VisualizerConfig { kind: None, name: None, vis_backends: local_backend() }
    }
}

/// The log level of the text log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// MMEngine's default.
    #[default]
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

/// The top level of a run's config (MMEngine's `Runner.from_cfg` keys, plus MMAction2's
/// conventional pipelines). Every key is optional here; what a run needs is checked when
/// it starts (training needs `train_dataloader`, `train_cfg` and `optim_wrapper`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunnerConfig {
    /// The model table (`type` names a registered model).
    #[serde(default)]
    pub model: Option<ComponentSpec<RecognizerKind>>,
    /// Where checkpoints and logs go (default `work_dirs/<config name>`).
    #[serde(default)]
    pub work_dir: Option<String>,
    /// The training data.
    #[serde(default)]
    pub train_dataloader: Option<DataLoaderConfig>,
    /// The validation data.
    #[serde(default)]
    pub val_dataloader: Option<DataLoaderConfig>,
    /// The test data.
    #[serde(default)]
    pub test_dataloader: Option<DataLoaderConfig>,
    /// The training loop (`EpochBasedTrainLoop`, `IterBasedTrainLoop`; `by_epoch` picks one).
    #[serde(default)]
    pub train_cfg: Option<ComponentSpec<TrainLoopKind>>,
    /// The validation loop (`ValLoop`).
    #[serde(default)]
    pub val_cfg: Option<ComponentSpec<EvalLoopKind>>,
    /// The test loop (`TestLoop`).
    #[serde(default)]
    pub test_cfg: Option<ComponentSpec<EvalLoopKind>>,
    /// Learning-rate scaling by the total batch size.
    #[serde(default)]
    pub auto_scale_lr: Option<AutoScaleLr>,
    /// The optimizer wrapper (`OptimWrapper`, `AmpOptimWrapper`) and its optimizer.
    #[serde(default)]
    pub optim_wrapper: Option<ComponentSpec<OptimWrapperKind>>,
    /// Learning-rate and momentum schedules, in order.
    #[serde(default)]
    pub param_scheduler: Option<OneOrMany<ComponentSpec<ParamSchedulerKind>>>,
    /// Validation metrics.
    #[serde(default)]
    pub val_evaluator: Option<OneOrMany<ComponentSpec<MetricKind>>>,
    /// Test metrics.
    #[serde(default)]
    pub test_evaluator: Option<OneOrMany<ComponentSpec<MetricKind>>>,
    /// MMEngine's default hooks by slot (`timer`, `logger`, `checkpoint`, ...); a table
    /// changes a slot, `false` empties it.
    #[serde(default)]
    pub default_hooks: Option<BTreeMap<String, HookSlot>>,
    /// More hooks.
    #[serde(default)]
    pub custom_hooks: Option<Vec<ComponentSpec<HookKind>>>,
    /// Weights to start from (any supported checkpoint; with `resume`, the run to resume).
    #[serde(default)]
    pub load_from: Option<String>,
    /// Resume: from `load_from`, else from the work dir's `last_checkpoint`.
    #[serde(default)]
    pub resume: Option<bool>,
    /// Accepted for MMEngine configs; `--launcher` decides.
    #[serde(default)]
    pub launcher: Option<String>,
    /// Environment settings (`dist_cfg`, `cudnn_benchmark`).
    #[serde(default)]
    pub env_cfg: Option<EnvConfig>,
    /// How log lines are made (`window_size`, `by_epoch`, ...).
    #[serde(default)]
    pub log_processor: Option<LogProcessorConfig>,
    /// The text log's level.
    #[serde(default)]
    pub log_level: Option<LogLevel>,
    /// Where scalars go.
    #[serde(default)]
    pub visualizer: Option<VisualizerConfig>,
    /// Accepted for MMEngine configs (every registered name is global here).
    #[serde(default)]
    pub default_scope: Option<String>,
    /// Seed, determinism, per-rank seeds.
    #[serde(default)]
    pub randomness: Option<RandomnessConfig>,
    /// The run's name (default `<config name>_<timestamp>`).
    #[serde(default)]
    pub experiment_name: Option<String>,
    /// MMAction2's training pipeline (a variable the dataloaders refer to).
    #[serde(default)]
    pub train_pipeline: Option<Vec<ComponentSpec<TransformKind>>>,
    /// MMAction2's validation pipeline.
    #[serde(default)]
    pub val_pipeline: Option<Vec<ComponentSpec<TransformKind>>>,
    /// MMAction2's test pipeline (also what `tools/infer` runs).
    #[serde(default)]
    pub test_pipeline: Option<Vec<ComponentSpec<TransformKind>>>,
}

/// MMEngine's default hooks, by their `default_hooks` slot, in registration order.
pub const DEFAULT_HOOKS: [(&str, &str); 6] = [
    ("runtime_info", "RuntimeInfoHook"),
    ("timer", "IterTimerHook"),
    ("sampler_seed", "DistSamplerSeedHook"),
    ("logger", "LoggerHook"),
    ("param_scheduler", "ParamSchedulerHook"),
    ("checkpoint", "CheckpointHook"),
];

/// The top-level keys [`RunnerConfig`] knows, in declaration order.
pub fn known_keys() -> Vec<String> {
    let schema = schema_for::<RunnerConfig>();
    schema
        .as_value()
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Checks every top-level key: a [`RunnerConfig`] key or a variable. `custom_imports`
/// gets its own explanation.
pub fn check_top_level(cfg: &Config) -> Result<(), EngineError> {
    let known = known_keys();
    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
    for key in cfg.as_table().keys() {
        if known.contains(key) || cfg.variables().contains(key) {
            continue;
        }
        let message = if key == "custom_imports" {
            "Kinema links component crates when a binary is built, not at run time: build a binary that links \
             your crate and calls kinema_cli (docs/new_component.md)"
                .to_string()
        } else {
            let hint = match kinema_core::registry::closest_name(key, &refs) {
                Some(best) => format!(" (did you mean `{best}`?)"),
                None => String::new(),
            };
            format!(
                "unknown top-level key{hint}; the known keys are {}; any other key must be a variable that some \
                 value refers to with ${{{key}}}",
                known.join(", ")
            )
        };
        return Err(EngineError::setting(cfg, key, message));
    }
    Ok(())
}

/// Fills in the `type` of the tables the runner gives a default type: `train_cfg`
/// (`EpochBasedTrainLoop`, or `IterBasedTrainLoop` with `by_epoch = false`), `val_cfg` /
/// `test_cfg` (`ValLoop` / `TestLoop`, when given), `optim_wrapper` (`OptimWrapper`) and
/// each default hook slot. The runner builds from this, and the resolved dump shows it.
pub fn apply_default_types(cfg: &mut Config) -> Result<(), EngineError> {
    if matches!(cfg.get("optim_wrapper"), Some(Value::Object(t)) if !t.contains_key("type")) {
        cfg.set("optim_wrapper.type", json!("OptimWrapper"))?;
    }
    if let Some(Value::Object(table)) = cfg.get("train_cfg") {
        if !table.contains_key("type") {
            let by_epoch = table.get("by_epoch").and_then(Value::as_bool).unwrap_or(true);
            let name = if by_epoch { "EpochBasedTrainLoop" } else { "IterBasedTrainLoop" };
            cfg.remove("train_cfg.by_epoch");
            cfg.set("train_cfg.type", json!(name))?;
        }
    }
    for (key, name) in [("val_cfg", "ValLoop"), ("test_cfg", "TestLoop")] {
        if matches!(cfg.get(key), Some(Value::Object(t)) if !t.contains_key("type")) {
            cfg.set(&format!("{key}.type"), json!(name))?;
        }
    }
    for (slot, name) in DEFAULT_HOOKS {
        let key = format!("default_hooks.{slot}");
        match cfg.get(&key) {
            None => cfg.set(&key, json!({ "type": name }))?,
            Some(Value::Object(t)) if !t.contains_key("type") => cfg.set(&format!("{key}.type"), json!(name))?,
            _ => {}
        }
    }
    Ok(())
}

/// The config as the runner uses it, with every component's defaults filled in (what the
/// work dir keeps as "what ran", and `tools/print_config --resolved` prints). Nothing is
/// built. Variables stay as they are.
pub fn resolved_config(cfg: &Config) -> Result<Value, EngineError> {
    check_top_level(cfg)?;
    let mut cfg = cfg.clone();
    apply_default_types(&mut cfg)?;
    // The typed sections with their defaults (data loaders, `env_cfg`, ...); component
    // tables inside come back as written and are resolved below.
    let mut root = cfg.as_value().clone();
    if let (Value::Object(map), Ok(Value::Object(sections))) = (&mut root, serde_json::to_value(typed(&cfg)?)) {
        for (key, value) in sections {
            if !value.is_null() {
                map.insert(key, value);
            }
        }
    }
    let site = BuildSite::root(&cfg);
    Ok(resolve_tree(&root, &schema_for::<RunnerConfig>(), &site)?)
}

/// The typed top level of `cfg` (after [`check_top_level`]), with the file and key of
/// a wrongly typed value in errors.
pub fn typed(cfg: &Config) -> Result<RunnerConfig, EngineError> {
    let known = known_keys();
    let subset: serde_json::Map<String, Value> =
        cfg.as_table().iter().filter(|(k, _)| known.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    serde_path_to_error::deserialize(Value::Object(subset)).map_err(|e| {
        let at = KeyPath::parse(&e.path().to_string().replace('?', ""));
        let (key, message) = kinema_core::registry::describe_serde_problem(&e.inner().to_string(), &at);
        EngineError::Setting { source_of: cfg.source_of(&key), key, message }
    })
}
