//! Which file (or command-line option) each config value came from, so errors found
//! long after merging can still name the file.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{KeyPath, Source};

/// A map from key paths to the source that last set them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origins {
    map: BTreeMap<KeyPath, Source>,
}

impl Origins {
    /// Records `source` for `path` and every value below it.
    pub fn record_tree(&mut self, path: &KeyPath, value: &Value, source: &Source) {
        self.map.insert(path.clone(), source.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.record_tree(&path.key(k), v, source);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.record_tree(&path.index(i), v, source);
                }
            }
            _ => {}
        }
    }

    /// Forgets `path` and everything below it.
    pub fn remove_under(&mut self, path: &KeyPath) {
        self.map.retain(|k, _| !k.starts_with(path));
    }

    /// The source of `path`, or of its nearest recorded ancestor.
    pub fn lookup(&self, path: &KeyPath) -> Option<&Source> {
        let mut p = path.clone();
        loop {
            if let Some(s) = self.map.get(&p) {
                return Some(s);
            }
            if p.is_root() {
                return None;
            }
            p = p.parent();
        }
    }

    /// Like [`Origins::lookup`], falling back to `default`.
    pub fn lookup_or(&self, path: &KeyPath, default: &Source) -> Source {
        self.lookup(path).cloned().unwrap_or_else(|| default.clone())
    }

    /// Gives `to` and every value below it (`value` is what `to` holds) the origin of the
    /// same place under `from`, passed through `wrap`: a value copied by a reference keeps,
    /// item by item, the file or option that wrote it.
    pub fn copy_tree(&mut self, from: &KeyPath, to: &KeyPath, value: &Value, wrap: &dyn Fn(Source) -> Source) {
        if let Some(source) = self.lookup(from).cloned() {
            self.map.insert(to.clone(), wrap(source));
        }
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.copy_tree(&from.key(k), &to.key(k), v, wrap);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.copy_tree(&from.index(i), &to.index(i), v, wrap);
                }
            }
            _ => {}
        }
    }

    /// Takes every entry of `other`, replacing existing ones.
    pub fn extend(&mut self, other: Origins) {
        self.map.extend(other.map);
    }
}
