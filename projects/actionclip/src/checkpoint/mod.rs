//! ActionCLIP checkpoints in every format users have, normalised to one naming
//! (`clip.<OpenAI key>`, `adapter.<key>`), plus the architecture they imply.
//!
//! * [`read`]: files -> named tensors (MMEngine `.pth`, OpenAI TorchScript `.pt`,
//!   original ActionCLIP `.pt`, Kinema safetensors).
//! * [`convert`]: each source's key mapping, and writing Kinema safetensors.
//! * [`spec`]: the architecture (CLIP shapes, adapter type, layers, frames) from keys
//!   and shapes, as upstream `init_actionclip` does.

pub mod convert;
pub mod read;
pub mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use convert::{write_kinema, SourceFormat};
pub use read::read_checkpoint;
pub use spec::{infer_spec, InferredSpec};

use kinema_models::weights::NamedTensors;

/// A checkpoint read and renamed to the model's keys.
#[derive(Debug)]
pub struct ActionClipCheckpoint {
    /// Tensors named `clip.*` / `adapter.*`, fp32.
    pub tensors: NamedTensors,
    /// The format it was read as.
    pub format: SourceFormat,
    /// Kinema metadata (`adapter`, `num_segs`, ...), from our safetensors or the
    /// conversion.
    pub metadata: BTreeMap<String, String>,
    /// The file.
    pub path: PathBuf,
}

impl ActionClipCheckpoint {
    /// True when the checkpoint holds only CLIP (an OpenAI file).
    pub fn is_clip_only(&self) -> bool {
        self.tensors.iter().all(|(k, _)| k.starts_with("clip."))
    }
}

/// Reading or interpreting a checkpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file cannot be opened or read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The file format layer (kinema-torch) failed; its message names the file.
    #[error(transparent)]
    Read(#[from] kinema_torch::checkpoint::CheckpointError),
    /// The file is readable but is not what was expected.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
}
