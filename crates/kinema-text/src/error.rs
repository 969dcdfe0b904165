//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building the tokenizer, tokenizing or building prompts.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The embedded BPE vocabulary is malformed (a corrupted build, never user input).
    #[error("embedded CLIP BPE vocabulary, line {line}: {reason}")]
    Vocabulary {
        /// 0-based line in the decompressed vocabulary file.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// The `tokenizers` crate reported an error.
    #[error("tokenizers failed while {context}: {source}")]
    Tokenizers {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: tokenizers::Error,
    },
    /// The context length cannot hold the start and end tokens.
    #[error("context length must be at least 2 (start and end tokens), got {context_length}")]
    InvalidContextLength {
        /// The requested context length.
        context_length: usize,
    },
    /// A text needs more tokens than the context holds and truncation is off
    /// (`clip.tokenize` raises `RuntimeError` here too).
    #[error(
        "text #{index} {text:?} is too long: {num_tokens} tokens (with the start and end tokens), \
         the context length is {context_length}; shorten it or enable truncation"
    )]
    TooLong {
        /// Position of the text in the batch.
        index: usize,
        /// The text as given.
        text: String,
        /// Its token count, start and end tokens included.
        num_tokens: usize,
        /// The context length it must fit.
        context_length: usize,
    },
    /// A prompt (template filled with a class name) does not fit the context.
    #[error(
        "the prompt for class #{class_index} {label:?} with template {template:?} is \
         {num_tokens} tokens long (with the start and end tokens), more than the context \
         length {context_length}; shorten the class name or the template"
    )]
    PromptTooLong {
        /// Class index.
        class_index: usize,
        /// The class name.
        label: String,
        /// The template.
        template: String,
        /// Token count of the prompt, start and end tokens included.
        num_tokens: usize,
        /// The context length it must fit.
        context_length: usize,
    },
    /// A prompt template has no usable `{}` placeholder or is otherwise malformed.
    #[error("template #{index} {template:?} from {origin}: {reason}")]
    Template {
        /// Position of the template in its list or file (0-based).
        index: usize,
        /// The template text.
        template: String,
        /// Where the template came from (a file path or "the template list").
        origin: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A template or label list is empty.
    #[error("{what} from {origin} is empty: at least one entry is required")]
    Empty {
        /// "label list" or "template list".
        what: &'static str,
        /// Where the list came from.
        origin: String,
    },
    /// A label is blank (an empty line in a label map, or an empty string in a list).
    #[error("label #{index} from {origin} is empty (line {line}): every class needs a name")]
    EmptyLabel {
        /// Position of the label (0-based class index).
        index: usize,
        /// 1-based line in the file (the list position + 1 for lists).
        line: usize,
        /// Where the label came from.
        origin: String,
    },
    /// A label-map CSV (`id,name` header) has a malformed row.
    #[error("{path}, line {line}: {reason}")]
    LabelCsv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The path is not a regular file (a folder, a named pipe, a link loop, missing).
    #[error(transparent)]
    NotAFile(#[from] kinema_core::fs::NotAFile),
    /// A file could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    Io {
        /// "label map" or "template".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = TextError> = std::result::Result<T, E>;
