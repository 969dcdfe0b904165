//! Reading TOML files and resolving `_base_` inheritance.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::error::type_name;
use super::merge::{merge_tables, strip_delete_keys, MergeCtx};
use super::origins::Origins;
use super::{ConfigError, KeyPath, Source};

/// The key listing a file's parent configs.
pub const BASE_KEY: &str = "_base_";

/// A loaded file: its merged table and where each value came from.
pub(crate) struct Loaded {
    pub table: Map<String, Value>,
    pub origins: Origins,
    /// Top-level keys some file of the chain refers to with `${}` (its variables).
    pub variables: BTreeSet<String>,
}

/// Loads `path` and, recursively, its bases, merging them MMEngine's way.
pub(crate) fn load_with_bases(path: &Path, chain: &mut Vec<PathBuf>) -> Result<Loaded, ConfigError> {
    let display = normalize(path);
    let identity = std::fs::canonicalize(path).unwrap_or_else(|_| display.clone());
    if chain.contains(&identity) {
        let mut cycle = chain.clone();
        cycle.push(identity);
        return Err(ConfigError::BaseCycle { chain: cycle });
    }
    chain.push(identity);
    crate::fs::check_regular_file(&display, "config file")?;
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: display.clone(), source })?;
    let mut table = parse_toml(&text, &display)?;
    let bases = take_bases(&mut table, &display)?;
    let source = Source::File(display.clone());
    let mut variables = BTreeSet::new();
    for value in table.values() {
        super::references::referenced_roots(value, &mut variables);
    }

    if bases.is_empty() {
        let mut value = Value::Object(table);
        strip_delete_keys(&mut value);
        let mut origins = Origins::default();
        origins.record_tree(&KeyPath::root(), &value, &source);
        chain.pop();
        let Value::Object(table) = value else { unreachable!("built from an object") };
        return Ok(Loaded { table, origins, variables });
    }

    let dir = display.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut merged = Map::new();
    let mut origins = Origins::default();
    let mut key_owner: Vec<(String, PathBuf)> = Vec::new();
    for base in bases {
        let resolved = normalize(&dir.join(&base));
        if !resolved.exists() && std::fs::symlink_metadata(&resolved).is_err() {
            return Err(ConfigError::BaseNotFound { file: display.clone(), base, resolved });
        }
        let loaded = load_with_bases(&resolved, chain)?;
        for (key, value) in loaded.table {
            if let Some((_, first)) = key_owner.iter().find(|(k, _)| *k == key) {
                return Err(ConfigError::DuplicateBaseKey {
                    file: display.clone(),
                    key,
                    first: first.display().to_string(),
                    second: resolved.display().to_string(),
                });
            }
            key_owner.push((key.clone(), resolved.clone()));
            merged.insert(key, value);
        }
        origins.extend(loaded.origins);
        variables.extend(loaded.variables);
    }
    let mut ctx =
        MergeCtx { child_source: &source, origins: &mut origins, allow_list_keys: false, fallback_source: &source };
    merge_tables(&mut merged, table, &KeyPath::root(), &mut ctx)?;
    chain.pop();
    Ok(Loaded { table: merged, origins, variables })
}

/// Parses TOML text into a JSON-like table (datetimes become strings).
pub(crate) fn parse_toml(text: &str, file: &Path) -> Result<Map<String, Value>, ConfigError> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| ConfigError::Parse { file: file.to_path_buf(), message: e.to_string().trim_end().to_string() })?;
    match toml_to_json(toml::Value::Table(table)) {
        Value::Object(map) => Ok(map),
        _ => unreachable!("a TOML document is a table"),
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string()))
        }
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

fn take_bases(table: &mut Map<String, Value>, file: &Path) -> Result<Vec<String>, ConfigError> {
    match table.shift_remove(BASE_KEY) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(ConfigError::BadBase { file: file.to_path_buf(), found: type_name(&other) }),
            })
            .collect(),
        Some(other) => Err(ConfigError::BadBase { file: file.to_path_buf(), found: type_name(&other) }),
    }
}

/// Removes `.` and folds `..` lexically so messages show `configs/_base_/x.toml`
/// rather than `configs/sub/../_base_/x.toml`.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
