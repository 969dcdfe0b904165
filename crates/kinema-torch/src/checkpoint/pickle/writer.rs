//! Writing a [`PyValue`] tree as the pickle `torch.save` writes (protocol 2): plain
//! containers and scalars, `collections.OrderedDict`, and tensors as
//! `torch._utils._rebuild_tensor_v2` calls on persistent storages, which is exactly what
//! `torch.load(weights_only=True)` accepts.

use tch::{Kind, Tensor};

use crate::checkpoint::value::{PyDict, PyValue};

/// What a tensor becomes in the archive: its storage key and the contiguous CPU tensor
/// whose bytes go in `data/<key>`.
pub(crate) struct StorageRecord {
    /// The record name under `data/`.
    pub key: String,
    /// The tensor, contiguous, on the CPU.
    pub tensor: Tensor,
}

/// Why a value cannot be pickled.
#[derive(Debug, thiserror::Error)]
pub enum PickleWriteError {
    /// A value type `torch.load(weights_only=True)` would not accept, or that has no
    /// writer here.
    #[error("cannot write a {0} into a torch.save pickle")]
    Unsupported(&'static str),
    /// A tensor's dtype has no PyTorch storage class.
    #[error("tensor dtype {0:?} has no PyTorch storage type")]
    Dtype(Kind),
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

mod op {
    pub const PROTO: u8 = 0x80;
    pub const STOP: u8 = b'.';
    pub const NONE: u8 = b'N';
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const LONG1: u8 = 0x8a;
    pub const BINFLOAT: u8 = b'G';
    pub const BINUNICODE: u8 = b'X';
    pub const EMPTY_LIST: u8 = b']';
    pub const APPENDS: u8 = b'e';
    pub const EMPTY_DICT: u8 = b'}';
    pub const SETITEMS: u8 = b'u';
    pub const MARK: u8 = b'(';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const GLOBAL: u8 = b'c';
    pub const REDUCE: u8 = b'R';
    pub const BINPERSID: u8 = b'Q';
}

/// Items per `APPENDS` / `SETITEMS` batch, as Python's pickler.
const BATCH: usize = 1000;

/// The PyTorch storage class of a dtype (`torch.save` pickles the legacy typed names).
fn storage_class(kind: Kind) -> Result<&'static str, PickleWriteError> {
    Ok(match kind {
        Kind::Float => "FloatStorage",
        Kind::Double => "DoubleStorage",
        Kind::Half => "HalfStorage",
        Kind::BFloat16 => "BFloat16Storage",
        Kind::Int64 => "LongStorage",
        Kind::Int => "IntStorage",
        Kind::Int16 => "ShortStorage",
        Kind::Int8 => "CharStorage",
        Kind::Uint8 => "ByteStorage",
        Kind::Bool => "BoolStorage",
        other => return Err(PickleWriteError::Dtype(other)),
    })
}

/// A pickle being written, and the storages its tensors refer to.
pub(crate) struct PickleWriter {
    out: Vec<u8>,
    storages: Vec<StorageRecord>,
}

impl PickleWriter {
    /// Pickles `value` as a plain pickle (`pickle.load` reads it); tensors have no place
    /// in one (they need `torch.save`'s archive).
    pub(crate) fn write_plain(value: &PyValue) -> Result<Vec<u8>, PickleWriteError> {
        let (bytes, storages) = Self::write(value)?;
        if !storages.is_empty() {
            return Err(PickleWriteError::Unsupported("tensor in a plain pickle (use torch.save's format)"));
        }
        Ok(bytes)
    }

    /// Pickles `value`; returns the pickle bytes and the storages to write beside it.
    pub(crate) fn write(value: &PyValue) -> Result<(Vec<u8>, Vec<StorageRecord>), PickleWriteError> {
        let mut w = PickleWriter { out: vec![op::PROTO, 2], storages: Vec::new() };
        w.value(value)?;
        w.out.push(op::STOP);
        Ok((w.out, w.storages))
    }

    fn global(&mut self, module: &str, name: &str) {
        self.out.push(op::GLOBAL);
        self.out.extend_from_slice(module.as_bytes());
        self.out.push(b'\n');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'\n');
    }

    fn str(&mut self, s: &str) {
        self.out.push(op::BINUNICODE);
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, i: i64) {
        match i {
            0..=0xff => self.out.extend_from_slice(&[op::BININT1, i as u8]),
            0x100..=0xffff => {
                self.out.push(op::BININT2);
                self.out.extend_from_slice(&(i as u16).to_le_bytes());
            }
            _ if i32::try_from(i).is_ok() => {
                self.out.push(op::BININT);
                self.out.extend_from_slice(&(i as i32).to_le_bytes());
            }
            _ => {
                self.out.extend_from_slice(&[op::LONG1, 8]);
                self.out.extend_from_slice(&i.to_le_bytes());
            }
        }
    }

    fn tuple(&mut self, items: &[PyValue]) -> Result<(), PickleWriteError> {
        if items.is_empty() {
            self.out.push(op::EMPTY_TUPLE);
            return Ok(());
        }
        self.out.push(op::MARK);
        for item in items {
            self.value(item)?;
        }
        self.out.push(op::TUPLE);
        Ok(())
    }

    fn ints_tuple(&mut self, values: &[i64]) {
        if values.is_empty() {
            self.out.push(op::EMPTY_TUPLE);
            return;
        }
        self.out.push(op::MARK);
        values.iter().for_each(|&v| self.int(v));
        self.out.push(op::TUPLE);
    }

    fn dict(&mut self, dict: &PyDict) -> Result<(), PickleWriteError> {
        if dict.ordered {
            self.global("collections", "OrderedDict");
            self.out.push(op::EMPTY_TUPLE);
            self.out.push(op::REDUCE);
        } else {
            self.out.push(op::EMPTY_DICT);
        }
        for chunk in dict.items.chunks(BATCH) {
            self.out.push(op::MARK);
            for (k, v) in chunk {
                self.value(k)?;
                self.value(v)?;
            }
            self.out.push(op::SETITEMS);
        }
        Ok(())
    }

    /// `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`
    /// on a new storage holding the tensor's contiguous bytes.
    fn tensor(&mut self, t: &Tensor) -> Result<(), PickleWriteError> {
        let tensor = t.detach().f_to_device(tch::Device::Cpu)?.f_contiguous()?;
        let kind = tensor.f_kind()?;
        let class = storage_class(kind)?;
        let key = self.storages.len().to_string();
        let size = tensor.size();
        let stride = tensor.stride();
        let numel = size.iter().product::<i64>();
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.out.push(op::MARK);
        // The persistent id: ('storage', torch.<Class>, key, 'cpu', numel).
        self.out.push(op::MARK);
        self.str("storage");
        self.global("torch", class);
        self.str(&key);
        self.str("cpu");
        self.int(numel);
        self.out.push(op::TUPLE);
        self.out.push(op::BINPERSID);
        self.int(0);
        self.ints_tuple(&size);
        self.ints_tuple(&stride);
        self.out.push(op::NEWFALSE);
        self.global("collections", "OrderedDict");
        self.out.push(op::EMPTY_TUPLE);
        self.out.push(op::REDUCE);
        self.out.push(op::TUPLE);
        self.out.push(op::REDUCE);
        self.storages.push(StorageRecord { key, tensor });
        Ok(())
    }

    fn value(&mut self, value: &PyValue) -> Result<(), PickleWriteError> {
        match value {
            PyValue::None => self.out.push(op::NONE),
            PyValue::Bool(b) => self.out.push(if *b { op::NEWTRUE } else { op::NEWFALSE }),
            PyValue::Int(i) => self.int(*i),
            PyValue::Float(f) => {
                self.out.push(op::BINFLOAT);
                self.out.extend_from_slice(&f.to_be_bytes());
            }
            PyValue::Str(s) => self.str(s),
            PyValue::List(items) => {
                self.out.push(op::EMPTY_LIST);
                for chunk in items.chunks(BATCH) {
                    self.out.push(op::MARK);
                    for item in chunk {
                        self.value(item)?;
                    }
                    self.out.push(op::APPENDS);
                }
            }
            PyValue::Tuple(items) => self.tuple(items)?,
            PyValue::Dict(d) => self.dict(d)?,
            PyValue::Tensor(t) => self.tensor(t)?,
            PyValue::BigInt(_) => return Err(PickleWriteError::Unsupported("big int")),
            PyValue::Bytes(_) => return Err(PickleWriteError::Unsupported("bytes value")),
            PyValue::Set(_) | PyValue::FrozenSet(_) => return Err(PickleWriteError::Unsupported("set")),
            PyValue::Array(_) => return Err(PickleWriteError::Unsupported("numpy array")),
            PyValue::Global { .. } => return Err(PickleWriteError::Unsupported("global reference")),
            PyValue::Object(o)
                if o.state.is_none() && o.kwargs.is_none() && o.list_items.is_empty() && o.dict_items.is_empty() =>
            {
                // A call: `module.name(*args)`, which `pickle.load` makes (not `weights_only`).
                self.global(&o.module, &o.name);
                self.tuple(&o.args)?;
                self.out.push(op::REDUCE);
            }
            PyValue::Object(_) => return Err(PickleWriteError::Unsupported("object with state")),
        }
        Ok(())
    }
}
