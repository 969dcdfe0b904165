//! ActionCLIP on Kinema: video-text matching on CLIP, zero-shot recognition.
//!
//! MMAction2's `projects/actionclip` (and the original ActionCLIP's fusion modules and
//! loss) in Rust. The CLIP model itself lives in `kinema-models` (`kinema_models::clip`);
//! this crate adds:
//!
//! * [`model`]: the [`ActionClip`] recognizer (registered as `"ActionClip"`).
//! * [`config`]: its config table (MMAction2's keys).
//! * [`adapters`]: the temporal adapters (`TransformerAdapter`, `Transf`, `meanP`,
//!   `Conv_1D`, `LSTM`, `Transf_cls`).
//! * [`losses`]: `CrossEntropyLoss` (MMAction2) and `KLLoss` (original).
//! * [`prompts`]: the 16 templates and tokenised prompts; [`text_cache`]: text features
//!   on disk.
//! * [`inference`]: the default test pipeline.
//! * [`checkpoint`]: the MMAction2 / OpenAI / original layouts, and the architecture a
//!   checkpoint implies.
//! * [`cli`]: what the generic tools get from this project (checkpoint recognition,
//!   zero-shot flags).

pub mod adapters;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod inference;
pub mod losses;
pub mod model;
pub mod prompts;
pub mod text_cache;
mod zoo;

pub use config::{build_action_clip, ActionClipConfig, DEFAULT_NUM_SEGS};
pub use model::{ActionClip, ActionClipSpec, RunOptions};
pub use prompts::TokenizedPrompts;
