//! The error type of checkpoint reading, writing and loading.

use std::path::PathBuf;

use super::pickle::PickleError;
use super::strict::LoadReport;

/// Everything that can go wrong while reading, writing or loading a checkpoint.
///
/// Every variant that concerns a file names it, so a message alone tells the user which
/// checkpoint is at fault and why.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The path is not a readable regular file.
    #[error("{path}: {what}")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`does not exist`, `is a folder, ...`).
        what: String,
    },

    /// The file is a zip archive, but a broken one (truncated download, corrupt bytes).
    #[error(
        "{path}: not a readable zip archive ({source}); the file is truncated or corrupt, download or save it again"
    )]
    Zip {
        /// The file.
        path: PathBuf,
        /// What the zip reader reported.
        #[source]
        source: zip::result::ZipError,
    },

    /// The file uses PyTorch's legacy (before 1.6) non-zip serialization.
    #[error(
        "{path}: this is PyTorch's legacy non-zip checkpoint format (torch.save with \
         _use_new_zipfile_serialization=False, or PyTorch older than 1.6), which Kinema does not read; \
         re-save it in the zip format with Python: `torch.save(torch.load(path, map_location='cpu', \
         weights_only=False), new_path)`"
    )]
    LegacyFormat {
        /// The file.
        path: PathBuf,
    },

    /// The content matches no supported checkpoint format.
    #[error(
        "{path}: not a supported checkpoint format (expected a torch.save zip archive, a TorchScript \
         archive or a safetensors file); the file starts with {head}"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The first bytes of the file, escaped, for diagnosis.
        head: String,
    },

    /// A record that every PyTorch zip checkpoint holds is missing or unreadable.
    #[error("{path}: {what}")]
    BadArchive {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: String,
    },

    /// The pickle inside the checkpoint could not be read.
    #[error("{path}: {source}")]
    Pickle {
        /// The file.
        path: PathBuf,
        /// Where and why unpickling stopped.
        #[source]
        source: PickleError,
    },

    /// A tensor refers to a storage record that the archive lacks or that is too short.
    #[error("{path}: storage `{key}` ({entry}): {what}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// The storage key from the pickle (`archive/data/<key>`).
        key: String,
        /// The zip entry name looked for.
        entry: String,
        /// What is wrong with it.
        what: String,
    },

    /// The checkpoint's content is not what the caller asked for (no state dict, a non-tensor
    /// value where a tensor was expected, a non-string key...).
    #[error("{path}: {what}")]
    Content {
        /// The file (or a description of the in-memory source).
        path: PathBuf,
        /// What was expected and what was found.
        what: String,
    },

    /// libtorch refused an operation (TorchScript loading, tensor creation).
    #[error("{path}: libtorch: {source}")]
    Torch {
        /// The file.
        path: PathBuf,
        /// The libtorch error.
        #[source]
        source: tch::TchError,
    },

    /// The safetensors file could not be parsed or written.
    #[error("{path}: safetensors: {source}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The safetensors error.
        #[source]
        source: safetensors::SafeTensorError,
    },

    /// Strict loading found missing, unexpected or wrongly shaped keys (all listed together).
    #[error("{0}")]
    Mismatch(Box<LoadReport>),
}

impl CheckpointError {
    /// Shorthand for [`CheckpointError::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// Shorthand for [`CheckpointError::Content`].
    pub(crate) fn content(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Self::Content { path: path.into(), what: what.into() }
    }

    /// Shorthand for [`CheckpointError::Torch`].
    pub(crate) fn torch(path: impl Into<PathBuf>, source: tch::TchError) -> Self {
        Self::Torch { path: path.into(), source }
    }
}

/// Result alias of this module.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;
