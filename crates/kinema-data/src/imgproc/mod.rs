//! Image operations on plain `u8` buffers.

pub mod ops;
pub mod resize;

pub use resize::{Interpolation, Resizer};
