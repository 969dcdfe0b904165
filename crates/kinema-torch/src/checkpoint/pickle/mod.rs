//! A small, safe unpickler for the pickles inside PyTorch checkpoints.
//!
//! It understands the opcodes of pickle protocols 0 to 5 that `torch.save`, numpy and
//! MMEngine emit, and never executes anything: every `module.name` global is looked up in a
//! fixed allow-list (`globals`) that gives it a meaning; anything else becomes an opaque
//! [`PyObject`](crate::checkpoint::PyObject) holding its arguments and state as data.

mod cursor;
mod globals;
mod machine;
pub(crate) mod object;
mod text;
pub(crate) mod writer;

use tch::Tensor;

use crate::checkpoint::value::PyValue;
use object::{Materializer, TensorSpec};

/// Why a pickle could not be read: the byte offset of the failing opcode and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pickle data.pkl at byte {offset}: {message}")]
pub struct PickleError {
    /// Byte offset in the pickle stream.
    pub offset: usize,
    /// What went wrong (unsupported opcode, truncated data, malformed tensor record...).
    pub message: String,
}

impl PickleError {
    pub(crate) fn at(offset: usize, message: impl Into<String>) -> Self {
        Self { offset, message: message.into() }
    }
}

/// Unpickles `data` and materializes the result, creating tensors with `load`.
pub(crate) fn unpickle<E: From<PickleError>>(
    data: &[u8],
    load: &mut dyn FnMut(&TensorSpec) -> Result<Tensor, E>,
) -> Result<PyValue, E> {
    let root = machine::run(data)?;
    let budget = 1_000_000 + 1024 * data.len() as u64;
    let mut m = Materializer { load, budget };
    let out = m.convert(&root, 0);
    object::dismantle([root]);
    out
}

#[cfg(test)]
mod tests;
