//! Reading `torch.save` zip archives (and the pickled part of TorchScript archives) in pure
//! Rust: `<prefix>/data.pkl` is unpickled by the safe reader, tensors are built from the raw
//! little-endian storages `<prefix>/data/<key>`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use zip::ZipArchive;

use super::detect::{detect_format, CheckpointFormat};
use super::error::{CheckpointError, Result};
use super::pickle::object::TensorSpec;
use super::pickle::{self, PickleError};
use super::value::PyValue;

/// Reads a PyTorch `torch.save` checkpoint (zip format) into a [`PyValue`] tree, without
/// executing anything. Tensors are on the CPU; tensors that shared a storage when saved share
/// one here, views keep their strides and offsets.
///
/// Errors name the file and say what is wrong: the legacy non-zip format (with how to
/// re-save it), a truncated or corrupt zip, a missing storage, an unsupported pickle opcode.
pub fn load_pytorch(path: impl AsRef<Path>) -> Result<PyValue> {
    let path = path.as_ref();
    match detect_format(path)? {
        CheckpointFormat::TorchZip | CheckpointFormat::TorchScript => {}
        CheckpointFormat::Legacy => return Err(CheckpointError::LegacyFormat { path: path.into() }),
        CheckpointFormat::Safetensors => return Err(CheckpointError::content(
            path,
            "this is a safetensors file, not a torch.save archive; read it with load_safetensors or load_checkpoint",
        )),
    }
    TorchArchive::open(path)?.unpickle("data.pkl")
}

/// The largest pickle record read (the storages, which hold the weights, are not records).
const MAX_RECORD: u64 = 1 << 32;

/// An opened PyTorch zip archive (`torch.save` or TorchScript).
pub(crate) struct TorchArchive {
    path: PathBuf,
    zip: ZipArchive<BufReader<File>>,
    /// The archive's top folder including its trailing slash (`archive/`, `tiny_jit/`).
    prefix: String,
    big_endian: bool,
}

/// Errors inside unpickling: either the pickle itself or a checkpoint-level problem.
enum Inner {
    Pickle(PickleError),
    Checkpoint(CheckpointError),
}

impl From<PickleError> for Inner {
    fn from(e: PickleError) -> Self {
        Inner::Pickle(e)
    }
}

impl TorchArchive {
    /// Opens the zip and finds its record prefix and byte order.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| CheckpointError::io(path, e))?;
        let zip = ZipArchive::new(BufReader::new(file))
            .map_err(|source| CheckpointError::Zip { path: path.into(), source })?;
        let prefix = zip
            .file_names()
            .filter_map(|n| n.strip_suffix("data.pkl"))
            .filter(|p| p.is_empty() || (p.ends_with('/') && p.matches('/').count() == 1))
            .min_by_key(|p| p.len())
            .map(str::to_string)
            .ok_or_else(|| CheckpointError::BadArchive {
                path: path.into(),
                what: "zip archive without a data.pkl record: not a PyTorch checkpoint".into(),
            })?;
        let mut archive = Self { path: path.into(), zip, prefix, big_endian: false };
        if archive.has_record("byteorder") {
            let order = archive.read_record("byteorder")?;
            archive.big_endian = match order.as_slice() {
                b"little" => false,
                b"big" => true,
                other => {
                    return Err(CheckpointError::BadArchive {
                        path: path.into(),
                        what: format!("unknown byteorder record {:?}", String::from_utf8_lossy(other)),
                    })
                }
            };
        }
        Ok(archive)
    }

    /// Whether `<prefix>/<name>` exists.
    pub(crate) fn has_record(&self, name: &str) -> bool {
        self.zip.index_for_name(&format!("{}{name}", self.prefix)).is_some()
    }

    /// Whether the archive is TorchScript (has compiled code besides the pickle).
    pub(crate) fn is_torchscript(&self) -> bool {
        let code = format!("{}code/", self.prefix);
        self.has_record("constants.pkl") || self.zip.file_names().any(|n| n.starts_with(&code))
    }

    /// The uncompressed size of `entry` as the zip directory states it, if the entry exists.
    fn entry_size(&mut self, entry: &str) -> Option<u64> {
        let index = self.zip.index_for_name(entry)?;
        self.zip.by_index_raw(index).ok().map(|f| f.size())
    }

    /// Fills `dst` with the start of `entry`. Stored (uncompressed) entries, which is how torch
    /// writes every record, are read straight into `dst` and checked against the CRC-32 of the
    /// zip directory (far faster than the zip crate's checked reader); compressed ones go
    /// through the zip crate, which checks the CRC itself.
    fn read_entry_into(&mut self, entry: &str, dst: &mut [u8]) -> std::result::Result<(), String> {
        let index = self.zip.index_for_name(entry).ok_or("missing from the archive")?;
        let corrupt = |e: std::io::Error| format!("cannot read it: {e} (truncated or corrupt archive)");
        let mut file = self.zip.by_index_raw(index).map_err(|e| e.to_string())?;
        let whole = file.size() == dst.len() as u64;
        if file.compression() == zip::CompressionMethod::Stored {
            file.read_exact(dst).map_err(corrupt)?;
            if whole && crc32fast::hash(dst) != file.crc32() {
                return Err("CRC-32 mismatch: the data is corrupt (download or save the checkpoint again)".into());
            }
            return Ok(());
        }
        drop(file);
        let mut file = self.zip.by_index(index).map_err(|e| e.to_string())?;
        file.read_exact(dst).map_err(corrupt)?;
        if whole {
            // Reading up to the end makes the zip crate compare the CRC-32.
            file.read(&mut [0u8; 1]).map_err(corrupt)?;
        }
        Ok(())
    }

    /// Reads the whole of `entry` (records such as `data.pkl`, never storages).
    fn read_entry(&mut self, entry: &str) -> std::result::Result<Vec<u8>, String> {
        let size = self.entry_size(entry).ok_or("missing from the archive")?;
        if size > MAX_RECORD {
            return Err(format!("claims {size} bytes, more than a pickle record may hold"));
        }
        let mut buf = vec![0u8; usize::try_from(size).map_err(|_| "too large")?];
        self.read_entry_into(entry, &mut buf)?;
        Ok(buf)
    }

    pub(crate) fn read_record(&mut self, name: &str) -> Result<Vec<u8>> {
        let entry = format!("{}{name}", self.prefix);
        self.read_entry(&entry).map_err(|what| CheckpointError::BadArchive {
            path: self.path.clone(),
            what: format!("record {entry}: {what}"),
        })
    }

    /// Unpickles the record `name` (e.g. `data.pkl`), loading the storages it refers to.
    pub(crate) fn unpickle(mut self, name: &str) -> Result<PyValue> {
        let data = self.read_record(name)?;
        let mut storages: HashMap<(String, Kind), Tensor> = HashMap::new();
        let mut load = |spec: &TensorSpec| -> std::result::Result<Tensor, Inner> {
            self.tensor(spec, &mut storages).map_err(Inner::Checkpoint)
        };
        let value = pickle::unpickle(&data, &mut load);
        match value {
            Ok(v) => Ok(v),
            Err(Inner::Pickle(source)) => Err(CheckpointError::Pickle { path: self.path.clone(), source }),
            Err(Inner::Checkpoint(e)) => Err(e),
        }
    }

    fn storage_error(&self, key: &str, entry: &str, what: String) -> CheckpointError {
        CheckpointError::Storage { path: self.path.clone(), key: key.into(), entry: entry.into(), what }
    }

    /// The flat storage tensor for `key`, read once and shared by every view on it.
    fn storage(
        &mut self,
        key: &str,
        kind: Kind,
        numel: i64,
        cache: &mut HashMap<(String, Kind), Tensor>,
    ) -> Result<Tensor> {
        if let Some(t) = cache.get(&(key.to_string(), kind)) {
            return Ok(t.shallow_clone());
        }
        let entry = format!("{}data/{key}", self.prefix);
        let numel_u = u64::try_from(numel)
            .map_err(|_| self.storage_error(key, &entry, format!("negative element count {numel}")))?;
        let elt = kind.elt_size_in_bytes() as u64;
        let need = numel_u.checked_mul(elt).ok_or_else(|| self.storage_error(key, &entry, "size overflows".into()))?;
        let size = self.entry_size(&entry).ok_or_else(|| {
            self.storage_error(key, &entry, "missing from the archive (incomplete or corrupt checkpoint)".into())
        })?;
        if size < need {
            return Err(self.storage_error(
                key,
                &entry,
                format!("holds {size} bytes, the pickle needs {numel} × {elt} = {need}"),
            ));
        }
        let t = Tensor::f_empty([numel], (kind, Device::Cpu)).map_err(|e| CheckpointError::torch(&self.path, e))?;
        if need > 0 {
            let len = usize::try_from(need).map_err(|_| self.storage_error(key, &entry, "too large".into()))?;
            // SAFETY: `t` was just allocated by libtorch as a contiguous CPU tensor of `numel`
            // elements of `kind`, so its data pointer is valid for `len` = numel × elt bytes; no
            // other reference to that memory exists yet, and `t` outlives `dst`.
            let dst = unsafe { std::slice::from_raw_parts_mut(t.data_ptr().cast::<u8>(), len) };
            self.read_entry_into(&entry, dst).map_err(|what| self.storage_error(key, &entry, what))?;
            if self.big_endian && elt > 1 {
                let part = if matches!(kind, Kind::ComplexFloat | Kind::ComplexDouble) { elt / 2 } else { elt };
                dst.chunks_exact_mut(part as usize).for_each(<[u8]>::reverse);
            }
            if kind == Kind::Bool && dst.iter().any(|&b| b > 1) {
                return Err(self.storage_error(key, &entry, "bool storage holds bytes other than 0 and 1".into()));
            }
        }
        cache.insert((key.to_string(), kind), t.shallow_clone());
        Ok(t)
    }

    /// Builds the tensor `spec` describes as a view of its storage, after checking that the
    /// view stays inside the storage (a corrupt file must not read out of bounds).
    fn tensor(&mut self, spec: &TensorSpec, cache: &mut HashMap<(String, Kind), Tensor>) -> Result<Tensor> {
        let s = &spec.storage;
        let storage = self.storage(&s.key, s.kind, s.numel, cache)?;
        let bad = |what: String| CheckpointError::content(&self.path, format!("tensor on storage `{}`: {what}", s.key));
        if spec.size.len() != spec.stride.len() {
            return Err(bad(format!("size {:?} and stride {:?} differ in length", spec.size, spec.stride)));
        }
        if spec.offset < 0 || spec.size.iter().chain(&spec.stride).any(|&d| d < 0) {
            return Err(bad(format!(
                "negative offset, size or stride (offset {}, size {:?}, stride {:?})",
                spec.offset, spec.size, spec.stride
            )));
        }
        if !spec.size.contains(&0) {
            let last = spec
                .size
                .iter()
                .zip(&spec.stride)
                .try_fold(spec.offset, |acc, (&n, &st)| acc.checked_add((n - 1).checked_mul(st)?))
                .ok_or_else(|| bad("view size overflows".into()))?;
            if last >= s.numel {
                return Err(bad(format!(
                    "view (offset {}, size {:?}, stride {:?}) reaches element {last} of a {}-element storage",
                    spec.offset, spec.size, spec.stride, s.numel
                )));
            }
        }
        storage
            .f_as_strided(spec.size.as_slice(), spec.stride.as_slice(), spec.offset)
            .map_err(|e| CheckpointError::torch(&self.path, e))
    }
}
