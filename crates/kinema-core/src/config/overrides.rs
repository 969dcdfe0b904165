//! `--cfg-options key=value ...`, merged like MMEngine's `Config.merge_from_dict` with
//! `allow_list_keys=True`: dotted keys create missing tables, numeric parts index
//! existing lists.

use serde_json::{Map, Value};

use super::merge::{merge_tables, MergeCtx};
use super::origins::Origins;
use super::value_parse::parse_override_value;
use super::{ConfigError, KeyPath, Source};

/// Splits `key=value` arguments and parses the values; later keys win.
pub fn parse_overrides<S: AsRef<str>>(args: &[S]) -> Result<Vec<(String, Value)>, ConfigError> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        let Some((key, value)) = arg.split_once('=') else {
            return Err(ConfigError::BadOverride {
                argument: arg.to_string(),
                reason: "expected `key=value` (for example `train_dataloader.batch_size=8`)".into(),
            });
        };
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(ConfigError::BadOverride {
                argument: arg.to_string(),
                reason: "the key must be a dotted path with no empty parts, like `model.backbone.depth`".into(),
            });
        }
        if key.split('.').next() == Some(super::BASE_KEY) {
            return Err(ConfigError::BadOverride {
                argument: arg.to_string(),
                reason: format!(
                    "`{}` (inheritance) is read from the files; it cannot be set from the command line",
                    super::BASE_KEY
                ),
            });
        }
        let parsed = parse_override_value(value)
            .map_err(|reason| ConfigError::BadOverride { argument: arg.to_string(), reason })?;
        out.retain(|(k, _)| k != key);
        out.push((key.to_string(), parsed));
    }
    Ok(out)
}

/// Merges parsed overrides into `root`.
pub(crate) fn apply_overrides(
    root: &mut Map<String, Value>,
    overrides: Vec<(String, Value)>,
    origins: &mut Origins,
    fallback: &Source,
) -> Result<(), ConfigError> {
    let mut tree = Map::new();
    for (key, value) in overrides {
        let parts: Vec<&str> = key.split('.').collect();
        let mut node = &mut tree;
        for part in &parts[..parts.len() - 1] {
            let entry = node.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("just made a table");
        }
        node.insert(parts[parts.len() - 1].to_string(), value);
    }
    let mut ctx =
        MergeCtx { child_source: &Source::CommandLine, origins, allow_list_keys: true, fallback_source: fallback };
    merge_tables(root, tree, &KeyPath::root(), &mut ctx)
}
