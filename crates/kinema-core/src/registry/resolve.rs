//! Filling in defaults without building: every component table of a config, however deep,
//! gets its type's defaults, guided by the config schemas.
//!
//! A field that holds a component table is typed [`ComponentSpec<K>`] (or a list or map
//! of them). Its JSON schema carries the kind's name (`x-kinema-kind`), so
//! [`resolve_tree`] can walk a whole config, resolve each component table with its
//! registered type's config struct (serde fills the defaults and rejects unknown keys),
//! and go on into the nested components that struct declares (a model's backbone, a
//! dataset's pipeline). Nothing is built, so no file is read and no weight allocated:
//! `tools/print_config --resolved` and the runner's "what ran" dump use this.

use std::marker::PhantomData;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::build::{find_registration, BuildSite};
use super::registration::entries_named;
use super::{BuildError, Kind};

/// The schema extension naming the kind of a component table.
pub const KIND_KEYWORD: &str = "x-kinema-kind";

/// A config table naming a registered component of kind `K` by its `type`. It holds the
/// table as written; build it with [`super::build`]. Typing a config field this way
/// (instead of a plain `serde_json::Value`) tells [`resolve_tree`] and `list_registry`
/// what the field holds.
pub struct ComponentSpec<K: Kind> {
    /// The table (`{type = "...", ...}`).
    pub value: Value,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> ComponentSpec<K> {
    /// Wraps a table.
    pub fn new(value: Value) -> Self {
        ComponentSpec { value, kind: PhantomData }
    }

    /// The `type` named, if any.
    pub fn type_name(&self) -> Option<&str> {
        self.value.get("type").and_then(Value::as_str)
    }
}

impl<K: Kind> Clone for ComponentSpec<K> {
    fn clone(&self) -> Self {
        ComponentSpec::new(self.value.clone())
    }
}

impl<K: Kind> std::fmt::Debug for ComponentSpec<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ComponentSpec<{}>({})", K::NAME, self.value)
    }
}

impl<K: Kind> PartialEq for ComponentSpec<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<K: Kind> Serialize for ComponentSpec<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, K: Kind> Deserialize<'de> for ComponentSpec<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match value {
            Value::Object(_) => Ok(ComponentSpec::new(value)),
            other => Err(serde::de::Error::custom(format!(
                "invalid type: {}, expected a table with a `type` key naming a {}",
                crate::config::type_name(&other),
                K::NAME
            ))),
        }
    }
}

impl<K: Kind> JsonSchema for ComponentSpec<K> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("ComponentSpec_{}", K::NAME).into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": format!("a {} table: `type` names a registered {}, the other keys are its config", K::NAME, K::NAME),
            KIND_KEYWORD: K::NAME,
        })
    }
}

/// The root schema of a config struct, as [`resolve_tree`] takes it.
pub fn schema_for<T: JsonSchema>() -> Schema {
    SchemaGenerator::default().into_root_schema_for::<T>()
}

/// `value` with every component table (found through `schema`, the root schema of the
/// struct `value` follows) replaced by its resolved form, recursively. Values the schema
/// says nothing about are kept as they are. Errors are the registry's build errors
/// (unknown type, unknown or mistyped field), with the file and the full key.
pub fn resolve_tree(value: &Value, schema: &Schema, site: &BuildSite<'_>) -> Result<Value, BuildError> {
    let root = schema.as_value();
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    resolve_node(value, root, &defs, site)
}

/// Follows `$ref` into `$defs`.
fn deref<'s>(schema: &'s Value, defs: &'s Value) -> &'s Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r.rsplit('/').next().and_then(|name| defs.get(name)).unwrap_or(schema),
        None => schema,
    }
}

/// The branches of a schema: itself, or its `anyOf`/`oneOf`/`allOf` alternatives.
fn branches<'s>(schema: &'s Value, defs: &'s Value) -> Vec<&'s Value> {
    let schema = deref(schema, defs);
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            return options.iter().flat_map(|o| branches(o, defs)).collect();
        }
    }
    vec![schema]
}

fn resolve_node(value: &Value, schema: &Value, defs: &Value, site: &BuildSite<'_>) -> Result<Value, BuildError> {
    let options = branches(schema, defs);
    if let Value::Object(map) = value {
        if let Some(kind) = options.iter().find_map(|o| o.get(KIND_KEYWORD).and_then(Value::as_str)) {
            return resolve_component(kind, value, site);
        }
        let Some(object) =
            options.iter().find(|o| o.get("properties").is_some() || o.get("additionalProperties").is_some())
        else {
            return Ok(value.clone());
        };
        let props = object.get("properties");
        let extra = object.get("additionalProperties").filter(|v| v.is_object());
        let mut out = serde_json::Map::new();
        for (key, item) in map {
            let child = match props.and_then(|p| p.get(key)).or(extra) {
                Some(s) => resolve_node(item, s, defs, &site.key(key))?,
                None => item.clone(),
            };
            out.insert(key.clone(), child);
        }
        return Ok(Value::Object(out));
    }
    if let Value::Array(items) = value {
        let Some(item_schema) = options.iter().find_map(|o| o.get("items").filter(|i| i.is_object())) else {
            return Ok(value.clone());
        };
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| resolve_node(item, item_schema, defs, &site.index(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    Ok(value.clone())
}

/// Resolves one component table of kind `kind`, then the components nested in it.
fn resolve_component(kind: &str, value: &Value, site: &BuildSite<'_>) -> Result<Value, BuildError> {
    let registered = entries_named(kind);
    let kind_name: &'static str = registered.first().map(|r| r.kind).unwrap_or("component");
    if registered.is_empty() {
        // Nothing of this kind is linked into this program: leave the table as written.
        return Ok(value.clone());
    }
    let (registration, rest) = find_registration(&registered, kind_name, value, site)?;
    let resolved = (registration.resolve)(rest, site, kind_name, registration.name)?;
    let schema = (registration.schema)();
    let root = schema.as_value();
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let Value::Object(map) = &resolved else { return Ok(resolved) };
    let mut out = serde_json::Map::new();
    for (key, item) in map {
        let child = match root.get("properties").and_then(|p| p.get(key)) {
            Some(s) if key != "type" => resolve_node(item, s, &defs, &site.key(key))?,
            _ => item.clone(),
        };
        out.insert(key.clone(), child);
    }
    Ok(Value::Object(out))
}
