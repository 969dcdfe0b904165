//! OpenAI CLIP's BPE tokenizer (ids identical to `clip.tokenize`) and zero-shot text prompts.
//!
//! - [`ClipTokenizer`]: cleaning as CLIP's `basic_clean`/`whitespace_clean` (ftfy fixes, HTML
//!   entities decoded twice, whitespace collapsed, lower case), CLIP's word split, byte-level
//!   BPE (the `tokenizers` crate's model) with the embedded `bpe_simple_vocab_16e6` merges,
//!   rows of `[49406, …, 49407, 0, …]`. Too-long texts are an error unless truncation is on.
//! - [`prompts`]: label maps (plain or `id,name` CSV), templates and template files, and the
//!   template-major prompt matrix (MMAction2's `[t.format(c) for t in templates for c in labels]`).
//!
//! Checked against the real `clip.tokenize` on all 6,400 K400 prompts and 65 awkward strings;
//! the one known difference is text garbled by a wrong decoding (`cafÃ©`), which ftfy repairs
//! and this crate leaves as it is.
//!
//! ```
//! use kinema_text::{ClipTokenizer, PromptSet, LabelSource, TemplateSource};
//!
//! let tokenizer = ClipTokenizer::shared()?;
//! let batch = tokenizer.tokenize(&["The woman is singing"])?;
//! assert_eq!(&batch.ids()[..6], &[49406, 518, 2308, 533, 5864, 49407]);
//! assert_eq!(batch.eot_positions(), &[5]);
//!
//! let labels = LabelSource::List(vec!["singing".into(), "dancing".into()]);
//! let templates = TemplateSource::List(vec!["a photo of action {}".into(), "{}".into()]);
//! let prompts = PromptSet::from_sources(&templates, &labels)?;
//! assert_eq!(prompts.texts()[1], "a photo of action dancing");
//! assert_eq!(prompts.tokenize(&tokenizer)?.shape(), [4, 77]);
//! # Ok::<(), kinema_text::TextError>(())
//! ```

mod batch;
mod clean;
mod error;
pub mod ftfy;
pub mod html;
pub mod prompts;
mod tokenizer;
pub mod vocab;

pub use batch::TokenBatch;
pub use clean::clean_text;
pub use error::{Result, TextError};
pub use prompts::{LabelSource, PromptSet, Template, TemplateSource};
pub use tokenizer::{ClipTokenizer, TokenizeOptions, CONTEXT_LENGTH};
pub use vocab::{EOT_ID, SOT_ID, VOCAB_SIZE};
