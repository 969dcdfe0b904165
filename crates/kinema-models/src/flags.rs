//! Command-line flags a model adds to the inference tools, each setting one key of its
//! config table. A zero-shot model registers `--labels` (-> its `labels_or_label_file`),
//! `--template`, ...; the tools offer every linked model's flags and apply each to the
//! model being run, so no tool has special cases for a model.
//!
//! ```ignore
//! kinema_models::register_model_flag!(ModelFlag {
//!     model: "MyModel",
//!     long: "labels",
//!     key: "labels_or_label_file",
//!     value: FlagValue::CommaList,
//!     help: "class names, comma-separated",
//! });
//! ```

use serde_json::{Map, Value};

use crate::recognizer::ModelError;

/// How a flag's text becomes the config value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagValue {
    /// One string (a path, a name).
    Text,
    /// `a,b,c` -> a list of strings (trimmed).
    CommaList,
    /// The flag may be repeated; each occurrence is one item of a list.
    Repeated,
    /// An integer.
    Integer,
}

/// One flag: `--<long> VALUE` sets `model.<key>` of the models of type `model`.
#[derive(Debug)]
pub struct ModelFlag {
    /// The registered model type it applies to (`"MyModel"`).
    pub model: &'static str,
    /// The flag without dashes (`"labels"`).
    pub long: &'static str,
    /// The key of the model's config table it sets.
    pub key: &'static str,
    /// How the text is turned into the value.
    pub value: FlagValue,
    /// One line of help.
    pub help: &'static str,
}

inventory::collect!(ModelFlag);

/// Registers a [`ModelFlag`].
#[macro_export]
macro_rules! register_model_flag {
    ($flag:expr) => {
        $crate::__inventory::submit! { $flag }
    };
}

/// Every registered flag, sorted by flag then model.
pub fn model_flags() -> Vec<&'static ModelFlag> {
    let mut all: Vec<&'static ModelFlag> = inventory::iter::<ModelFlag>.into_iter().collect();
    all.sort_by_key(|f| (f.long, f.model));
    all
}

/// Sets, in the `model` table of type `table.type`, the key of each given flag
/// (`given`: flag name and its occurrences, in command-line order). A flag that no
/// linked model of that type declares is an error naming the models it is for.
pub fn apply_model_flags(table: &mut Value, given: &[(String, Vec<String>)]) -> Result<(), ModelError> {
    let model = table.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    let Some(map) = table.as_object_mut() else {
        return Err(ModelError::config("model", "expected a table with a `type` key"));
    };
    for (long, values) in given {
        let flags = model_flags();
        let Some(flag) = flags.iter().find(|f| f.long == long && f.model == model) else {
            let owners: Vec<&str> = flags.iter().filter(|f| f.long == long).map(|f| f.model).collect();
            return Err(ModelError::config(
                "model",
                format!("--{long} does not apply to a {model} model (it is an option of: {})", owners.join(", ")),
            ));
        };
        set_key(map, flag, values)?;
    }
    Ok(())
}

fn set_key(map: &mut Map<String, Value>, flag: &ModelFlag, values: &[String]) -> Result<(), ModelError> {
    let value = match flag.value {
        FlagValue::Integer => {
            let text = values.last().cloned().unwrap_or_default();
            let n: i64 = text.trim().parse().map_err(|_| {
                ModelError::config(flag.key, format!("--{} expects an integer, got {text:?}", flag.long))
            })?;
            Value::from(n)
        }
        FlagValue::Text => Value::String(values.last().cloned().unwrap_or_default()),
        FlagValue::CommaList => Value::Array(
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|s| Value::String(s.trim().to_string()))
                .filter(|v| v.as_str() != Some(""))
                .collect(),
        ),
        FlagValue::Repeated => Value::Array(values.iter().cloned().map(Value::String).collect()),
    };
    map.insert(flag.key.to_string(), value);
    Ok(())
}
