//! Model building blocks and the model-side registry kinds.
//!
//! * [`recognizer`]: the [`Recognizer`](recognizer::Recognizer) trait the engine trains and
//!   evaluates, its registry kind, and the batch it consumes.

pub mod recognizer;
