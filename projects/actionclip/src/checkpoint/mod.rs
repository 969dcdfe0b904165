//! ActionCLIP checkpoints in every format users have, normalised to one naming
//! (`clip.<OpenAI key>`, `adapter.<key>`), plus the architecture they imply.
//!
//! Files are read by kinema-models' resolver (any format); this module knows the
//! layouts ActionCLIP checkpoints come in:
//! * [`read`]: which layout a checkpoint has, and its tensors under the model's names.
//! * [`convert`]: each layout's key mapping.
//! * [`spec`]: the architecture (CLIP shapes, adapter type, layers, frames) from keys
//!   and shapes, as upstream `init_actionclip` does, and the `model` table it implies.

pub mod convert;
pub mod read;
pub mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use convert::SourceFormat;
pub use read::{read_checkpoint, rename};
pub use spec::{infer_spec, model_table_of, InferredSpec};

use kinema_models::weights::NamedTensors;

/// A checkpoint renamed to the model's keys.
#[derive(Debug)]
pub struct ActionClipCheckpoint {
    /// Tensors named `clip.*` / `adapter.*`, fp32.
    pub tensors: NamedTensors,
    /// The layout it was read as.
    pub format: SourceFormat,
    /// String metadata (`adapter`, `num_segs`, ...) from Kinema's safetensors header.
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
