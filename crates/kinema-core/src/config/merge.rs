//! MMEngine's merge rule (`Config._merge_a_into_b`): tables merge recursively, lists and
//! scalars replace whole, `_delete_ = true` replaces a table, a table over a non-table is
//! an error; with `allow_list_keys` (overrides only) numeric keys index existing lists.

use serde_json::{Map, Value};

use super::error::type_name;
use super::origins::Origins;
use super::{ConfigError, KeyPath, Source};

/// The key that makes a child table replace its base instead of merging into it.
pub const DELETE_KEY: &str = "_delete_";

/// Inputs shared by every level of one merge.
pub(crate) struct MergeCtx<'a> {
    /// Where the child values come from.
    pub child_source: &'a Source,
    /// Sources of the base values (updated as the child is merged in).
    pub origins: &'a mut Origins,
    /// Numeric keys index lists (true for `--cfg-options`, false for `_base_`).
    pub allow_list_keys: bool,
    /// Used when a base value has no recorded source.
    pub fallback_source: &'a Source,
}

/// Merges the `child` table into the `base` table at `path`.
pub(crate) fn merge_tables(
    base: &mut Map<String, Value>,
    child: Map<String, Value>,
    path: &KeyPath,
    ctx: &mut MergeCtx<'_>,
) -> Result<(), ConfigError> {
    for (key, value) in child {
        let key_path = path.key(&key);
        merge_entry(base, key, value, &key_path, ctx)?;
    }
    Ok(())
}

fn merge_entry(
    base: &mut Map<String, Value>,
    key: String,
    value: Value,
    key_path: &KeyPath,
    ctx: &mut MergeCtx<'_>,
) -> Result<(), ConfigError> {
    match value {
        Value::Object(mut child_table) => {
            let delete = matches!(child_table.shift_remove(DELETE_KEY), Some(Value::Bool(true)));
            match base.get_mut(&key) {
                Some(existing) if !delete => match existing {
                    Value::Object(base_table) => merge_tables(base_table, child_table, key_path, ctx),
                    Value::Array(list) if ctx.allow_list_keys => merge_into_list(list, child_table, key_path, ctx),
                    other => Err(ConfigError::TableOverNonTable {
                        source_of: ctx.child_source.clone(),
                        key: key_path.clone(),
                        found: type_name(other),
                        base_source: ctx.origins.lookup_or(key_path, ctx.fallback_source),
                    }),
                },
                _ => {
                    let mut fresh = Value::Object(child_table);
                    strip_delete_keys(&mut fresh);
                    replace(base, key, fresh, key_path, ctx);
                    Ok(())
                }
            }
        }
        other => {
            replace(base, key, other, key_path, ctx);
            Ok(())
        }
    }
}

/// `a.1.b = v` style overrides: numeric keys of `child` index the existing `list`.
fn merge_into_list(
    list: &mut [Value],
    child: Map<String, Value>,
    path: &KeyPath,
    ctx: &mut MergeCtx<'_>,
) -> Result<(), ConfigError> {
    for (key, value) in child {
        let index = match key.parse::<usize>() {
            Ok(i) if key.bytes().all(|b| b.is_ascii_digit()) => i,
            _ => {
                return Err(ConfigError::TableOverNonTable {
                    source_of: ctx.child_source.clone(),
                    key: path.key(&key),
                    found: "a list",
                    base_source: ctx.origins.lookup_or(path, ctx.fallback_source),
                })
            }
        };
        let item_path = path.index(index);
        if index >= list.len() {
            return Err(ConfigError::IndexOutOfRange {
                source_of: ctx.child_source.clone(),
                key: item_path,
                index,
                list: path.clone(),
                len: list.len(),
                list_source: ctx.origins.lookup_or(path, ctx.fallback_source),
            });
        }
        match (&mut list[index], value) {
            (Value::Object(item), Value::Object(mut sub)) => {
                if matches!(sub.shift_remove(DELETE_KEY), Some(Value::Bool(true))) {
                    let mut fresh = Value::Object(sub);
                    strip_delete_keys(&mut fresh);
                    ctx.origins.remove_under(&item_path);
                    ctx.origins.record_tree(&item_path, &fresh, ctx.child_source);
                    list[index] = fresh;
                } else {
                    merge_tables(item, sub, &item_path, ctx)?;
                }
            }
            (Value::Array(inner), Value::Object(sub)) => merge_into_list(inner, sub, &item_path, ctx)?,
            (slot, value) => {
                ctx.origins.remove_under(&item_path);
                ctx.origins.record_tree(&item_path, &value, ctx.child_source);
                *slot = value;
            }
        }
    }
    Ok(())
}

fn replace(base: &mut Map<String, Value>, key: String, value: Value, key_path: &KeyPath, ctx: &mut MergeCtx<'_>) {
    ctx.origins.remove_under(key_path);
    ctx.origins.record_tree(key_path, &value, ctx.child_source);
    base.insert(key, value);
}

/// Removes every `_delete_` key left in a table that had nothing to replace.
pub(crate) fn strip_delete_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.shift_remove(DELETE_KEY);
            for v in map.values_mut() {
                strip_delete_keys(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_delete_keys),
        _ => {}
    }
}
