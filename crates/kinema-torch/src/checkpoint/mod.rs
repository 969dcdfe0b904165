//! Checkpoint I/O: PyTorch `torch.save` files (read in pure Rust by a safe unpickler),
//! TorchScript archives (OpenAI CLIP `.pt`), Kinema's own safetensors format, and strict
//! loading of named tensors into a model.
//!
//! * [`load_checkpoint`] / [`state_dict`]: any supported file to named tensors, the format
//!   detected from the content ([`detect_format`]).
//! * [`load_pytorch`]: the whole object tree of a `torch.save` file as a [`PyValue`]
//!   (MMEngine's `meta`, `message_hub`, `optimizer`, ...). Nothing is ever executed.
//! * [`save_safetensors`] / [`load_safetensors`]: Kinema's format, written atomically.
//! * [`save_pytorch`]: a `torch.save` zip archive (what MMAction2 and plain PyTorch read),
//!   written atomically.
//! * [`load_into_varstore`] / [`load_into_tensors`]: strict or non-strict loading with one
//!   [`LoadReport`] listing missing, unexpected and wrongly shaped keys together.
//!
//! See `docs/checkpoints.md` for the formats and the unpickler's safety rules.

mod detect;
mod error;
mod json;
mod load;
mod ndarray;
mod pickle;
mod safetensors_io;
mod state_dict;
mod strict;
mod torch_save;
mod torch_zip;
mod torchscript;
mod value;

pub use detect::{check_regular_file, detect_format, CheckpointFormat};
pub use error::{CheckpointError, Result};
pub use load::{flatten_tensors, load_checkpoint, load_checkpoint_lenient, state_dict, Checkpoint};
pub use ndarray::NdArray;
pub use pickle::PickleError;
pub use safetensors_io::{load_safetensors, save_safetensors, write_atomically, META_KEY, ORDER_KEY};
pub use state_dict::{state_dict_from_value, strip_prefix, tensors_of, MODULE_PREFIX};
pub use strict::{
    load_file_into_varstore, load_into_tensors, load_into_varstore, load_into_varstore_sharing, LoadMode, LoadReport,
    ShapeMismatch,
};
pub use torch_save::{load_pickle, save_pickle, save_pytorch};
pub use torch_zip::load_pytorch;
pub use torchscript::{load_torchscript, OPENAI_CLIP_EXTRA_KEYS};
pub use value::{PyDict, PyObject, PyValue};

/// The name prefix of the optimizer's tensors in Kinema training checkpoints; every other
/// tensor is a model weight under its `state_dict` name.
pub const OPTIMIZER_PREFIX: &str = "optimizer/";
