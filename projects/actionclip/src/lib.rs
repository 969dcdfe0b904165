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
//! * [`prompts`]: label x template prompts; [`text_cache`]: text features on disk.
//! * [`inference`]: loading any checkpoint for zero-shot use, the default test pipeline.
//! * [`checkpoint`]: reading MMAction2 / OpenAI / original checkpoints, inferring the
//!   architecture, converting to Kinema safetensors.

pub mod adapters;
pub mod checkpoint;
pub mod config;
pub mod inference;
pub mod losses;
pub mod model;
pub mod prompts;
mod text_bridge;
pub mod text_cache;

pub use config::{build_action_clip, ActionClipConfig};
pub use model::{ActionClip, ActionClipSpec, RunOptions};
pub use prompts::PromptSet;
