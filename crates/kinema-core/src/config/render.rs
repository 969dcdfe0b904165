//! Writing a config back out as TOML (for people) or JSON (for programs).

use serde_json::Value;

use super::ConfigError;

/// Renders `value` (a table) as TOML. TOML has no null: keys whose value is `None` are
/// left out, which every component reads as "use the default".
pub fn to_toml_string(value: &Value) -> Result<String, ConfigError> {
    let cleaned = drop_nulls(value.clone());
    let toml_value = json_to_toml(&cleaned).ok_or_else(|| ConfigError::Render("the root is not a table".into()))?;
    toml::to_string(&toml_value).map_err(|e| ConfigError::Render(e.to_string()))
}

fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, drop_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().filter(|v| !v.is_null()).map(drop_nulls).collect()),
        other => other,
    }
}

fn json_to_toml(value: &Value) -> Option<toml::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(items.iter().filter_map(json_to_toml).collect()),
        Value::Object(map) => {
            toml::Value::Table(map.iter().filter_map(|(k, v)| Some((k.clone(), json_to_toml(v)?))).collect())
        }
    })
}
