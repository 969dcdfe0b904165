//! Human- and machine-readable descriptions of registered components, made from their
//! config schemas (used by `tools/list_registry`).

use serde::Serialize;
use serde_json::Value;

use super::registration::entries;

/// One field of a component's config.
#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    /// The TOML key.
    pub name: String,
    /// Its type, in words (`integer`, `list of number`, `"loop" | "repeat_last"`).
    pub ty: String,
    /// True when the field has no default and must be given.
    pub required: bool,
    /// The default value, when there is one.
    pub default: Option<Value>,
    /// The field's doc comment.
    pub doc: String,
}

/// One registered component.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentInfo {
    /// Its kind (`transform`, `hook`, ...).
    pub kind: String,
    /// Its registered name.
    pub name: String,
    /// The module that registered it.
    pub module: String,
    /// The doc comment of its config struct.
    pub doc: String,
    /// Its config fields, in declaration order.
    pub fields: Vec<FieldInfo>,
}

/// Every registered component, sorted by kind and name.
pub fn describe_all() -> Vec<ComponentInfo> {
    entries()
        .into_iter()
        .map(|r| {
            let schema = (r.schema)();
            let root = schema.as_value();
            let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
            let required: Vec<String> = root
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let fields = root
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(name, prop)| FieldInfo {
                            name: name.clone(),
                            ty: type_label(prop, &defs),
                            required: required.contains(name),
                            default: prop.get("default").cloned(),
                            doc: prop.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            ComponentInfo {
                kind: r.kind.to_string(),
                name: r.name.to_string(),
                module: r.module.to_string(),
                doc: root.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
                fields,
            }
        })
        .collect()
}

/// A short type name for a JSON schema.
fn type_label(schema: &Value, defs: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return match defs.get(name) {
            Some(def) if def.get("enum").is_some() || def.get("oneOf").is_some() || def.get("type").is_some() => {
                type_label(def, defs)
            }
            _ => name.to_string(),
        };
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" | ");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let parts: Vec<String> = options.iter().map(|o| type_label(o, defs)).collect();
            return parts.join(" | ");
        }
    }
    if let Some(c) = schema.get("const") {
        return c.to_string();
    }
    match schema.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "array" => match schema.get("items") {
                Some(items) if items.is_object() => format!("list of {}", type_label(items, defs)),
                Some(Value::Array(tuple)) => {
                    format!("({})", tuple.iter().map(|i| type_label(i, defs)).collect::<Vec<_>>().join(", "))
                }
                _ => match schema.get("prefixItems").and_then(Value::as_array) {
                    Some(tuple) => {
                        format!("({})", tuple.iter().map(|i| type_label(i, defs)).collect::<Vec<_>>().join(", "))
                    }
                    None => "list".into(),
                },
            },
            "object" => "table".into(),
            other => other.to_string(),
        },
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => "any".into(),
    }
}
