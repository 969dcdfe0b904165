//! An example plugin crate, written the way a user would write one in their own repo:
//! it registers a transform (`InvertColors`) and a hook (`CountItersHook`) with
//! `kinema_core::register!`, and core code knows nothing about it.

mod count_iters_hook;
mod invert_colors;

pub use count_iters_hook::{CountItersHook, CountItersHookConfig};
pub use invert_colors::{InvertColors, InvertColorsConfig};
