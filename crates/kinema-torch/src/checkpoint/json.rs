//! A readable JSON view of a [`PyValue`], for checkpoint metadata (MMEngine's `meta`) that
//! travels into Kinema's own safetensors files and logs.

use serde_json::{json, Map, Value};

use super::value::PyValue;

impl PyValue {
    /// Converts the value to JSON, losing what JSON cannot say:
    /// dicts become objects (non-string keys written as their JSON text), tuples and sets
    /// become arrays, numpy scalars become numbers, non-finite floats become `null`, bytes
    /// become `{"bytes": [..]}`, tensors and arrays become `{"tensor"|"ndarray": {dtype, shape}}`
    /// summaries (no values), and other objects become `{"__class__": "module.name", ...}`.
    pub fn to_json(&self) -> Value {
        match self {
            PyValue::None => Value::Null,
            PyValue::Bool(b) => Value::Bool(*b),
            PyValue::Int(i) => json!(i),
            PyValue::BigInt(bytes) => json!({ "bigint_le_hex": hex(bytes) }),
            PyValue::Float(f) => float(*f),
            PyValue::Str(s) => Value::String(s.clone()),
            PyValue::Bytes(b) => json!({ "bytes": b }),
            PyValue::List(v) | PyValue::Tuple(v) | PyValue::Set(v) | PyValue::FrozenSet(v) => {
                Value::Array(v.iter().map(PyValue::to_json).collect())
            }
            PyValue::Dict(d) => {
                let mut map = Map::new();
                for (k, v) in &d.items {
                    let key = match k {
                        PyValue::Str(s) => s.clone(),
                        other => other.to_json().to_string(),
                    };
                    map.insert(key, v.to_json());
                }
                Value::Object(map)
            }
            PyValue::Tensor(t) => json!({ "tensor": { "dtype": format!("{:?}", t.kind()), "shape": t.size() } }),
            PyValue::Array(a) if a.shape.is_empty() => match (a.scalar_i64(), a.scalar_f64()) {
                (Some(i), _) if !a.dtype.contains('f') => json!(i),
                (_, Some(f)) => float(f),
                _ => json!({ "ndarray": { "dtype": a.dtype, "shape": a.shape } }),
            },
            PyValue::Array(a) => json!({ "ndarray": { "dtype": a.dtype, "shape": a.shape } }),
            PyValue::Global { module, name } => json!({ "global": format!("{module}.{name}") }),
            PyValue::Object(o) => {
                let mut map = Map::new();
                map.insert("__class__".into(), Value::String(o.class_path()));
                if !o.args.is_empty() {
                    map.insert("args".into(), Value::Array(o.args.iter().map(PyValue::to_json).collect()));
                }
                if let Some(state) = &o.state {
                    map.insert("state".into(), state.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
