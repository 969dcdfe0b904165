//! The allow-list: which `module.name` globals a checkpoint pickle may reference, and what
//! calling them (`REDUCE`, `NEWOBJ`), setting their state (`BUILD`) and persistent ids mean.
//!
//! Nothing is ever executed. A known global gets a fixed meaning written here; any other
//! becomes an opaque [`ObjV`] that records its arguments and state as data.

use std::cell::RefCell;
use std::rc::Rc;

use tch::Kind;

use super::object::{ArrayV, DictV, DtypeV, Global, ObjV, StorageRef, TensorSpec, V};
use crate::checkpoint::ndarray::NdArray;

/// What a global means to the reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Known {
    /// `dict`, `collections.OrderedDict` (ordered), `collections.defaultdict` or `Counter`.
    Dict { ordered: bool },
    /// `builtins.list`.
    List,
    /// `builtins.set` (false) / `builtins.frozenset` (true).
    Set { frozen: bool },
    /// `builtins.tuple`.
    Tuple,
    /// `builtins.bytearray` / `builtins.bytes`.
    Bytes,
    /// `torch._utils._rebuild_tensor_v2`.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter` / `_rebuild_parameter_with_state`.
    RebuildParameter,
    /// `torch._tensor._rebuild_from_type_v2`.
    RebuildFromType,
    /// A storage class (`torch.FloatStorage`, `torch.UntypedStorage`...) or a torch dtype,
    /// naming the element kind of a storage in a persistent id.
    StorageKind(Kind),
    /// `numpy.core.multiarray.scalar`.
    NumpyScalar,
    /// `numpy.dtype`.
    NumpyDtype,
    /// `numpy.core.multiarray._reconstruct`.
    NumpyReconstruct,
    /// `_codecs.encode` (how protocol 2 pickles `bytes`).
    CodecsEncode,
    /// Anything else: kept as an opaque object, never run.
    Other,
}

/// The Python 3 name of a module that pickle protocols 0-2 write under its Python 2 name.
pub(crate) fn python3_module(module: &str) -> &str {
    match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        m => m,
    }
}

/// Looks `module.name` up in the allow-list (`module` already in its Python 3 spelling).
pub(crate) fn resolve(module: &str, name: &str) -> Known {
    let module = match module {
        "numpy._core.multiarray" => "numpy.core.multiarray",
        m => m,
    };
    match (module, name) {
        ("builtins", "dict") => Known::Dict { ordered: false },
        ("collections", "OrderedDict") => Known::Dict { ordered: true },
        ("collections", "defaultdict" | "Counter") => Known::Dict { ordered: false },
        ("builtins", "list") => Known::List,
        ("builtins", "set") => Known::Set { frozen: false },
        ("builtins", "frozenset") => Known::Set { frozen: true },
        ("builtins", "tuple") => Known::Tuple,
        ("builtins", "bytearray" | "bytes") => Known::Bytes,
        ("torch._utils", "_rebuild_tensor_v2") => Known::RebuildTensor,
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => Known::RebuildParameter,
        ("torch._tensor", "_rebuild_from_type_v2") => Known::RebuildFromType,
        ("torch" | "torch.cuda", storage) if storage.ends_with("Storage") => {
            storage_kind(storage).map_or(Known::Other, Known::StorageKind)
        }
        ("torch.storage", "UntypedStorage" | "_UntypedStorage") => Known::StorageKind(Kind::Uint8),
        ("torch", dtype) => dtype_kind(dtype).map_or(Known::Other, Known::StorageKind),
        ("numpy.core.multiarray", "scalar") => Known::NumpyScalar,
        ("numpy.core.multiarray", "_reconstruct") => Known::NumpyReconstruct,
        ("numpy", "dtype") => Known::NumpyDtype,
        ("_codecs", "encode") => Known::CodecsEncode,
        _ => Known::Other,
    }
}

fn storage_kind(class: &str) -> Option<Kind> {
    Some(match class {
        "FloatStorage" => Kind::Float,
        "DoubleStorage" => Kind::Double,
        "HalfStorage" => Kind::Half,
        "BFloat16Storage" => Kind::BFloat16,
        "LongStorage" => Kind::Int64,
        "IntStorage" => Kind::Int,
        "ShortStorage" => Kind::Int16,
        "CharStorage" => Kind::Int8,
        "ByteStorage" | "UntypedStorage" => Kind::Uint8,
        "BoolStorage" => Kind::Bool,
        "ComplexFloatStorage" => Kind::ComplexFloat,
        "ComplexDoubleStorage" => Kind::ComplexDouble,
        _ => return None,
    })
}

fn dtype_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "float32" | "float" => Kind::Float,
        "float64" | "double" => Kind::Double,
        "float16" | "half" => Kind::Half,
        "bfloat16" => Kind::BFloat16,
        "int64" | "long" => Kind::Int64,
        "int32" | "int" => Kind::Int,
        "int16" | "short" => Kind::Int16,
        "int8" => Kind::Int8,
        "uint8" => Kind::Uint8,
        "bool" => Kind::Bool,
        _ => return None,
    })
}

fn items_of(v: &V) -> Option<Vec<V>> {
    match v {
        V::List(l) => Some(l.borrow().clone()),
        V::Tuple(t) => Some(t.to_vec()),
        V::Set(s, _) => Some(s.borrow().clone()),
        _ => None,
    }
}

fn int_list(v: &V, what: &str) -> Result<Vec<i64>, String> {
    let items = items_of(v).ok_or_else(|| format!("{what} is not a tuple"))?;
    items
        .iter()
        .map(|i| match i {
            V::Int(i) => Ok(*i),
            other => Err(format!("{what} holds a {}, not an int", other.kind_name())),
        })
        .collect()
}

fn arg(args: &[V], i: usize, func: &str) -> Result<V, String> {
    args.get(i).cloned().ok_or_else(|| format!("{func} called with {} arguments, needs at least {}", args.len(), i + 1))
}

/// `REDUCE`: the result of calling `callable(*args)`, by meaning, not by execution.
pub(crate) fn reduce(callable: &V, args: &V) -> Result<V, String> {
    let V::Global(g) = callable else {
        return Err(format!("REDUCE on a non-class value ({})", callable.kind_name()));
    };
    let list = items_of(args).ok_or("REDUCE arguments are not a tuple")?;
    let f = format!("{}.{}", g.module, g.name);
    Ok(match g.known {
        Known::Dict { ordered } => {
            let mut d = DictV::new(ordered);
            match list.first() {
                // defaultdict(factory): the factory is dropped, items follow via SETITEMS.
                _ if g.name == "defaultdict" => {}
                // dict(mapping) / Counter(mapping).
                Some(V::Dict(src)) => {
                    for (k, v) in &src.borrow().items {
                        d.insert(k.clone(), v.clone());
                    }
                }
                // dict([(k, v), ...]).
                first => {
                    for pair in first.and_then(items_of).unwrap_or_default() {
                        match items_of(&pair).as_deref() {
                            Some([k, v]) => d.insert(k.clone(), v.clone()),
                            _ => return Err(format!("{f} given an item that is not a pair")),
                        }
                    }
                }
            }
            V::Dict(Rc::new(RefCell::new(d)))
        }
        Known::List => V::List(Rc::new(RefCell::new(list.first().and_then(items_of).unwrap_or_default()))),
        Known::Set { frozen } => {
            V::Set(Rc::new(RefCell::new(list.first().and_then(items_of).unwrap_or_default())), frozen)
        }
        Known::Tuple => V::Tuple(list.first().and_then(items_of).unwrap_or_default().into()),
        Known::Bytes => match list.first() {
            None => V::Bytes(Rc::from(Vec::new())),
            Some(V::Bytes(b)) => V::Bytes(b.clone()),
            Some(V::Str(s)) => V::Bytes(encode(s, list.get(1))?.into()),
            Some(other) => return Err(format!("{f} of a {}", other.kind_name())),
        },
        Known::CodecsEncode => match list.first() {
            Some(V::Str(s)) => V::Bytes(encode(s, list.get(1))?.into()),
            other => return Err(format!("{f} of {}", other.map_or("nothing".into(), V::kind_name))),
        },
        Known::RebuildTensor => {
            let V::Storage(storage) = arg(&list, 0, &f)? else {
                return Err(format!("{f}: first argument is not a storage"));
            };
            let V::Int(offset) = arg(&list, 1, &f)? else {
                return Err(format!("{f}: storage offset is not an int"));
            };
            let size = int_list(&arg(&list, 2, &f)?, "tensor size")?;
            let stride = int_list(&arg(&list, 3, &f)?, "tensor stride")?;
            V::Tensor(Rc::new(TensorSpec { storage, offset, size, stride }))
        }
        Known::RebuildParameter => match arg(&list, 0, &f)? {
            t @ V::Tensor(_) => t,
            other => return Err(format!("{f}: data is a {}, not a tensor", other.kind_name())),
        },
        Known::RebuildFromType => {
            let func = arg(&list, 0, &f)?;
            reduce(&func, &arg(&list, 2, &f)?)?
        }
        Known::NumpyScalar => match (list.first(), list.get(1)) {
            (Some(V::Dtype(dt)), Some(V::Bytes(data))) => {
                let scalar = NdArray {
                    dtype: dt.borrow().dtype_string(),
                    shape: Vec::new(),
                    fortran_order: false,
                    data: data.to_vec(),
                };
                V::Array(Rc::new(RefCell::new(ArrayV::Ready(scalar.into_native_order()))))
            }
            _ => opaque(g, args.clone(), None),
        },
        Known::NumpyDtype => match list.first() {
            Some(V::Str(descr)) => V::Dtype(Rc::new(RefCell::new(DtypeV { descr: descr.to_string(), byteorder: '=' }))),
            _ => opaque(g, args.clone(), None),
        },
        Known::NumpyReconstruct => V::Array(Rc::new(RefCell::new(ArrayV::Pending))),
        Known::StorageKind(_) | Known::Other => opaque(g, args.clone(), None),
    })
}

fn encode(s: &str, encoding: Option<&V>) -> Result<Vec<u8>, String> {
    match encoding {
        Some(V::Str(e)) if matches!(&**e, "latin1" | "latin-1" | "iso-8859-1") => s
            .chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("character {c:?} is not latin-1")))
            .collect(),
        None => Ok(s.as_bytes().to_vec()),
        Some(V::Str(e)) if matches!(&**e, "utf-8" | "utf8") => Ok(s.as_bytes().to_vec()),
        Some(other) => Err(format!("unsupported string encoding ({})", other.kind_name())),
    }
}

fn opaque(g: &Global, args: V, kwargs: Option<V>) -> V {
    V::Object(Rc::new(RefCell::new(ObjV::new(g, args, kwargs))))
}

/// `NEWOBJ` / `NEWOBJ_EX`: `cls.__new__(cls, *args, **kwargs)`.
pub(crate) fn new_object(cls: &V, args: V, kwargs: Option<V>) -> Result<V, String> {
    let V::Global(g) = cls else {
        return Err(format!("NEWOBJ on a non-class value ({})", cls.kind_name()));
    };
    Ok(match g.known {
        Known::Dict { ordered } => V::Dict(Rc::new(RefCell::new(DictV::new(ordered)))),
        Known::List => V::List(Rc::new(RefCell::new(Vec::new()))),
        Known::Set { frozen } => V::Set(Rc::new(RefCell::new(Vec::new())), frozen),
        _ => opaque(g, args, kwargs),
    })
}

/// `BUILD`: gives `target` its state (`__setstate__` or `__dict__` update).
pub(crate) fn build(target: &V, state: V) -> Result<(), String> {
    match target {
        V::Dict(d) => d.borrow_mut().attrs = Some(state),
        V::Object(o) => o.borrow_mut().state = Some(state),
        V::Tensor(_) => {}
        V::Dtype(dt) => {
            if let Some(V::Str(order)) = items_of(&state).and_then(|s| s.get(1).cloned()) {
                dt.borrow_mut().byteorder = order.chars().next().unwrap_or('=');
            }
        }
        V::Array(a) => {
            let built = build_array(&state)?;
            *a.borrow_mut() = built;
        }
        other => return Err(format!("BUILD on a {}", other.kind_name())),
    }
    Ok(())
}

/// An ndarray's `__setstate__`: `(version, shape, dtype, is_fortran, rawdata)`.
fn build_array(state: &V) -> Result<ArrayV, String> {
    let parts = items_of(state).ok_or("numpy array state is not a tuple")?;
    let rest = match parts.len() {
        5 => &parts[1..],
        4 => &parts[..],
        n => return Err(format!("numpy array state has {n} parts, expected 4 or 5")),
    };
    let shape = int_list(&rest[0], "numpy array shape")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| format!("negative numpy dimension {d}")))
        .collect::<Result<Vec<_>, _>>()?;
    let V::Dtype(dt) = &rest[1] else {
        return Err("numpy array dtype is not a numpy.dtype".into());
    };
    let fortran_order = matches!(rest[2], V::Bool(true));
    match &rest[3] {
        V::Bytes(data) => Ok(ArrayV::Ready(
            NdArray { dtype: dt.borrow().dtype_string(), shape, fortran_order, data: data.to_vec() }
                .into_native_order(),
        )),
        _ => {
            let g = Global { module: "numpy".into(), name: "ndarray".into(), known: Known::Other };
            let mut o = ObjV::new(&g, V::Tuple(Rc::from(Vec::new())), None);
            o.state = Some(state.clone());
            Ok(ArrayV::Opaque(o))
        }
    }
}

/// A persistent id: torch's `('storage', storage_type, key, location, numel)`.
pub(crate) fn persistent_load(pid: &V) -> Result<V, String> {
    let parts = items_of(pid).ok_or_else(|| format!("unsupported persistent id ({})", pid.kind_name()))?;
    match parts.as_slice() {
        [V::Str(tag), V::Global(ty), key, _location, V::Int(numel)] if &**tag == "storage" => {
            let Known::StorageKind(kind) = ty.known else {
                return Err(format!("unsupported storage type {}.{}", ty.module, ty.name));
            };
            let key = match key {
                V::Str(s) => s.to_string(),
                V::Int(i) => i.to_string(),
                other => return Err(format!("storage key is a {}, not a string", other.kind_name())),
            };
            Ok(V::Storage(Rc::new(StorageRef { key, kind, numel: *numel })))
        }
        _ => Err(format!(
            "unsupported persistent id (a {}-item {}; torch uses ('storage', type, key, location, numel))",
            parts.len(),
            pid.kind_name()
        )),
    }
}
