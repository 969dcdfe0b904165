//! OpenAI CLIP (ViT image tower + causal text transformer) in tch, numerically as
//! OpenAI's `model.py`: QuickGELU, fp32 LayerNorm, `in_proj_weight` attention, text
//! features at the end-of-text token.
//!
//! * [`arch`]: hyper-parameters from checkpoint shapes (`build_model` rules) or presets,
//!   parameter counts.
//! * [`vision`]: the image tower (`visual.*`).
//! * [`text`]: the text tower (top-level keys), with end-of-text truncation.
//! * [`model`]: [`Clip`], both towers and `logit_scale`.

pub mod arch;
pub mod model;
pub mod text;
pub mod vision;

pub use arch::{ArchError, ClipArch};
pub use model::{l2_normalize, Clip};
pub use text::{causal_mask, TextTransformer, TRUNCATE_MULTIPLE};
pub use vision::VisionTransformer;
