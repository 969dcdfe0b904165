//! Writing `torch.save` files: a [`PyValue`] tree (dicts, lists, scalars, tensors) as the
//! zip archive PyTorch writes, which `torch.load(weights_only=True)` and MMEngine's
//! `load_checkpoint` read. Tensors stream from their own memory into the file; the
//! archive is written atomically (temporary file, sync, rename).

use std::io::Write;
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::error::{CheckpointError, Result};
use super::pickle::writer::PickleWriter;
use super::safetensors_io::write_atomically_with;
use super::value::{PyDict, PyValue};

/// The archive's top folder (torch names it after the file; any name reads back).
const ARCHIVE: &str = "archive";
/// Storage records start at multiples of this, as `torch.save` aligns them (for mmap loads).
const ALIGNMENT: u16 = 64;
/// Entries at least this large get zip64 headers.
const ZIP64_FROM: usize = u32::MAX as usize - 1024;

/// Writes `value` to `path` as a `torch.save` zip archive (pickle protocol 2, storages
/// little-endian and uncompressed, `version` 3).
pub fn save_pytorch(path: impl AsRef<Path>, value: &PyValue) -> Result<()> {
    let path = path.as_ref();
    let content = |what: String| CheckpointError::content(path, what);
    let (pickle, storages) = PickleWriter::write(value).map_err(|e| content(e.to_string()))?;
    write_atomically_with(path, |tmp| {
        let io = |e: std::io::Error| CheckpointError::io(path, e);
        let zip_err = |e: zip::result::ZipError| CheckpointError::Zip { path: path.into(), source: e };
        let file = std::fs::OpenOptions::new().write(true).open(tmp).map_err(io)?;
        let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        let record = |zip: &mut ZipWriter<_>, name: &str, bytes: &[u8]| -> Result<()> {
            let options = stored.with_alignment(ALIGNMENT).large_file(bytes.len() >= ZIP64_FROM);
            zip.start_file(format!("{ARCHIVE}/{name}"), options).map_err(zip_err)?;
            zip.write_all(bytes).map_err(io)
        };
        record(&mut zip, "data.pkl", &pickle)?;
        record(&mut zip, ".format_version", b"1")?;
        record(&mut zip, ".storage_alignment", b"64")?;
        record(&mut zip, "byteorder", b"little")?;
        for storage in &storages {
            let t = &storage.tensor;
            let len = t.numel() * t.kind().elt_size_in_bytes();
            let bytes: &[u8] = if len == 0 {
                &[]
            } else {
                // SAFETY: `t` is a contiguous CPU tensor (made so by the pickle writer) of
                // `numel` elements of its kind, so its data pointer is valid for `len` bytes;
                // it is owned by `storages` and not written while this slice lives.
                unsafe { std::slice::from_raw_parts(t.data_ptr() as *const u8, len) }
            };
            record(&mut zip, &format!("data/{}", storage.key), bytes)?;
        }
        record(&mut zip, "version", b"3\n")?;
        let mut inner = zip.finish().map_err(zip_err)?;
        inner.flush().map_err(io)
    })
}

/// Writes `value` to `path` as a plain Python pickle (protocol 2), atomically: what
/// `pickle.load` / `mmengine.load` read. Objects are written as calls of their class
/// with their arguments (`torch.tensor([...])`); tensors are not allowed.
pub fn save_pickle(path: impl AsRef<Path>, value: &PyValue) -> Result<()> {
    let path = path.as_ref();
    let bytes = PickleWriter::write_plain(value).map_err(|e| CheckpointError::content(path, e.to_string()))?;
    super::safetensors_io::write_atomically(path, &bytes)
}

/// Reads a plain Python pickle file (what `pickle.dump` / `mmengine.dump` write, e.g.
/// MMAction2's `--dump results.pkl`) with the same safe reader as checkpoints: nothing is
/// executed; objects of unknown classes (and calls such as `torch.tensor([...])`) come
/// back as [`PyValue::Object`] with their arguments.
pub fn load_pickle(path: impl AsRef<Path>) -> Result<PyValue> {
    let path = path.as_ref();
    super::detect::check_regular_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::io(path, e))?;
    let mut no_storages = |_: &super::pickle::object::TensorSpec| {
        Err(super::pickle::PickleError::at(
            0,
            "a tensor storage in a plain pickle (only torch.save archives have them)",
        ))
    };
    super::pickle::unpickle(&bytes, &mut no_storages)
        .map_err(|source| CheckpointError::Pickle { path: path.into(), source })
}

impl PyValue {
    /// A JSON value as Python data: objects become dicts (keys in order), arrays lists,
    /// integers `int`, other numbers `float`.
    pub fn from_json(value: &serde_json::Value) -> PyValue {
        use serde_json::Value;
        match value {
            Value::Null => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => PyValue::Int(i),
                None => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::List(items.iter().map(PyValue::from_json).collect()),
            Value::Object(map) => PyValue::Dict(PyDict {
                items: map.iter().map(|(k, v)| (PyValue::Str(k.clone()), PyValue::from_json(v))).collect(),
                ordered: false,
                attrs: None,
            }),
        }
    }

    /// A dict of string keys, in order (`ordered`: a `collections.OrderedDict`).
    pub fn dict(items: Vec<(String, PyValue)>, ordered: bool) -> PyValue {
        PyValue::Dict(PyDict {
            items: items.into_iter().map(|(k, v)| (PyValue::Str(k), v)).collect(),
            ordered,
            attrs: None,
        })
    }
}
