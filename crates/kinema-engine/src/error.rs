//! The engine's error type: each variant names what failed (a file, a config key, a
//! hook, the launcher) and keeps the error that caused it.

use std::path::PathBuf;

use kinema_core::config::Source;
use kinema_core::registry::{chain_text, BoxError};
use kinema_core::KeyPath;

/// Why a run could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] kinema_core::ConfigError),
    /// A component could not be built.
    #[error("{0}")]
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
    #[error("checkpoint {}: {}", path.display(), chain_text(source.as_ref()))]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// The cause (the checkpoint reader's or writer's error, which names the file too).
        source: BoxError,
    },
    /// `--resume` was given a file without training state.
    #[error(
        "{}: not a Kinema training checkpoint ({what}); to start from its weights use `load_from` or \
         `--checkpoint` instead of `--resume`",
        path.display()
    )]
    NotATrainingCheckpoint {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        what: String,
    },
    /// A checkpoint's training state does not fit this run.
    #[error("cannot resume from {}: {message}", path.display())]
    Resume {
        /// The checkpoint.
        path: PathBuf,
        /// What differs, and what was expected.
        message: String,
    },
    /// A file in the work dir could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A config value is missing, of the wrong kind or inconsistent with another.
    #[error("{source_of}: `{key}`: {message}")]
    Setting {
        /// The file (or option) that set the value, or should have.
        source_of: Source,
        /// The key.
        key: KeyPath,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A command-line option is wrong (`--device`, `--launcher`'s environment).
    #[error("{option}: {message}")]
    Option {
        /// The option as given (`--device cuda:x`, `--launcher slurm`).
        option: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Logging or a visualizer backend failed.
    #[error("{what}: {}", chain_text(source.as_ref()))]
    Logging {
        /// What was being logged or written.
        what: String,
        /// The cause.
        source: BoxError,
    },
    /// The processes could not exchange data.
    #[error("distributed {what}: {}", chain_text(source.as_ref()))]
    Dist {
        /// The exchange (`metrics from rank 0`, `feature all-gather`).
        what: String,
        /// The cause.
        source: BoxError,
    },
    /// A hook stopped the run (an early-stopping rule, a metric it needs is missing).
    #[error("{hook}: {message}")]
    Hook {
        /// The hook.
        hook: String,
        /// What went wrong and what was expected.
        message: String,
    },
    /// A metric cannot score the results (non-finite scores: the model's outputs are broken).
    #[error("{metric}: {message}")]
    Evaluation {
        /// The metric.
        metric: String,
        /// What was wrong, naming the sample.
        message: String,
    },
    /// The runner was used out of order (a bug in the calling code, not in the config).
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// Not a failure: a signal stopped training after an iteration and the state was
    /// saved. It travels up through the loops like an error so that no end-of-epoch work
    /// runs; [`Runner::train`](crate::Runner::train) turns it into
    /// [`TrainEnd::Stopped`](crate::runner::TrainEnd::Stopped).
    #[error("stopped by {} after iteration {}", crate::runner::signal_name(.0.signal), .0.iter)]
    Stopped(crate::runner::StopInfo),
}

impl EngineError {
    /// An [`EngineError::Setting`] for `key` of `cfg`.
    pub fn setting(cfg: &kinema_core::Config, key: &str, message: impl Into<String>) -> Self {
        let key = KeyPath::parse(key);
        EngineError::Setting { source_of: cfg.source_of(&key), key, message: message.into() }
    }

    /// An [`EngineError::Logging`].
    pub fn logging(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        EngineError::Logging { what: what.into(), source: source.into() }
    }

    /// An [`EngineError::Dist`].
    pub fn dist(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        EngineError::Dist { what: what.into(), source: source.into() }
    }
}
