//! The unpickler's working values ([`V`]), shared by reference like Python objects while the
//! pickle runs, and their conversion into the owned [`PyValue`] tree at the end.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tch::{Kind, Tensor};

use super::globals::Known;
use super::PickleError;
use crate::checkpoint::ndarray::NdArray;
use crate::checkpoint::value::{PyDict, PyObject, PyValue};

/// A value on the unpickler's stack or in its memo. Containers are shared (`Rc`) so that a
/// container memoized before it is filled sees its later items, as in Python.
#[derive(Clone, Debug)]
pub(crate) enum V {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Rc<[u8]>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<RefCell<Vec<V>>>),
    Tuple(Rc<[V]>),
    Dict(Rc<RefCell<DictV>>),
    Set(Rc<RefCell<Vec<V>>>, bool),
    Global(Rc<Global>),
    Object(Rc<RefCell<ObjV>>),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorSpec>),
    Dtype(Rc<RefCell<DtypeV>>),
    Array(Rc<RefCell<ArrayV>>),
}

impl V {
    /// A short name of the value's kind, for error messages (never the whole value).
    pub fn kind_name(&self) -> String {
        match self {
            V::None => "None".into(),
            V::Bool(_) => "bool".into(),
            V::Int(_) | V::BigInt(_) => "int".into(),
            V::Float(_) => "float".into(),
            V::Str(_) => "str".into(),
            V::Bytes(_) => "bytes".into(),
            V::List(_) => "list".into(),
            V::Tuple(_) => "tuple".into(),
            V::Dict(_) => "dict".into(),
            V::Set(..) => "set".into(),
            V::Global(g) => format!("{}.{}", g.module, g.name),
            V::Object(o) => {
                let o = o.borrow();
                format!("{}.{} object", o.module, o.name)
            }
            V::Storage(_) => "storage".into(),
            V::Tensor(_) => "tensor".into(),
            V::Dtype(_) => "numpy.dtype".into(),
            V::Array(_) => "numpy array".into(),
        }
    }
}

/// A `module.name` reference and what the allow-list says it means.
#[derive(Debug)]
pub(crate) struct Global {
    pub module: String,
    pub name: String,
    pub known: Known,
}

/// A dict under construction: items in order plus an index for `str`/`int` keys so that a
/// repeated key replaces its value like Python does.
#[derive(Debug, Default)]
pub(crate) struct DictV {
    pub items: Vec<(V, V)>,
    index: HashMap<KeyId, usize>,
    pub ordered: bool,
    pub attrs: Option<V>,
}

#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyId {
    Str(Rc<str>),
    Int(i64),
}

impl DictV {
    pub fn new(ordered: bool) -> Self {
        Self { ordered, ..Self::default() }
    }

    pub fn insert(&mut self, key: V, value: V) {
        let id = match &key {
            V::Str(s) => Some(KeyId::Str(s.clone())),
            V::Int(i) => Some(KeyId::Int(*i)),
            V::Bool(b) => Some(KeyId::Int(i64::from(*b))),
            _ => None,
        };
        match id {
            Some(id) => match self.index.get(&id) {
                Some(&at) => self.items[at].1 = value,
                None => {
                    self.index.insert(id, self.items.len());
                    self.items.push((key, value));
                }
            },
            None => self.items.push((key, value)),
        }
    }
}

/// An instance of a class outside the allow-list, recorded as data.
#[derive(Debug)]
pub(crate) struct ObjV {
    pub module: String,
    pub name: String,
    pub args: V,
    pub kwargs: Option<V>,
    pub state: Option<V>,
    pub list_items: Vec<V>,
    pub dict_items: Vec<(V, V)>,
}

impl ObjV {
    pub fn new(global: &Global, args: V, kwargs: Option<V>) -> Self {
        Self {
            module: global.module.clone(),
            name: global.name.clone(),
            args,
            kwargs,
            state: None,
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }
    }
}

/// A storage named by a persistent id: `('storage', <type>, key, location, numel)`.
#[derive(Debug)]
pub(crate) struct StorageRef {
    pub key: String,
    pub kind: Kind,
    pub numel: i64,
}

/// A tensor to build from a storage, as `_rebuild_tensor_v2` describes it.
#[derive(Debug)]
pub(crate) struct TensorSpec {
    pub storage: Rc<StorageRef>,
    pub offset: i64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
}

/// A `numpy.dtype` being built (descr from its arguments, byte order from its state).
#[derive(Debug)]
pub(crate) struct DtypeV {
    pub descr: String,
    pub byteorder: char,
}

impl DtypeV {
    /// numpy's dtype string, e.g. `<f4`; native order is little-endian here.
    pub fn dtype_string(&self) -> String {
        let (kind, size) = split_descr(&self.descr);
        let order = match self.byteorder {
            '>' => '>',
            '|' => '|',
            _ if size == "1" || kind == "b" => '|',
            _ => '<',
        };
        format!("{order}{kind}{size}")
    }
}

fn split_descr(descr: &str) -> (&str, &str) {
    let d = descr.trim_start_matches(['<', '>', '|', '=']);
    let at = d.find(|c: char| c.is_ascii_digit()).unwrap_or(d.len());
    d.split_at(at)
}

/// A numpy array from `_reconstruct`: empty until `BUILD` gives it its state.
#[derive(Debug)]
pub(crate) enum ArrayV {
    Pending,
    Ready(NdArray),
    Opaque(ObjV),
}

/// Frees values without recursion: a pickle can nest lists a million deep in 2 MB, and
/// the default recursive drop of such a chain overflows the stack. Containers owned only
/// here are emptied onto a work list; shared ones just lose this reference (their last
/// owner, also freed through here, empties them).
pub(crate) fn dismantle(values: impl IntoIterator<Item = V>) {
    let mut work: Vec<V> = values.into_iter().collect();
    let object = |o: ObjV, work: &mut Vec<V>| {
        let ObjV { args, kwargs, state, list_items, dict_items, .. } = o;
        work.push(args);
        work.extend(kwargs.into_iter().chain(state).chain(list_items));
        work.extend(dict_items.into_iter().flat_map(|(k, v)| [k, v]));
    };
    while let Some(v) = work.pop() {
        match v {
            V::List(rc) | V::Set(rc, _) => {
                if let Ok(cell) = Rc::try_unwrap(rc) {
                    work.extend(cell.into_inner());
                }
            }
            V::Tuple(mut rc) => {
                if let Some(items) = Rc::get_mut(&mut rc) {
                    work.extend(items.iter_mut().map(|v| std::mem::replace(v, V::None)));
                }
            }
            V::Dict(rc) => {
                if let Ok(cell) = Rc::try_unwrap(rc) {
                    let DictV { items, attrs, .. } = cell.into_inner();
                    work.extend(items.into_iter().flat_map(|(k, v)| [k, v]).chain(attrs));
                }
            }
            V::Object(rc) => {
                if let Ok(cell) = Rc::try_unwrap(rc) {
                    object(cell.into_inner(), &mut work);
                }
            }
            V::Array(rc) => {
                if let Ok(cell) = Rc::try_unwrap(rc) {
                    if let ArrayV::Opaque(o) = cell.into_inner() {
                        object(o, &mut work);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Turns the working value tree into the public [`PyValue`] tree, creating tensors through
/// `load`. Shared sub-trees are copied; `budget` bounds the total work so that a small
/// malicious pickle (deep sharing, cycles) cannot make it explode.
pub(crate) struct Materializer<'a, E> {
    pub load: &'a mut dyn FnMut(&TensorSpec) -> Result<Tensor, E>,
    pub budget: u64,
}

const MAX_DEPTH: usize = 512;

impl<E: From<PickleError>> Materializer<'_, E> {
    fn spend(&mut self, units: u64) -> Result<(), E> {
        self.budget = self.budget.checked_sub(units).ok_or_else(|| {
            PickleError::at(0, "the pickle expands to far more data than its size allows (shared references)")
        })?;
        Ok(())
    }

    pub fn convert(&mut self, v: &V, depth: usize) -> Result<PyValue, E> {
        if depth > MAX_DEPTH {
            return Err(PickleError::at(0, "values nested too deeply (or a cyclic reference)").into());
        }
        self.spend(1)?;
        let d = depth + 1;
        Ok(match v {
            V::None => PyValue::None,
            V::Bool(b) => PyValue::Bool(*b),
            V::Int(i) => PyValue::Int(*i),
            V::BigInt(b) => PyValue::BigInt(b.to_vec()),
            V::Float(f) => PyValue::Float(*f),
            V::Str(s) => {
                self.spend(s.len() as u64 / 8)?;
                PyValue::Str(s.to_string())
            }
            V::Bytes(b) => {
                self.spend(b.len() as u64 / 8)?;
                PyValue::Bytes(b.to_vec())
            }
            V::List(l) => PyValue::List(self.seq(&l.borrow(), d)?),
            V::Tuple(t) => PyValue::Tuple(self.seq(t, d)?),
            V::Set(s, false) => PyValue::Set(self.seq(&s.borrow(), d)?),
            V::Set(s, true) => PyValue::FrozenSet(self.seq(&s.borrow(), d)?),
            V::Dict(dict) => {
                let dict = dict.borrow();
                PyValue::Dict(PyDict {
                    items: self.pairs(&dict.items, d)?,
                    ordered: dict.ordered,
                    attrs: self.opt(dict.attrs.as_ref(), d)?,
                })
            }
            V::Global(g) => PyValue::Global { module: g.module.clone(), name: g.name.clone() },
            V::Object(o) => PyValue::Object(self.object(&o.borrow(), d)?),
            V::Storage(s) => PyValue::Object(PyObject {
                module: "torch".into(),
                name: "Storage".into(),
                args: vec![PyValue::Str(s.key.clone()), PyValue::Int(s.numel)],
                kwargs: None,
                state: None,
                list_items: Vec::new(),
                dict_items: Vec::new(),
            }),
            V::Tensor(spec) => PyValue::Tensor((self.load)(spec.as_ref())?),
            V::Dtype(dt) => PyValue::Object(PyObject {
                module: "numpy".into(),
                name: "dtype".into(),
                args: vec![PyValue::Str(dt.borrow().dtype_string())],
                kwargs: None,
                state: None,
                list_items: Vec::new(),
                dict_items: Vec::new(),
            }),
            V::Array(a) => match &*a.borrow() {
                ArrayV::Ready(arr) => {
                    self.spend(arr.data.len() as u64 / 8)?;
                    PyValue::Array(arr.clone())
                }
                ArrayV::Opaque(o) => PyValue::Object(self.object(o, d)?),
                ArrayV::Pending => {
                    return Err(PickleError::at(0, "a numpy array was never given its data (BUILD)").into())
                }
            },
        })
    }

    fn seq(&mut self, items: &[V], depth: usize) -> Result<Vec<PyValue>, E> {
        items.iter().map(|v| self.convert(v, depth)).collect()
    }

    fn pairs(&mut self, items: &[(V, V)], depth: usize) -> Result<Vec<(PyValue, PyValue)>, E> {
        items.iter().map(|(k, v)| Ok((self.convert(k, depth)?, self.convert(v, depth)?))).collect()
    }

    fn opt(&mut self, v: Option<&V>, depth: usize) -> Result<Option<Box<PyValue>>, E> {
        v.map(|v| self.convert(v, depth).map(Box::new)).transpose()
    }

    fn object(&mut self, o: &ObjV, depth: usize) -> Result<PyObject, E> {
        let args = match self.convert(&o.args, depth)? {
            PyValue::Tuple(items) | PyValue::List(items) => items,
            other => vec![other],
        };
        Ok(PyObject {
            module: o.module.clone(),
            name: o.name.clone(),
            args,
            kwargs: self.opt(o.kwargs.as_ref(), depth)?,
            state: self.opt(o.state.as_ref(), depth)?,
            list_items: self.seq(&o.list_items, depth)?,
            dict_items: self.pairs(&o.dict_items, depth)?,
        })
    }
}
