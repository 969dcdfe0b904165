//! Shared helpers of the checkpoint tests: fixture paths and the canonical JSON form that
//! `tests/reference/make_checkpoint_fixtures.py` writes into `expected.json`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use kinema_torch::checkpoint::PyValue;
use serde_json::{json, Value};
use tch::{Kind, Tensor};

/// `tests/fixtures/<area>/<name>` of the repository.
pub fn fixture(area: &str, name: &str) -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../tests/fixtures")
        .join(area)
        .join(name)
}

/// `tests/fixtures/checkpoint/<name>`.
pub fn ckpt(name: &str) -> PathBuf {
    fixture("checkpoint", name)
}

/// The parsed `tests/fixtures/checkpoint/expected.json`.
pub fn expected() -> Value {
    let text = std::fs::read_to_string(ckpt("expected.json")).expect("expected.json is readable");
    serde_json::from_str(&text).expect("expected.json is valid JSON")
}

/// PyTorch's name of a tensor kind (`float32`, `bfloat16`, ...).
pub fn dtype_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Float => "float32",
        Kind::Double => "float64",
        Kind::Half => "float16",
        Kind::BFloat16 => "bfloat16",
        Kind::Int64 => "int64",
        Kind::Int => "int32",
        Kind::Int16 => "int16",
        Kind::Int8 => "int8",
        Kind::Uint8 => "uint8",
        Kind::Bool => "bool",
        _ => "other",
    }
}

/// The flattened values of a tensor as f64.
pub fn values(t: &Tensor) -> Vec<f64> {
    let flat = t.to_kind(Kind::Double).contiguous().view([-1]);
    Vec::<f64>::try_from(&flat).expect("tensor converts to Vec<f64>")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the canonical JSON of a value read by the Rust reader, numbering storages in
/// first-seen order like the Python generator does.
#[derive(Default)]
pub struct Canon {
    storages: HashMap<usize, usize>,
}

impl Canon {
    fn storage_id(&mut self, t: &Tensor) -> usize {
        let elt = t.kind().elt_size_in_bytes();
        let base = (t.data_ptr() as usize).wrapping_sub(t.storage_offset() as usize * elt);
        let next = self.storages.len();
        *self.storages.entry(base).or_insert(next)
    }

    fn seq(&mut self, items: &[PyValue]) -> Vec<Value> {
        items.iter().map(|v| self.value(v)).collect()
    }

    pub fn value(&mut self, v: &PyValue) -> Value {
        match v {
            PyValue::None => Value::Null,
            PyValue::Bool(b) => json!(b),
            PyValue::Int(i) => json!(i),
            PyValue::BigInt(b) => json!({ "bigint_le_hex": hex(b) }),
            PyValue::Float(f) => json!(f),
            PyValue::Str(s) => json!(s),
            PyValue::Bytes(b) => json!({ "bytes": hex(b) }),
            PyValue::List(items) => Value::Array(self.seq(items)),
            PyValue::Tuple(items) => json!({ "tuple": self.seq(items) }),
            PyValue::Set(items) => json!({ "set": self.seq(items) }),
            PyValue::FrozenSet(items) => json!({ "frozenset": self.seq(items) }),
            PyValue::Dict(d) => {
                let items: Vec<Value> = d
                    .items
                    .iter()
                    .map(|(k, v)| {
                        let k = self.value(k);
                        json!([k, self.value(v)])
                    })
                    .collect();
                let attrs = d.attrs.as_deref().map_or(Value::Null, |a| self.value(a));
                json!({ "dict": items, "ordered": d.ordered, "attrs": attrs })
            }
            PyValue::Tensor(t) => json!({ "tensor": {
                "dtype": dtype_name(t.kind()),
                "shape": t.size(),
                "stride": t.stride(),
                "offset": t.storage_offset(),
                "storage": self.storage_id(t),
                "values": values(t),
            }}),
            PyValue::Array(a) if a.shape.is_empty() => json!({ "np_scalar": {
                "dtype": a.dtype,
                "value": a.scalar_f64().expect("numeric numpy scalar"),
            }}),
            PyValue::Array(a) => json!({ "ndarray": {
                "dtype": a.dtype,
                "shape": a.shape,
                "values": values(&a.to_tensor().expect("numeric numpy array")),
            }}),
            PyValue::Global { module, name } => json!({ "global": format!("{module}.{name}") }),
            PyValue::Object(o) => {
                let args = self.seq(&o.args);
                let state = o.state.as_deref().map_or(Value::Null, |s| self.value(s));
                json!({ "object": o.class_path(), "args": args, "state": state })
            }
        }
    }
}

/// The canonical JSON of a whole file's tree.
pub fn canon(v: &PyValue) -> Value {
    Canon::default().value(v)
}

/// First differing path between two JSON values, for readable failures.
pub fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: missing on the right")),
                }
            }
            (x.len() != y.len()).then(|| {
                format!("{path}: keys {:?} vs {:?}", x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>())
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}
