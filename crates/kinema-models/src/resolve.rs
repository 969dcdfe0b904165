//! The one way from (config, checkpoint) to a built model with its weights, used by
//! training (`load_from`, a model's `pretrained`), `tools/test`, `tools/infer` and
//! `tools/convert_checkpoint`.
//!
//! * [`read_checkpoint`]: any supported file (PyTorch zip, MMEngine `.pth`, TorchScript,
//!   safetensors, Kinema training checkpoints) to named tensors plus metadata; optimizer
//!   state is left out.
//! * [`model_table`]: the `model` table to build when there is no config: the one a
//!   Kinema checkpoint carries, else the first registered [`CheckpointInterpreter`] that
//!   recognises the file (a project tells its checkpoints' architecture from their shapes).
//! * [`load_weights`]: the model renames the file's tensors
//!   ([`Recognizer::adapt_weights`]) and they are copied in, strictly by default.
//! * [`build_model`]: registry build, then the weights; with weights to load, random
//!   initialisation is skipped (every parameter is overwritten or the load fails).

use std::path::Path;

use kinema_core::registry::{build, BuildSite, Built};
use kinema_torch::checkpoint::{load_checkpoint_lenient, Checkpoint, LoadMode, LoadReport, OPTIMIZER_PREFIX};
use serde_json::Value;

use crate::layers::init::{without_init, without_random_init};
use crate::recognizer::{ModelContext, ModelError, Recognizer, RecognizerKind};

/// Recognises the checkpoints of one model family and tells the `model` table that
/// builds a matching model (architecture from the tensors' names and shapes).
pub struct CheckpointInterpreter {
    /// The model's registered type (`"Recognizer2D"`).
    pub model: &'static str,
    /// `None` when the checkpoint is not one of this family's; else the `model` table.
    pub interpret: fn(&Checkpoint) -> Option<Result<Value, ModelError>>,
}

inventory::collect!(CheckpointInterpreter);

/// Registers a [`CheckpointInterpreter`]: `register_checkpoint_interpreter!("Type", function);`.
#[macro_export]
macro_rules! register_checkpoint_interpreter {
    ($model:literal, $interpret:path) => {
        $crate::__inventory::submit! {
            $crate::resolve::CheckpointInterpreter { model: $model, interpret: $interpret }
        }
    };
}

/// The key of a model type's table that takes its class names, for models whose classes
/// are an input (zero-shot label sets): a checkpoint that records the names it was
/// trained with fills it when the model is built from the checkpoint alone.
pub struct ClassesKey {
    /// The model's registered type.
    pub model: &'static str,
    /// The table key (`"labels_or_label_file"`).
    pub key: &'static str,
}

inventory::collect!(ClassesKey);

/// Registers a [`ClassesKey`]: `register_classes_key!("Type", "key");`.
#[macro_export]
macro_rules! register_classes_key {
    ($model:literal, $key:literal) => {
        $crate::__inventory::submit! { $crate::resolve::ClassesKey { model: $model, key: $key } }
    };
}

/// Reads the weights of any supported checkpoint file: the model's tensors (without a
/// training checkpoint's `optimizer/` tensors) and the file's metadata.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, ModelError> {
    let mut ck = load_checkpoint_lenient(path)?;
    ck.tensors.retain(|(name, _)| !name.starts_with(OPTIMIZER_PREFIX));
    Ok(ck)
}

/// The config text a checkpoint carries (`meta.cfg` of Kinema's `.pth`, `meta.config` of
/// its safetensors), if it is TOML (MMAction2's Python config text is not).
pub fn embedded_config(ck: &Checkpoint) -> Option<toml::Table> {
    let meta = ck.meta.as_ref()?;
    let inner = meta.get("meta").unwrap_or(meta);
    ["config", "cfg"]
        .iter()
        .filter_map(|k| inner.get(*k).and_then(Value::as_str))
        .find_map(|text| text.parse::<toml::Table>().ok())
}

/// The class names a checkpoint records (`meta.dataset_meta.classes`, as MMEngine).
pub fn checkpoint_classes(ck: &Checkpoint) -> Option<Vec<String>> {
    let meta = ck.meta.as_ref()?;
    let inner = meta.get("meta").unwrap_or(meta);
    let classes = inner.get("dataset_meta")?.get("classes")?.as_array()?;
    classes.iter().map(|c| c.as_str().map(str::to_string)).collect()
}

/// The `model` table to build for `ck` when no config is given: its embedded config's
/// `model` table, else what a registered interpreter reads from its tensors. When the
/// checkpoint records its class names and the model takes them as input (a
/// [`ClassesKey`]), they are set.
pub fn model_table(ck: &Checkpoint) -> Result<Value, ModelError> {
    let mut table = model_table_without_classes(ck)?;
    if let (Some(classes), Some(ty)) = (checkpoint_classes(ck), table.get("type").and_then(Value::as_str)) {
        if let Some(key) = inventory::iter::<ClassesKey>.into_iter().find(|k| k.model == ty).map(|k| k.key) {
            table[key] = serde_json::json!(classes);
        }
    }
    Ok(table)
}

fn model_table_without_classes(ck: &Checkpoint) -> Result<Value, ModelError> {
    if let Some(model) = embedded_config(ck).and_then(|t| t.get("model").cloned()) {
        return serde_json::to_value(model).map_err(|e| ModelError::part("the checkpoint's embedded config", e));
    }
    let mut tried = Vec::new();
    for interpreter in inventory::iter::<CheckpointInterpreter> {
        tried.push(interpreter.model);
        if let Some(table) = (interpreter.interpret)(ck) {
            return table;
        }
    }
    Err(ModelError::Format {
        path: ck.path.clone(),
        message: format!(
            "no model config: the checkpoint carries none and no linked model family recognises its tensors \
             (tried: {}); pass --config",
            if tried.is_empty() { "none linked".to_string() } else { tried.join(", ") }
        ),
    })
}

/// Loads `ck`'s tensors, renamed by the model, into `model`. Strict: every parameter
/// must be there with its shape and nothing else (else an error naming every mismatch,
/// and nothing changes); non-strict: what matches is loaded and the report says the rest.
/// The parameters take over the checkpoint's memory where they can
/// ([`load_into_varstore_sharing`](kinema_torch::checkpoint::load_into_varstore_sharing)):
/// `ck` is read to be loaded once.
pub fn load_weights(model: &mut dyn Recognizer, ck: &Checkpoint, mode: LoadMode) -> Result<LoadReport, ModelError> {
    let tensors = model.adapt_weights(ck)?;
    let source = ck.path.display().to_string();
    // Through `var_store_mut`: models drop caches derived from their weights.
    let report = kinema_torch::checkpoint::load_into_varstore_sharing(model.var_store_mut(), &tensors, mode, &source)
        .map_err(|e| match e {
        kinema_torch::checkpoint::CheckpointError::Mismatch(report) => ModelError::Weights(report),
        other => ModelError::Checkpoint(other),
    })?;
    Ok(report)
}

/// Builds the model of the table `table` (at `site`) and, when `weights` is given, loads
/// them with `mode`, skipping the random initialisation (and, for a strict load, which
/// overwrites every parameter or fails, any initialisation).
pub fn build_model(
    table: &Value,
    site: &BuildSite<'_>,
    ctx: &ModelContext,
    weights: Option<(&Checkpoint, LoadMode)>,
) -> Result<Built<dyn Recognizer>, ModelError> {
    let mut built = match weights {
        Some((_, LoadMode::Strict)) => without_init(|| build::<RecognizerKind>(table, site, ctx))?,
        Some(_) => without_random_init(|| build::<RecognizerKind>(table, site, ctx))?,
        None => build::<RecognizerKind>(table, site, ctx)?,
    };
    if let Some((ck, mode)) = weights {
        let report = load_weights(built.component.as_mut(), ck, mode)?;
        log::info!("loaded {} tensors from {}", report.loaded, ck.path.display());
    }
    built.component.set_training(false);
    Ok(built)
}
