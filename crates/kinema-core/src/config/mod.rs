//! TOML configs with MMEngine's semantics.
//!
//! ```no_run
//! use kinema_core::Config;
//! let cfg = Config::load("configs/recognition/tsn/my_experiment.toml", &["train_dataloader.batch_size=8"])?;
//! println!("{}", cfg.to_toml_string()?);
//! # Ok::<(), kinema_core::ConfigError>(())
//! ```
//!
//! Order of work in [`Config::load`]: read the file and its `_base_` files (merged
//! recursively), apply `--cfg-options`, then resolve `${a.b}` references.

mod error;
mod key_path;
mod load;
mod merge;
mod origins;
mod overrides;
mod references;
mod render;
mod value_parse;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use error::{type_name, ConfigError, Source};
pub use key_path::{KeyPath, Segment};
pub use load::{normalize, BASE_KEY};
pub use merge::DELETE_KEY;
pub use origins::Origins;
pub use overrides::parse_overrides;
pub use references::{MAX_REFERENCE_DEPTH, MAX_RESOLVED_SIZE};
pub use render::to_toml_string;
pub use value_parse::parse_override_value;

/// A merged config: a table of values plus the source of each value.
#[derive(Debug, Clone)]
pub struct Config {
    root: Value,
    origins: Origins,
    entry: Source,
    variables: BTreeSet<String>,
}

impl Config {
    /// Reads `path` with its bases, applies `overrides` (`key=value` strings) and resolves
    /// references: what every tool does with its CONFIG and `--cfg-options`.
    pub fn load<S: AsRef<str>>(path: impl AsRef<Path>, overrides: &[S]) -> Result<Self, ConfigError> {
        let mut cfg = Self::from_file(path)?;
        cfg.apply_overrides(overrides)?;
        cfg.resolve_references()?;
        Ok(cfg)
    }

    /// Reads `path` with its bases, without overrides or reference resolution.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let loaded = load::load_with_bases(path, &mut Vec::new())?;
        Ok(Config {
            root: Value::Object(loaded.table),
            origins: loaded.origins,
            entry: Source::File(normalize(path)),
            variables: loaded.variables,
        })
    }

    /// Parses TOML text that has no `_base_` (for tests and programmatic configs).
    /// `name` is what error messages call the text.
    pub fn from_toml_str(text: &str, name: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let file = name.into();
        let mut table = load::parse_toml(text, &file)?;
        if table.contains_key(BASE_KEY) {
            return Err(ConfigError::BadBase {
                file,
                found: "a `_base_` key in text without a folder (load it from a file)",
            });
        }
        table.shift_remove(BASE_KEY);
        Ok(Self::from_value(Value::Object(table), Source::File(file)))
    }

    /// Wraps an existing table, attributing every value to `source`.
    pub fn from_value(root: Value, source: Source) -> Self {
        let mut origins = Origins::default();
        origins.record_tree(&KeyPath::root(), &root, &source);
        let mut variables = BTreeSet::new();
        references::referenced_roots(&root, &mut variables);
        Config { root, origins, entry: source, variables }
    }

    /// Applies `--cfg-options` style `key=value` overrides.
    pub fn apply_overrides<S: AsRef<str>>(&mut self, overrides: &[S]) -> Result<(), ConfigError> {
        let parsed = parse_overrides(overrides)?;
        self.apply_parsed_overrides(parsed)
    }

    /// Applies overrides that are already parsed into values.
    pub fn apply_parsed_overrides(&mut self, overrides: Vec<(String, Value)>) -> Result<(), ConfigError> {
        if overrides.is_empty() {
            return Ok(());
        }
        let Value::Object(root) = &mut self.root else { unreachable!("the root is a table") };
        overrides::apply_overrides(root, overrides, &mut self.origins, &self.entry)
    }

    /// Replaces every `${a.b}` reference by its target.
    pub fn resolve_references(&mut self) -> Result<(), ConfigError> {
        references::referenced_roots(&self.root, &mut self.variables);
        references::resolve_all(&mut self.root, &mut self.origins, &self.entry)
    }

    /// The config's variables: the top-level keys that some file of the `_base_` chain, or
    /// an override, refers to with `${}` (`num_segs`, `data_root`, `train_pipeline`). A
    /// top-level key that is neither a known section nor a variable is a typo.
    pub fn variables(&self) -> &BTreeSet<String> {
        &self.variables
    }

    /// The whole config as a JSON value (a table).
    pub fn as_value(&self) -> &Value {
        &self.root
    }

    /// The top-level table.
    pub fn as_table(&self) -> &Map<String, Value> {
        self.root.as_object().expect("the root is a table")
    }

    /// The value at a dotted path such as `model.backbone.depth`.
    pub fn get(&self, dotted: &str) -> Option<&Value> {
        references::get(&self.root, &KeyPath::parse(dotted))
    }

    /// The value at `path`.
    pub fn get_path(&self, path: &KeyPath) -> Option<&Value> {
        references::get(&self.root, path)
    }

    /// Sets the value at a dotted path, creating tables on the way; used by tools for
    /// flags such as `--work-dir` that take precedence over the file.
    pub fn set(&mut self, dotted: &str, value: Value) -> Result<(), ConfigError> {
        let parts: Vec<&str> = dotted.split('.').collect();
        let mut node = self.root.as_object_mut().expect("the root is a table");
        for part in &parts[..parts.len() - 1] {
            let entry = node.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                return Err(ConfigError::BadOverride {
                    argument: dotted.to_string(),
                    reason: format!("`{part}` is {}, not a table, so `{dotted}` cannot be set in it", type_name(entry)),
                });
            }
            node = entry.as_object_mut().expect("checked above");
        }
        let path = KeyPath::parse(dotted);
        self.origins.remove_under(&path);
        self.origins.record_tree(&path, &value, &Source::Program);
        node.insert(parts[parts.len() - 1].to_string(), value);
        Ok(())
    }

    /// Removes the value at a dotted path (nothing when it is absent); returns it.
    pub fn remove(&mut self, dotted: &str) -> Option<Value> {
        let path = KeyPath::parse(dotted);
        let (parent, last) = match path.segments().split_last() {
            Some((Segment::Key(last), parent)) => (KeyPath::from_segments(parent.to_vec()), last.clone()),
            _ => return None,
        };
        let removed = match references::get_mut(&mut self.root, &parent) {
            Some(Value::Object(map)) => map.shift_remove(&last),
            _ => None,
        };
        if removed.is_some() {
            self.origins.remove_under(&path);
        }
        removed
    }

    /// The file (or other source) that set the value at `path`, or its nearest ancestor.
    pub fn source_of(&self, path: &KeyPath) -> Source {
        self.origins.lookup_or(path, &self.entry)
    }

    /// The entry file this config was loaded from.
    pub fn entry(&self) -> &Source {
        &self.entry
    }

    /// The config as TOML (keys set to `None` are left out).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        render::to_toml_string(&self.root)
    }

    /// The config as pretty JSON.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.root).expect("JSON values always serialize")
    }
}
