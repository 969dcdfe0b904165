//! The architecture a checkpoint implies: CLIP hyper-parameters from shapes (OpenAI's
//! `build_model` rules), the adapter type from its keys, the adapter's block count
//! (keys ending `.attn.in_proj_weight`, as `init_actionclip`) and frame count (its
//! position table's rows).

use kinema_models::clip::ClipArch;
use kinema_models::weights::shapes_of;
use kinema_models::ModelError;
use serde_json::{json, Value};

use super::ActionClipCheckpoint;
use crate::adapters::{self, AdapterSpec};
use crate::model::ActionClipSpec;

/// What the checkpoint says, and what it leaves open.
#[derive(Debug)]
pub struct InferredSpec {
    /// The full spec.
    pub spec: ActionClipSpec,
    /// True when the frame count came from the checkpoint (a position table or
    /// metadata), false when `default_segs` was used.
    pub segs_from_checkpoint: bool,
    /// True when the checkpoint has adapter weights (or says it has none, `meanP`).
    pub has_adapter: bool,
}

/// Infers the architecture. `default_segs` / `default_layers` / `default_adapter`
/// fill what a CLIP-only checkpoint cannot tell.
pub fn infer_spec(
    ck: &ActionClipCheckpoint,
    default_segs: Option<i64>,
    default_layers: i64,
    default_adapter: Option<Box<dyn AdapterSpec>>,
) -> Result<InferredSpec, ModelError> {
    let fmt = |message: String| ModelError::Format { path: ck.path.clone(), message };
    let shapes = shapes_of(&ck.tensors);
    let clip = ClipArch::from_shapes(&shapes, "clip.").map_err(|e| fmt(e.to_string()))?;
    let meta_segs = ck.metadata.get("num_segs").and_then(|s| s.parse::<i64>().ok());
    let count = |suffix: &str, prefix: &str| {
        shapes.keys().filter(|k| k.starts_with(prefix) && k.ends_with(suffix)).count() as i64
    };
    let has = |prefix: &str| shapes.keys().any(|k| k.starts_with(prefix));
    let rows = |key: &str, axis: usize| shapes.get(key).and_then(|s| s.get(axis).copied());

    let (adapter, layers, segs, from_ckpt, has_adapter): (Box<dyn AdapterSpec>, i64, Option<i64>, bool, bool) =
        if has("adapter.transformer.transformer_enc.") {
            let layers = count(".self_attn.in_proj_weight", "adapter.transformer.transformer_enc.");
            let t = rows("adapter.transformer.pos_embed", 1).map(|r| r - 1);
            let spec = build_named("Transf_cls")?.with_layers(layers);
            (spec, layers, t, t.is_some(), true)
        } else if has("adapter.transformer.resblocks.") {
            let layers = count(".attn.in_proj_weight", "adapter.");
            let t = rows("adapter.frame_position_embeddings.weight", 0);
            let name = match ck.metadata.get("adapter").map(String::as_str) {
                Some("Transf") => "Transf",
                _ => "TransformerAdapter",
            };
            (build_named(name)?.with_layers(layers), layers, t, t.is_some(), true)
        } else if has("adapter.lstm_visual.") {
            (build_named("LSTM")?, default_layers, meta_segs, meta_segs.is_some(), true)
        } else if has("adapter.shift.") {
            (build_named("Conv_1D")?, default_layers, meta_segs, meta_segs.is_some(), true)
        } else if ck.metadata.get("adapter").map(String::as_str) == Some("meanP") {
            (build_named("meanP")?, default_layers, meta_segs, meta_segs.is_some(), true)
        } else {
            let spec = match default_adapter {
                Some(s) => s,
                None => build_named("TransformerAdapter")?,
            };
            (spec, default_layers, meta_segs, meta_segs.is_some(), false)
        };
    let num_segs = match segs.or(default_segs) {
        Some(t) if t > 0 => t,
        _ => return Err(fmt("the checkpoint does not tell the frames per clip: give `num_adapter_segs` (T)".into())),
    };
    Ok(InferredSpec {
        spec: ActionClipSpec { clip, adapter, num_segs, num_layers: layers },
        segs_from_checkpoint: from_ckpt,
        has_adapter,
    })
}

/// Builds the registered adapter `name` with its default config.
pub fn build_named(name: &str) -> Result<Box<dyn AdapterSpec>, ModelError> {
    let site = kinema_core::BuildSite::detached(kinema_core::KeyPath::parse("adapter"));
    Ok(kinema_core::registry::build::<adapters::AdapterKind>(&json!({ "type": name }), &site, &())?.into_inner())
}

/// The `model` table that builds a model matching `spec` (for a checkpoint read without
/// a config): the CLIP preset's name when it is one, else its sizes.
pub fn model_table_of(spec: &ActionClipSpec) -> Value {
    let clip_arch = match spec.clip.preset_name() {
        Some(name) => Value::String(name.to_string()),
        None => serde_json::to_value(spec.clip).unwrap_or(Value::Null),
    };
    json!({
        "type": "ActionClip",
        "clip_arch": clip_arch,
        "num_adapter_segs": spec.num_segs,
        "num_adapter_layers": spec.num_layers,
        "adapter": { "type": spec.adapter.name() },
    })
}
