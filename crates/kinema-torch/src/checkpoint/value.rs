//! [`PyValue`]: the Python object tree a `torch.save` file holds, as plain Rust data.

use tch::Tensor;

use super::ndarray::NdArray;

/// One Python value read from a pickle. Nothing in it was ever executed: classes outside the
/// reader's allow-list are kept as [`PyValue::Object`] with their arguments and state as data.
#[derive(Debug)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in 64 bits.
    Int(i64),
    /// An `int` beyond 64 bits: its little-endian two's-complement bytes, as pickled.
    BigInt(Vec<u8>),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// `bytes` or `bytearray`.
    Bytes(Vec<u8>),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `tuple`.
    Tuple(Vec<PyValue>),
    /// A `set` (items in pickled order).
    Set(Vec<PyValue>),
    /// A `frozenset` (items in pickled order).
    FrozenSet(Vec<PyValue>),
    /// A `dict`, `collections.OrderedDict` or `collections.defaultdict`, keys in file order.
    Dict(PyDict),
    /// A tensor (or `nn.Parameter`), on the CPU, `requires_grad` off. Tensors saved on one
    /// storage share it here too; views keep their strides and offsets.
    Tensor(Tensor),
    /// A numpy array, or a numpy scalar (shape `[]`).
    Array(NdArray),
    /// A class or function referenced but not called (for example `torch.float32`).
    Global {
        /// Its module, e.g. `torch`.
        module: String,
        /// Its name inside the module, e.g. `float32`.
        name: String,
    },
    /// An instance of a class outside the allow-list, kept as data and never constructed.
    Object(PyObject),
}

/// A Python dict with its keys in file order.
#[derive(Debug, Default)]
pub struct PyDict {
    /// `(key, value)` pairs in insertion (file) order.
    pub items: Vec<(PyValue, PyValue)>,
    /// Whether it was a `collections.OrderedDict`.
    pub ordered: bool,
    /// Instance attributes set on the dict object, e.g. the `_metadata` of a module's
    /// `state_dict()` (`{'_metadata': {...}}`); `None` when there are none.
    pub attrs: Option<Box<PyValue>>,
}

impl PyObject {
    /// A call `module.name(*args)` (no state): how a writer pickles a value built by a
    /// factory, such as `torch.tensor([...])`.
    pub fn call(module: &str, name: &str, args: Vec<PyValue>) -> Self {
        PyObject {
            module: module.to_string(),
            name: name.to_string(),
            args,
            kwargs: None,
            state: None,
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }
    }
}

/// An object of a class the reader does not interpret (for example mmengine's
/// `HistoryBuffer`): what the pickle said about it, as data.
#[derive(Debug)]
pub struct PyObject {
    /// The class's module, e.g. `mmengine.logging.history_buffer`.
    pub module: String,
    /// The class (or factory function) name, e.g. `HistoryBuffer`.
    pub name: String,
    /// Positional arguments given to the class or factory.
    pub args: Vec<PyValue>,
    /// Keyword arguments (protocol 4 `NEWOBJ_EX`), when any.
    pub kwargs: Option<Box<PyValue>>,
    /// The state passed to `__setstate__` (usually the instance `__dict__`), when any.
    pub state: Option<Box<PyValue>>,
    /// Items appended to it (list subclasses).
    pub list_items: Vec<PyValue>,
    /// Items set on it (dict subclasses).
    pub dict_items: Vec<(PyValue, PyValue)>,
}

impl PyDict {
    /// The value under the string key `key`.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        self.items.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The string keys, in file order (non-string keys are skipped).
    pub fn str_keys(&self) -> Vec<&str> {
        self.items.iter().filter_map(|(k, _)| k.as_str()).collect()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the dict has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The attribute `name` set on the dict object (e.g. `_metadata` of a state dict).
    pub fn attr(&self, name: &str) -> Option<&PyValue> {
        self.attrs.as_deref().and_then(|a| a.get(name))
    }
}

impl PyObject {
    /// `module.name` of the object's class.
    pub fn class_path(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }

    /// The attribute `name` from the object's state, when the state is a dict (the usual
    /// `__dict__` case) or a `(dict, slots)` pair.
    pub fn attr(&self, name: &str) -> Option<&PyValue> {
        match self.state.as_deref()? {
            PyValue::Dict(d) => d.get(name),
            PyValue::Tuple(t) => t.iter().find_map(|part| part.get(name)),
            _ => None,
        }
    }
}

impl PyValue {
    /// A short name of the value's Python type, for messages (`dict`, `Tensor`, `HistoryBuffer`...).
    pub fn type_name(&self) -> String {
        match self {
            PyValue::None => "None".into(),
            PyValue::Bool(_) => "bool".into(),
            PyValue::Int(_) | PyValue::BigInt(_) => "int".into(),
            PyValue::Float(_) => "float".into(),
            PyValue::Str(_) => "str".into(),
            PyValue::Bytes(_) => "bytes".into(),
            PyValue::List(_) => "list".into(),
            PyValue::Tuple(_) => "tuple".into(),
            PyValue::Set(_) => "set".into(),
            PyValue::FrozenSet(_) => "frozenset".into(),
            PyValue::Dict(d) if d.ordered => "OrderedDict".into(),
            PyValue::Dict(_) => "dict".into(),
            PyValue::Tensor(_) => "Tensor".into(),
            PyValue::Array(a) if a.shape.is_empty() => format!("numpy scalar {}", a.dtype),
            PyValue::Array(a) => format!("numpy array {}", a.dtype),
            PyValue::Global { module, name } => format!("{module}.{name} (a reference)"),
            PyValue::Object(o) => o.class_path(),
        }
    }

    /// The dict, if this is one.
    pub fn as_dict(&self) -> Option<&PyDict> {
        match self {
            PyValue::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The string, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The tensor, if this is one.
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            PyValue::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// The items of a list or tuple.
    pub fn as_slice(&self) -> Option<&[PyValue]> {
        match self {
            PyValue::List(v) | PyValue::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// An integer: a Python `int` or `bool`, or a numpy integer/bool scalar.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PyValue::Int(i) => Some(*i),
            PyValue::Bool(b) => Some(i64::from(*b)),
            PyValue::Array(a) => a.scalar_i64(),
            _ => None,
        }
    }

    /// A number: a Python `float`, `int` or `bool`, or a numpy numeric scalar.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PyValue::Float(f) => Some(*f),
            PyValue::Int(i) => Some(*i as f64),
            PyValue::Bool(b) => Some(f64::from(u8::from(*b))),
            PyValue::Array(a) => a.scalar_f64(),
            _ => None,
        }
    }

    /// The value under the string key `key` when this is a dict.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        self.as_dict().and_then(|d| d.get(key))
    }

    /// Follows a dotted path of string keys (`"meta.dataset_meta.classes"`) through dicts.
    pub fn get_path(&self, dotted: &str) -> Option<&PyValue> {
        dotted.split('.').try_fold(self, |v, key| v.get(key))
    }
}
