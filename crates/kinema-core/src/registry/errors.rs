//! Build errors: every message names the file, the dotted key, the component and what
//! was expected.

use crate::config::{KeyPath, Source};

/// Why a component could not be built from its config table.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The config has no value where a component was expected.
    #[error("{source_of}: `{path}`: missing; expected a table with a `type` key naming a {kind}")]
    Missing {
        /// Where the enclosing value came from.
        source_of: Source,
        /// The path.
        path: KeyPath,
        /// The kind expected.
        kind: &'static str,
    },
    /// The value is not a table.
    #[error("{source_of}: `{path}`: expected a table with a `type` key naming a {kind}, found {found}")]
    NotATable {
        /// Where the value came from.
        source_of: Source,
        /// The path.
        path: KeyPath,
        /// The kind expected.
        kind: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// The table has no `type`, or it is not a string.
    #[error("{source_of}: `{path}.type`: missing or not a string; expected the name of a {kind} (known: {})", known.join(", "))]
    MissingType {
        /// Where the table came from.
        source_of: Source,
        /// The table's path.
        path: KeyPath,
        /// The kind expected.
        kind: &'static str,
        /// Every registered name of this kind.
        known: Vec<&'static str>,
    },
    /// No component of that kind has that name.
    #[error("{source_of}: `{path}.type`: unknown {kind} \"{name}\"{}; known {kind}s: {}",
        suggestion.map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default(), known.join(", "))]
    UnknownType {
        /// Where the name came from.
        source_of: Source,
        /// The table's path.
        path: KeyPath,
        /// The kind.
        kind: &'static str,
        /// The name given.
        name: String,
        /// Every registered name of this kind.
        known: Vec<&'static str>,
        /// The closest known name, if any is close.
        suggestion: Option<&'static str>,
    },
    /// Two crates registered the same name for one kind.
    #[error("{kind} \"{name}\" is registered more than once (by {}); rename one of them", modules.join(" and "))]
    Duplicate {
        /// The kind.
        kind: &'static str,
        /// The name.
        name: String,
        /// The registering modules.
        modules: Vec<&'static str>,
    },
    /// A field is unknown, missing or of the wrong type.
    #[error("{source_of}: `{path}`: {problem} (in {kind} {type_name})")]
    Field {
        /// Where the value came from.
        source_of: Source,
        /// The full path of the field.
        path: KeyPath,
        /// The component's kind.
        kind: &'static str,
        /// The component's name.
        type_name: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// A component inside this one (a transform of a dataset's pipeline, a backbone of a
    /// model) failed to build: its own error names its file and full key, so it is shown
    /// as it is, not behind the outer table's key.
    #[error("{}", chain_text(.0.as_ref()))]
    Inner(super::BoxError),
    /// The config was valid but building failed (a missing file, an impossible value).
    #[error("{source_of}: `{path}`: cannot build {kind} {type_name}: {}", chain_text(source.as_ref()))]
    Component {
        /// Where the table came from.
        source_of: Source,
        /// The table's path.
        path: KeyPath,
        /// The kind.
        kind: &'static str,
        /// The component's name.
        type_name: String,
        /// The component's own error (its causes follow through `source()`).
        source: super::BoxError,
    },
}

/// An error and its causes as one line, `a: b: c`, leaving out a cause whose text the
/// line already ends with (errors that print their cause themselves).
pub fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

/// Serde's names for what was expected, in a config author's words (`struct DistCfg` is a
/// table to them).
fn author_words(expected: &str) -> String {
    if expected.starts_with("struct ") || expected == "a map" {
        return "a table".into();
    }
    match expected {
        "a sequence" => "a list".into(),
        other => other.to_string(),
    }
}

/// Rewrites serde's messages ("missing field `x`", "invalid type: string \"a\", expected
/// u32") into what a config author needs, and finds the key they concern.
pub fn describe_serde_problem(message: &str, at: &KeyPath) -> (KeyPath, String) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            let names: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let expected = if names.is_empty() { "no fields".to_string() } else { names.join(", ") };
            let path = if at.last().as_deref() == Some(field) { at.clone() } else { at.key(field) };
            let mut problem = format!("unknown field `{field}`; expected one of: {expected}");
            if let Some(best) = closest(field, &names) {
                problem.push_str(&format!(" (did you mean `{best}`?)"));
            }
            return (path, problem);
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((field, _)) = rest.split_once('`') {
            return (at.key(field), format!("missing required field `{field}`"));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return (at.clone(), format!("wrong type: expected {}, found {found}", author_words(expected)));
        }
    }
    if message.starts_with("data did not match any variant of untagged enum OneOrMany") {
        return (at.clone(), "wrong type: expected a table or a list of tables".into());
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return (at.clone(), format!("invalid value: expected {expected}, found {found}"));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some((variant, tail)) = rest.split_once('`') {
            let expected = tail.trim_start_matches(", ").replace('`', "");
            return (at.clone(), format!("unknown value \"{variant}\"; {expected}"));
        }
    }
    (at.clone(), message.to_string())
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(c);
    }
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| {
            let lc = c.to_lowercase();
            (strsim::levenshtein(&lower, &lc), strsim::jaro_winkler(&lower, &lc), *c)
        })
        .filter(|(d, jw, _)| *d <= limit || *jw >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(_, _, c)| c)
}
