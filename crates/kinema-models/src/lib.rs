//! Model building blocks and the model-side registry kinds.
//!
//! * [`recognizer`]: the [`Recognizer`](recognizer::Recognizer) trait the engine trains and
//!   evaluates, its registry kind, and the batch it consumes.
//! * [`clip`]: OpenAI's CLIP (ViT image tower, causal text tower) with OpenAI's names,
//!   hyper-parameters read from checkpoint shapes.
//! * [`layers`]: generic blocks (fp32 LayerNorm, `in_proj` multi-head attention,
//!   residual attention block, transformer stack) for any model.
//! * [`backbones`], [`heads`], [`losses`], [`recognizers`]: MMAction2's 2D recognizers
//!   (`Recognizer2D` with `ResNet` / `ResNetTSM` backbones, `TSNHead` / `TSMHead`,
//!   `CrossEntropyLoss`), each a registered kind.
//! * [`weights_source`]: where weights files come from (local, a zoo name or URL, cached);
//!   `zoo.rs` registers the model-zoo names of the families here.
//! * [`data_preprocessor`]: MMAction2's `ActionDataPreprocessor` as a registered kind.
//! * [`weights`]: named tensors, shapes, and (from kinema-torch) strict loading.
//! * [`resolve`]: the one way from (config, checkpoint) to a model with its weights.
//! * [`flags`]: command-line flags a model adds to the inference tools.

pub mod backbones;
pub mod clip;
pub mod data_preprocessor;
pub mod flags;
pub mod heads;
pub mod layers;
pub mod losses;
pub mod recognizer;
pub mod recognizers;
pub mod resolve;
pub mod weights;
pub mod weights_source;
mod zoo;

#[doc(hidden)]
pub use inventory as __inventory;

pub use clip::{Clip, ClipArch};
pub use data_preprocessor::{ActionDataPreprocessor, DataPreprocessor, DataPreprocessorKind};
pub use recognizer::{ModelBatch, ModelContext, ModelError, Recognizer, RecognizerKind};
