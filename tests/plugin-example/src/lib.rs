//! An example plugin crate, written the way a user would write one in their own repo:
//! it registers a transform (`InvertColors`), a hook (`CountItersHook`), a model
//! (`MeanColorNet`) and a head for the core's `Recognizer2D` (`MeanScoreHead`) with `kinema_core::register!`, and gets Kinema's stock commands over
//! them with binaries of three lines (`src/bin/*.rs`). Kinema's code knows nothing about
//! it.

mod count_iters_hook;
mod invert_colors;
mod mean_color_net;
mod mean_score_head;

pub use count_iters_hook::{CountItersHook, CountItersHookConfig};
pub use invert_colors::{InvertColors, InvertColorsConfig};
pub use mean_color_net::{MeanColorNet, MeanColorNetConfig};
pub use mean_score_head::{MeanScoreHead, MeanScoreHeadConfig};

/// Keeps this crate's registrations in a binary; call it first in `main`.
pub fn link() {}
