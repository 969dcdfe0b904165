//! The engine's error type.

use std::path::PathBuf;

/// Why a run could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] kinema_core::ConfigError),
    /// A component could not be built.
    #[error(transparent)]
    Build(#[from] kinema_core::BuildError),
    /// Reading data failed.
    #[error(transparent)]
    Data(#[from] kinema_data::DataError),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] kinema_models::recognizer::ModelError),
    /// The optimizer failed (for example a non-finite loss).
    #[error("iteration {iter}: {source}")]
    Optim {
        /// The global iteration.
        iter: u64,
        /// The cause.
        source: kinema_optim::OptimError,
    },
    /// A checkpoint could not be read or written.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file in the work dir could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The config asks for something inconsistent (a key names the problem).
    #[error("{0}")]
    Invalid(String),
}
