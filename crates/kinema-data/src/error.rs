//! Error types: every message names the file (video, frame folder, annotation list or
//! config) and what was expected.

use std::path::PathBuf;

/// Why one transform failed on one sample. The pipeline wraps it in
/// [`DataError::Transform`] together with the sample's file and the transform's name.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// An earlier transform should have set a field of the sample and did not.
    #[error("the sample has no `{0}`; put a transform that sets it earlier in the pipeline")]
    Missing(&'static str),
    /// The sample's values do not allow this transform (an empty video, a crop larger
    /// than the image, ...).
    #[error("{0}")]
    Invalid(String),
    /// The video could not be opened or decoded.
    #[error(transparent)]
    Video(#[from] kinema_video::VideoError),
    /// The frames would exceed the per-sample memory budget ([`kinema_video::limits`]).
    #[error(transparent)]
    Budget(#[from] kinema_video::limits::FrameBudgetError),
    /// An image file could not be read or decoded.
    #[error("{path}: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Errors of datasets, the loader and the tools.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The path is not a regular file (a folder, a named pipe, a link loop, missing).
    #[error(transparent)]
    NotAFile(#[from] kinema_core::fs::NotAFile),
    /// The dataset's `label_map` could not be read.
    #[error(transparent)]
    LabelMap {
        /// Why.
        source: Box<DataError>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of an annotation list is malformed.
    #[error("{path}:{line}: {message}")]
    Annotation {
        /// The annotation file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A transform failed on a sample.
    #[error("{file}: {transform}: {source}")]
    Transform {
        /// The sample's video file or frame folder.
        file: String,
        /// Dataset index of the sample.
        index: usize,
        /// The transform's registered name.
        transform: String,
        /// The cause.
        source: Box<TransformError>,
    },
    /// A component could not be built from the config.
    #[error("{0}")]
    Build(#[source] Box<kinema_core::BuildError>),
    /// A config value is missing or invalid.
    #[error("{source_of}: `{key}`: {message}")]
    Config {
        /// Where the value came from (file or option).
        source_of: String,
        /// Dotted key.
        key: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The config file itself could not be loaded.
    #[error(transparent)]
    ConfigLoad(Box<kinema_core::ConfigError>),
    /// A dataset index beyond the dataset.
    #[error("sample index {index} is out of range for a dataset of {len} samples")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
    /// Samples of one batch could not be stacked.
    #[error("cannot collate batch: {0}")]
    Collate(String),
    /// Every substitute tried for an unreadable sample was unreadable too.
    #[error("sample {index} ({file}) is unreadable and {attempts} substitutes failed too; last error: {last}")]
    SkipExhausted {
        /// The first index asked for.
        index: usize,
        /// Its file.
        file: String,
        /// How many substitutes were tried.
        attempts: usize,
        /// The last error.
        last: Box<DataError>,
    },
    /// The operating system refused to start the loader's worker threads.
    #[error("cannot start {asked} data loader threads (the system refused after {started}): {source}")]
    Workers {
        /// Threads asked for (`num_workers`).
        asked: usize,
        /// Threads started before the refusal.
        started: usize,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A worker thread panicked while loading a batch (a bug; reported, not fatal).
    #[error("data loader worker panicked while loading batch {batch}: {message}")]
    WorkerPanic {
        /// Position of the batch in the epoch.
        batch: usize,
        /// The panic message.
        message: String,
    },
    /// A `.npy` file is malformed or of an unsupported type.
    #[error("{path}: {message}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl DataError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}

impl From<kinema_core::BuildError> for DataError {
    fn from(e: kinema_core::BuildError) -> Self {
        DataError::Build(Box::new(e))
    }
}

impl From<kinema_core::ConfigError> for DataError {
    fn from(e: kinema_core::ConfigError) -> Self {
        DataError::ConfigLoad(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn errors_cross_threads_and_fit_anyhow() {
        is_send_sync::<DataError>();
        is_send_sync::<TransformError>();
        let e = DataError::Annotation { path: "a.txt".into(), line: 3, message: "bad".into() };
        assert_eq!(e.to_string(), "a.txt:3: bad");
    }
}
