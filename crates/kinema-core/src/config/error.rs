//! Config errors. Each message names the file and the dotted key and says what was
//! expected.

use std::fmt;
use std::path::PathBuf;

use super::KeyPath;

/// Where a config value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A TOML file.
    File(PathBuf),
    /// A `--cfg-options key=value` argument.
    CommandLine,
    /// Set by a program (for example `--work-dir`).
    Program,
    /// A `"${target}"` reference: the value was written where `target` was set.
    Reference {
        /// The variable or key referred to, as written.
        target: String,
        /// Where the target's value came from.
        source: Box<Source>,
    },
}

impl Source {
    /// The file that wrote the value, following references; `None` for the command line
    /// and the program.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Source::File(p) => Some(p),
            Source::Reference { source, .. } => source.file(),
            Source::CommandLine | Source::Program => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::CommandLine => f.write_str("--cfg-options"),
            Source::Program => f.write_str("<set by the program>"),
            Source::Reference { target, source } => write!(f, "{source} (via ${{{target}}})"),
        }
    }
}

/// Everything that can go wrong loading, merging, overriding or resolving a config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The path is not a regular file (a folder, a named pipe, a link loop, missing).
    #[error(transparent)]
    NotAFile(#[from] crate::fs::NotAFile),
    /// The file could not be read.
    #[error("{file}: cannot read config file: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{file}: invalid TOML: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// `_base_` names a file that does not exist.
    #[error("{file}: `_base_` entry \"{base}\" not found (looked for {resolved})")]
    BaseNotFound {
        /// The file containing the `_base_` key.
        file: PathBuf,
        /// The entry as written.
        base: String,
        /// The path it resolves to, relative to the file's folder.
        resolved: PathBuf,
    },
    /// `_base_` has the wrong type.
    #[error("{file}: `_base_` must be a string or an array of strings (paths relative to this file), found {found}")]
    BadBase {
        /// The file.
        file: PathBuf,
        /// The type found.
        found: &'static str,
    },
    /// A file inherits from itself.
    #[error("`_base_` cycle: {}", chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" -> "))]
    BaseCycle {
        /// The chain of files, ending with the repeated one.
        chain: Vec<PathBuf>,
    },
    /// Two bases of one file define the same top-level key.
    #[error("{file}: duplicate key `{key}` among bases: defined in both {first} and {second}")]
    DuplicateBaseKey {
        /// The file listing the bases.
        file: PathBuf,
        /// The key.
        key: String,
        /// The first base defining it.
        first: String,
        /// The second base defining it.
        second: String,
    },
    /// A table in a child config over a non-table base value, without `_delete_`.
    #[error("{source_of}: `{key}` is a table here but {found} in {base_source}; a table cannot inherit from it (set `_delete_ = true` in the table to replace the base value)")]
    TableOverNonTable {
        /// Where the table came from.
        source_of: Source,
        /// The key.
        key: KeyPath,
        /// The base value's type.
        found: &'static str,
        /// Where the base value came from.
        base_source: Source,
    },
    /// A `--cfg-options` argument is malformed.
    #[error("--cfg-options: `{argument}`: {reason}")]
    BadOverride {
        /// The argument as given.
        argument: String,
        /// What is wrong, and what was expected.
        reason: String,
    },
    /// A numeric path part indexes past the end of a list.
    #[error("{source_of}: `{key}`: index {index} is out of range for the list at `{list}` ({len} items, from {list_source})")]
    IndexOutOfRange {
        /// Where the override came from.
        source_of: Source,
        /// The full key.
        key: KeyPath,
        /// The index.
        index: usize,
        /// The list's path.
        list: KeyPath,
        /// The list's length.
        len: usize,
        /// Where the list came from.
        list_source: Source,
    },
    /// A `${a.b}` reference points at nothing.
    #[error("{source_of}: `{key}`: reference ${{{target}}} points to no value (expected a key that exists after merging and overrides)")]
    MissingReference {
        /// Where the referring value came from.
        source_of: Source,
        /// The referring key.
        key: KeyPath,
        /// The target as written.
        target: String,
    },
    /// References form a cycle.
    #[error("{source_of}: `{key}`: reference cycle: {}", chain.join(" -> "))]
    ReferenceCycle {
        /// Where the first referring value came from.
        source_of: Source,
        /// The first referring key.
        key: KeyPath,
        /// The keys in the cycle, ending with the repeated one.
        chain: Vec<String>,
    },
    /// A reference inside a longer string points at a table or list.
    #[error("{source_of}: `{key}`: reference ${{{target}}} is inside a longer string but points to a {found}; only numbers, strings and booleans can be embedded in text")]
    NonScalarInterpolation {
        /// Where the referring value came from.
        source_of: Source,
        /// The referring key.
        key: KeyPath,
        /// The target.
        target: String,
        /// The type found.
        found: &'static str,
    },
    /// References nest deeper than [`MAX_REFERENCE_DEPTH`](super::MAX_REFERENCE_DEPTH).
    #[error("{source_of}: `{key}`: references nest more than {max} deep ({}, ...)", chain.join(" -> "))]
    ReferencesTooDeep {
        /// Where the first referring value came from.
        source_of: Source,
        /// The first referring key.
        key: KeyPath,
        /// The first keys of the chain.
        chain: Vec<String>,
        /// The limit.
        max: usize,
    },
    /// Resolving references would build more than
    /// [`MAX_RESOLVED_SIZE`](super::MAX_RESOLVED_SIZE) values and characters (references
    /// that fan out, each level doubling the text).
    #[error("{source_of}: `{key}`: resolving its references builds more than {max} values and characters; references that repeat other references multiply")]
    ReferencesTooLarge {
        /// Where the referring value came from.
        source_of: Source,
        /// The referring key being resolved when the limit was reached.
        key: KeyPath,
        /// The limit.
        max: usize,
    },
    /// A value cannot be written as TOML.
    #[error("cannot render the config as TOML: {0}")]
    Render(String),
}

/// Names a JSON value's type the way a config author thinks of it.
pub fn type_name(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "None",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}
