//! What ActionCLIP adds to the generic tools: its checkpoints recognised without a
//! config (architecture from shapes, as upstream `init_actionclip`), and the flags of
//! zero-shot inference (`--labels`, `--template`, ...), each setting a key of the model
//! table.

use kinema_models::flags::{FlagValue, ModelFlag};
use kinema_models::{register_checkpoint_interpreter, register_classes_key, register_model_flag, ModelError};
use kinema_torch::checkpoint::Checkpoint;
use serde_json::Value;

use crate::checkpoint::{infer_spec, model_table_of, rename, SourceFormat};
use crate::config::{DEFAULT_NUM_LAYERS, DEFAULT_NUM_SEGS};

/// The model table of an ActionCLIP or CLIP checkpoint; `None` for other files. A
/// CLIP-only file (OpenAI's) gets the parameter-free `meanP` adapter: plain CLIP
/// zero-shot with frame averaging.
fn interpret(ck: &Checkpoint) -> Option<Result<Value, ModelError>> {
    let renamed = rename(ck, SourceFormat::Auto, None).ok()?;
    let fallback = if renamed.is_clip_only() {
        log::info!("{} holds only CLIP: using the parameter-free meanP adapter", ck.path.display());
        match crate::checkpoint::spec::build_named("meanP") {
            Ok(a) => Some(a),
            Err(e) => return Some(Err(e)),
        }
    } else {
        None
    };
    Some(infer_spec(&renamed, Some(DEFAULT_NUM_SEGS), DEFAULT_NUM_LAYERS, fallback).map(|inferred| {
        if !inferred.segs_from_checkpoint {
            log::info!("frames per clip: {} (not recorded in the checkpoint)", inferred.spec.num_segs);
        }
        let mut table = model_table_of(&inferred.spec);
        table["pretrained_format"] = Value::String(renamed.format.to_string());
        table
    }))
}

register_checkpoint_interpreter!("ActionClip", interpret);
register_classes_key!("ActionClip", "labels_or_label_file");

register_model_flag!(ModelFlag {
    model: "ActionClip",
    long: "labels",
    key: "labels_or_label_file",
    value: FlagValue::CommaList,
    help: "class names, comma-separated",
});
register_model_flag!(ModelFlag {
    model: "ActionClip",
    long: "label-file",
    key: "labels_or_label_file",
    value: FlagValue::Text,
    help: "a file with one class name per line (or an id,name CSV)",
});
register_model_flag!(ModelFlag {
    model: "ActionClip",
    long: "template",
    key: "templates_or_template_file",
    value: FlagValue::Repeated,
    help: "a prompt template with {} for the class name (repeatable; default: the 16 ActionCLIP templates)",
});
register_model_flag!(ModelFlag {
    model: "ActionClip",
    long: "template-file",
    key: "templates_or_template_file",
    value: FlagValue::Text,
    help: "a file with one prompt template per line",
});
register_model_flag!(ModelFlag {
    model: "ActionClip",
    long: "text-cache-dir",
    key: "text_cache_dir",
    value: FlagValue::Text,
    help: "keep prompt text features in this folder between runs",
});
register_model_flag!(ModelFlag {
    model: "ActionClip",
    long: "num-segs",
    key: "num_adapter_segs",
    value: FlagValue::Integer,
    help: "frames per clip, for checkpoints that do not record it (original ActionCLIP `Transf`)",
});
