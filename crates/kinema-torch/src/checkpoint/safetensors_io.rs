//! Kinema's own checkpoint format: safetensors with JSON metadata in the header's
//! `__metadata__`, written atomically.
//!
//! Header metadata keys: `format` = `"pt"` (the Hugging Face convention), [`META_KEY`] = the
//! caller's JSON metadata, [`ORDER_KEY`] = the tensor names in the caller's order (safetensors
//! itself stores tensors sorted by dtype and name).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};
use tch::{Device, Kind, Tensor};

use super::detect::CheckpointFormat;
use super::error::{CheckpointError, Result};
use super::load::Checkpoint;

/// `__metadata__` key holding the JSON metadata given to [`save_safetensors`].
pub const META_KEY: &str = "kinema.meta";
/// `__metadata__` key holding the JSON array of tensor names in saving order.
pub const ORDER_KEY: &str = "kinema.order";

/// One tensor as safetensors sees it: a contiguous CPU tensor whose memory is written to
/// the file as it is, without an intermediate copy (a checkpoint of a large model would
/// otherwise need twice its size in extra memory while saving).
struct TensorView {
    dtype: Dtype,
    shape: Vec<usize>,
    tensor: Tensor,
    len: usize,
}

impl View for &TensorView {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        if self.len == 0 {
            return Cow::Borrowed(&[]);
        }
        // SAFETY: `tensor` is a contiguous CPU tensor of exactly `len` bytes (checked when
        // the view was made), owned by this view and not written to while it lives, so
        // its storage is valid and unchanged for the lifetime of the returned slice.
        Cow::Borrowed(unsafe { std::slice::from_raw_parts(self.tensor.data_ptr() as *const u8, self.len) })
    }
    fn data_len(&self) -> usize {
        self.len
    }
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Bool => Dtype::BOOL,
        Kind::Uint8 => Dtype::U8,
        Kind::Int8 => Dtype::I8,
        Kind::Int16 => Dtype::I16,
        Kind::Int => Dtype::I32,
        Kind::Int64 => Dtype::I64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        _ => return None,
    })
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::BOOL => Kind::Bool,
        Dtype::U8 => Kind::Uint8,
        Dtype::I8 => Kind::Int8,
        Dtype::I16 => Kind::Int16,
        Dtype::I32 => Kind::Int,
        Dtype::I64 => Kind::Int64,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        _ => return None,
    })
}

fn tensor_view(path: &Path, name: &str, t: &Tensor) -> Result<TensorView> {
    let torch = |e| CheckpointError::torch(path, e);
    let kind = t.f_kind().map_err(torch)?;
    let dtype = dtype_of(kind).ok_or_else(|| {
        CheckpointError::content(path, format!("tensor `{name}` has dtype {kind:?}, which safetensors cannot store"))
    })?;
    // A no-op (the same storage) for the usual contiguous CPU parameter; a copy otherwise.
    let tensor = t.detach().f_to_device(Device::Cpu).and_then(|t| t.f_contiguous()).map_err(torch)?;
    let shape = tensor.size().iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect::<Vec<_>>();
    let numel: usize = shape.iter().product();
    if !tensor.is_contiguous() {
        return Err(CheckpointError::content(path, format!("tensor `{name}` could not be made contiguous")));
    }
    Ok(TensorView { dtype, shape, tensor, len: numel * kind.elt_size_in_bytes() })
}

/// Writes `tensors` (any device, any layout) and optional JSON `meta` to a safetensors file
/// at `path`, atomically: a temporary file in the same folder is written, synced and renamed
/// over `path`, so a crash never leaves a half-written checkpoint.
pub fn save_safetensors(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    meta: Option<&serde_json::Value>,
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = HashSet::new();
    let mut views = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        if !seen.insert(name.as_str()) || name == "__metadata__" {
            return Err(CheckpointError::content(path, format!("tensor name `{name}` is repeated or reserved")));
        }
        views.push((name.clone(), tensor_view(path, name, t)?));
    }
    let mut header = HashMap::new();
    header.insert("format".to_string(), "pt".to_string());
    let order: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    header.insert(ORDER_KEY.to_string(), serde_json::to_string(&order).unwrap_or_default());
    if let Some(meta) = meta {
        header.insert(META_KEY.to_string(), meta.to_string());
    }
    write_atomically_with(path, |tmp| {
        safetensors::serialize_to_file(views.iter().map(|(n, v)| (n.as_str(), v)), Some(header), tmp)
            .map_err(|source| CheckpointError::Safetensors { path: path.into(), source })
    })
}

/// Writes `bytes` to `path` through a synced temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |tmp| {
        let mut file = std::fs::OpenOptions::new().write(true).open(tmp).map_err(|e| CheckpointError::io(path, e))?;
        file.write_all(bytes).map_err(|e| CheckpointError::io(path, e))
    })
}

/// Lets `write` fill a temporary file in `path`'s folder (given its path), then syncs it
/// and renames it over `path`, so a crash never leaves a half-written file at `path`.
pub(crate) fn write_atomically_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let io = |e| CheckpointError::io(path, e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let stem = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{stem}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // Created like any other file (0666 less the umask, as `torch.save` leaves them), not
    // with the temporary file's owner-only 0600, so shared work dirs stay readable.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(dir).map_err(io)?;
    write(tmp.path())?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Makes the rename itself durable; not every filesystem supports it.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads a safetensors file: its tensors (in saving order when Kinema wrote it, else in file
/// order) and the JSON metadata saved with them.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Checkpoint> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| CheckpointError::io(path, e))?;
    // Mapped, not read: a training checkpoint of a large model is as big as the model and
    // its optimizer state, and reading it into a buffer first would double the memory
    // needed to resume.
    // SAFETY: the mapping is only read, and only until the tensors below (copies) are
    // made. Kinema replaces checkpoints by renaming a new file over the old one, never by
    // writing into it, so its own files do not change under the mapping; a file that
    // another program truncates while it is being loaded is outside what this guards.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| CheckpointError::io(path, e))?;
    let buf: &[u8] = &map;
    let st_err = |source| CheckpointError::Safetensors { path: path.into(), source };
    let (_, header) = SafeTensors::read_metadata(buf).map_err(st_err)?;
    let st = SafeTensors::deserialize(buf).map_err(st_err)?;
    let extra = header.metadata().clone().unwrap_or_default();
    let mut names = header.offset_keys();
    if let Some(order) = extra.get(ORDER_KEY).and_then(|o| serde_json::from_str::<Vec<String>>(o).ok()) {
        let same = order.len() == names.len() && order.iter().collect::<HashSet<_>>() == names.iter().collect();
        if same {
            names = order;
        } else {
            log::warn!("{}: `{ORDER_KEY}` does not match the stored tensors; using file order", path.display());
        }
    }
    let mut tensors = Vec::with_capacity(names.len());
    for name in names {
        let view = st.tensor(&name).map_err(st_err)?;
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            CheckpointError::content(
                path,
                format!("tensor `{name}` has safetensors dtype {:?}, which Kinema does not read", view.dtype()),
            )
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let need = view.shape().iter().product::<usize>() * kind.elt_size_in_bytes();
        if view.data().len() != need {
            return Err(CheckpointError::content(
                path,
                format!("tensor `{name}` {:?} needs {need} bytes, the file gives {}", view.shape(), view.data().len()),
            ));
        }
        let t = Tensor::f_from_data_size(view.data(), &shape, kind).map_err(|e| CheckpointError::torch(path, e))?;
        tensors.push((name, t));
    }
    let meta = match extra.get(META_KEY) {
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| CheckpointError::content(path, format!("`{META_KEY}` metadata is not valid JSON: {e}")))?,
        ),
        None => None,
    };
    Ok(Checkpoint { path: path.to_path_buf(), format: CheckpointFormat::Safetensors, tensors, meta, tree: None })
}
