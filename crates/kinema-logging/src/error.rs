//! The crate's error type. Every variant names the file involved and what was expected.

use std::path::PathBuf;

/// Errors from writing or reading run logs.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A file-system operation failed.
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        /// What was being done ("create directory", "write", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error (part of the message, so not also reported as a source).
        error: std::io::Error,
    },
    /// A TFRecord ended before its length, checksum or data was complete.
    #[error("{}: truncated TFRecord at byte {offset}: expected {expected}", path.display())]
    TruncatedRecord {
        /// The event file.
        path: PathBuf,
        /// Offset of the record's first byte.
        offset: u64,
        /// What was missing.
        expected: &'static str,
    },
    /// A TFRecord's stored checksum does not match its bytes.
    #[error(
        "{}: TFRecord at byte {offset}: masked crc32c of the {part} is {stored:#010x}, expected {computed:#010x}",
        path.display()
    )]
    RecordChecksum {
        /// The event file.
        path: PathBuf,
        /// Offset of the record's first byte.
        offset: u64,
        /// "length" or "data".
        part: &'static str,
        /// The checksum in the file.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },
    /// A TFRecord's payload is not a valid `Event` protobuf.
    #[error("{}: TFRecord at byte {offset} does not hold a valid Event protobuf: {error}", path.display())]
    EventDecode {
        /// The event file.
        path: PathBuf,
        /// Offset of the record's first byte.
        offset: u64,
        /// The protobuf error.
        error: prost::DecodeError,
    },
    /// A line of a JSON-lines scalar log is not a JSON object of numbers.
    #[error("{}:{line}: expected a JSON object of scalars (like MMEngine's scalars.json): {reason}", path.display())]
    JsonLine {
        /// The JSON-lines file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A `log_level` that is none of DEBUG, INFO, WARNING, ERROR, CRITICAL (or Rust's names).
    #[error("invalid log_level {value:?}: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, TRACE, OFF")]
    InvalidLogLevel {
        /// The rejected text.
        value: String,
    },
    /// Another `log::Log` implementation was installed before Kinema's.
    #[error("a logger other than Kinema's is already installed for the `log` crate")]
    LoggerAlreadySet,
    /// A setting is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidSetting {
        /// The setting ("window_size", "legend", ...).
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A key asked for in a plot is in none of the entries of a JSON log.
    #[error("{}: no entry has the key {key:?} (keys present: {available})", path.display())]
    MissingKey {
        /// The JSON-lines file.
        path: PathBuf,
        /// The missing key.
        key: String,
        /// The keys that the file does have, comma-separated.
        available: String,
    },
    /// Drawing or encoding a plot failed.
    #[error("cannot draw the plot {}: {reason}", path.display())]
    Plot {
        /// The image being written.
        path: PathBuf,
        /// The drawing backend's message.
        reason: String,
    },
}

impl LoggingError {
    /// Wraps an I/O error with what was being done and on which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        LoggingError::Io { action, path: path.into(), error }
    }
}

/// Result alias for this crate.
pub type Result<T, E = LoggingError> = std::result::Result<T, E>;
