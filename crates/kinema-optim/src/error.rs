//! The crate's error type: every message names the config key or the parameter concerned
//! and says what was expected.

/// Why building, stepping, saving or loading an optimizer, wrapper or scheduler failed.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    /// A config value is out of range or inconsistent (`key` is the dotted key).
    #[error("`{key}`: {message}")]
    Config {
        /// The config key (relative to the component's table, e.g. `paramwise_cfg.custom_keys.adapter`).
        key: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The loss is NaN or infinite in a full-precision run: stepping would corrupt the weights.
    #[error("the loss is not finite ({value}) at update {inner_count}; the optimizer was not stepped")]
    NonFiniteLoss {
        /// The loss value.
        value: f64,
        /// The wrapper's inner count (number of backward passes so far).
        inner_count: u64,
    },
    /// Mixed precision skipped too many optimizer steps in a row: the loss or gradients are
    /// not finite at any scale.
    #[error(
        "{count} optimizer steps in a row were skipped for inf/NaN gradients (loss scale now {loss_scale}): \
         the loss or the model is not finite; training stopped (optim_wrapper.max_skipped_steps)"
    )]
    TooManySkippedSteps {
        /// Steps skipped in a row.
        count: u64,
        /// The loss scale after the last backoff.
        loss_scale: f64,
    },
    /// The gradient norm is NaN or infinite in a full-precision run with clipping.
    #[error("the gradient norm is not finite ({value}); the optimizer was not stepped")]
    NonFiniteGradNorm {
        /// The total gradient norm.
        value: f64,
    },
    /// The loss passed to `update_params` is not a single value.
    #[error("the loss must be a single value, got a tensor of shape {shape:?}")]
    LossNotScalar {
        /// Its shape.
        shape: Vec<i64>,
    },
    /// Two trainable parameters have the same name.
    #[error("parameter `{name}` is given twice; parameter names must be unique")]
    DuplicateParam {
        /// The name.
        name: String,
    },
    /// A saved state does not fit this optimizer (type, groups, names, shapes, fields).
    #[error("cannot load optimizer state: {0}")]
    State(String),
    /// A saved scheduler state does not fit this scheduler.
    #[error("cannot load scheduler state #{index} ({scheduler}): {message}")]
    SchedulerState {
        /// Position of the scheduler in the `param_scheduler` list.
        index: usize,
        /// The scheduler's type.
        scheduler: String,
        /// What is wrong.
        message: String,
    },
    /// The accumulation bookkeeping is inconsistent (more updates than `max_iters`).
    #[error("gradient accumulation: {0}")]
    Accumulation(String),
    /// Averaging gradients across processes failed (a rank died or timed out).
    #[error("gradient synchronisation: {0}")]
    GradSync(String),
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl OptimError {
    /// A [`OptimError::Config`] error for `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        OptimError::Config { key: key.into(), message: message.into() }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = OptimError> = std::result::Result<T, E>;
