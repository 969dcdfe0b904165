//! Where labels and templates come from: inline lists or text files, as MMAction2 reads them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Result, TextError};

/// Class names: a list, or a label-map file (`labels_or_label_file` in MMAction2).
///
/// In a config, a string is a file path and an array is the list itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSource {
    /// The class names, class index = position.
    List(Vec<String>),
    /// A label map: one name per line (MMAction2's `label_map_k400.txt`), or a CSV with an
    /// `id,name` header and ids 0, 1, … in order.
    File(PathBuf),
}

/// Prompt templates: a list, or a file with one per line (`templates_or_template_file`
/// in MMAction2).
///
/// In a config, a string is a file path and an array is the list itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// These templates, in order.
    List(Vec<String>),
    /// A text file, one template per line.
    File(PathBuf),
}

impl LabelSource {
    /// Where the labels come from, for messages.
    pub fn origin(&self) -> String {
        match self {
            Self::List(_) => "the label list".to_owned(),
            Self::File(path) => path.display().to_string(),
        }
    }
}

impl TemplateSource {
    /// Where the templates come from, for messages.
    pub fn origin(&self) -> String {
        match self {
            Self::List(_) => "the template list".to_owned(),
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// Reads a text file as MMEngine's `list_from_file` does: UTF-8, one item per line, `\n`,
/// `\r\n` and `\r` all end a line, line ends removed, nothing else stripped. A leading BOM and
/// blank lines at the end of the file are dropped. Returns (1-based line number, text) pairs.
pub fn read_lines(path: &Path, what: &'static str) -> Result<Vec<(usize, String)>> {
    kinema_core::fs::check_regular_file(path, &format!("{what} file"))?;
    let text = std::fs::read_to_string(path).map_err(|source| TextError::Io { what, path: path.to_owned(), source })?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<(usize, String)> =
        normalised.split('\n').enumerate().map(|(i, line)| (i + 1, line.to_owned())).collect();
    let before = lines.len();
    while lines.last().is_some_and(|(_, l)| l.trim().is_empty()) {
        lines.pop();
    }
    // A final newline is normal; more than one blank line at the end deserves a note.
    if before - lines.len() > 1 {
        log::warn!("{}: ignoring {} blank line(s) at the end", path.display(), before - lines.len() - 1);
    }
    Ok(lines)
}

/// Reads a label-map file (see [`LabelSource::File`]); blank names are rejected.
pub fn read_label_file(path: &Path) -> Result<Vec<String>> {
    let lines = read_lines(path, "label map")?;
    let is_csv = lines.first().is_some_and(|(_, header)| header.trim().eq_ignore_ascii_case("id,name"));
    let rows = if is_csv { &lines[1..] } else { &lines[..] };
    let labels = if is_csv {
        parse_csv(path, rows)?
    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return Err(TextError::LabelCsv {
            path: path.to_owned(),
            line: 1,
            reason: "a .csv label map must start with the header 'id,name'".to_owned(),
        });
    } else {
        rows.iter().map(|(_, l)| l.clone()).collect()
    };
    let line_of = |index: usize| rows.get(index).map_or(index + 1, |(line, _)| *line);
    check_labels(&labels, &path.display().to_string(), line_of)?;
    Ok(labels)
}

/// Parses the rows after an `id,name` header: `id,name` with ids 0, 1, … in order; a name in
/// double quotes may contain commas (`""` is a quote).
fn parse_csv(path: &Path, rows: &[(usize, String)]) -> Result<Vec<String>> {
    let fail = |line: usize, reason: String| TextError::LabelCsv { path: path.to_owned(), line, reason };
    let mut labels = Vec::with_capacity(rows.len());
    for (expected_id, (line, row)) in rows.iter().enumerate() {
        let Some((id, name)) = row.split_once(',') else {
            return Err(fail(*line, format!("expected 'id,name', got {row:?}")));
        };
        match id.trim().parse::<usize>() {
            Ok(id) if id == expected_id => {}
            _ => {
                return Err(fail(
                    *line,
                    format!("expected id {expected_id} (ids must be 0, 1, 2, … in order), got {id:?}"),
                ))
            }
        }
        labels.push(unquote(name).ok_or_else(|| {
            fail(*line, format!("badly quoted name {name:?} (expected \"…\" with \"\" for a quote)"))
        })?);
    }
    Ok(labels)
}

fn unquote(name: &str) -> Option<String> {
    let Some(inner) = name.strip_prefix('"') else {
        return Some(name.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    // Inside the quotes every quote must be doubled.
    (!inner.replace("\"\"", "").contains('"')).then(|| inner.replace("\"\"", "\""))
}

/// Rejects an empty list and blank names; warns about repeated names.
/// `line_of` maps a label index to its 1-based line (or list position + 1).
pub(crate) fn check_labels(labels: &[String], origin: &str, line_of: impl Fn(usize) -> usize) -> Result<()> {
    if labels.is_empty() {
        return Err(TextError::Empty { what: "label list", origin: origin.to_owned() });
    }
    let mut seen = std::collections::HashSet::new();
    for (index, label) in labels.iter().enumerate() {
        if label.trim().is_empty() {
            return Err(TextError::EmptyLabel { index, line: line_of(index), origin: origin.to_owned() });
        }
        if !seen.insert(label.as_str()) {
            log::warn!("{origin}: class name {label:?} appears more than once");
        }
    }
    Ok(())
}

struct SourceVisitor {
    expecting: &'static str,
}

enum RawSource {
    Path(PathBuf),
    List(Vec<String>),
}

impl<'de> Visitor<'de> for SourceVisitor {
    type Value = RawSource;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSource, E> {
        Ok(RawSource::Path(PathBuf::from(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSource, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(RawSource::List(items))
    }
}

/// `path` as written when it exists or is absolute, else the same name beside `base`
/// (the config file's folder) when that exists: relative paths in configs work from the
/// working directory and from the config's folder.
pub fn relative_to(path: &Path, base: Option<&Path>) -> PathBuf {
    match base {
        Some(b) if path.is_relative() && !path.exists() && b.join(path).exists() => b.join(path),
        _ => path.to_path_buf(),
    }
}

impl LabelSource {
    /// The same source with a relative file looked up beside `base` too (see [`relative_to`]).
    pub fn relative_to(&self, base: Option<&Path>) -> Self {
        match self {
            Self::File(p) => Self::File(relative_to(p, base)),
            other => other.clone(),
        }
    }
}

impl TemplateSource {
    /// The same source with a relative file looked up beside `base` too (see [`relative_to`]).
    pub fn relative_to(&self, base: Option<&Path>) -> Self {
        match self {
            Self::File(p) => Self::File(relative_to(p, base)),
            other => other.clone(),
        }
    }
}

fn serialize_source<S: Serializer>(list: Option<&[String]>, path: Option<&Path>, s: S) -> Result<S::Ok, S::Error> {
    match (list, path) {
        (Some(items), _) => items.serialize(s),
        (None, Some(p)) => p.to_string_lossy().serialize(s),
        (None, None) => s.serialize_none(),
    }
}

impl Serialize for LabelSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::List(l) => serialize_source(Some(l), None, s),
            Self::File(p) => serialize_source(None, Some(p), s),
        }
    }
}

impl Serialize for TemplateSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::List(l) => serialize_source(Some(l), None, s),
            Self::File(p) => serialize_source(None, Some(p), s),
        }
    }
}

fn source_schema(what: &str) -> schemars::Schema {
    schemars::json_schema!({
        "description": format!("a list of {what}, or the path of a file with one per line"),
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
    })
}

impl schemars::JsonSchema for LabelSource {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LabelSource".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        source_schema("class names")
    }
}

impl schemars::JsonSchema for TemplateSource {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TemplateSource".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        source_schema("templates with `{}`")
    }
}

impl<'de> Deserialize<'de> for LabelSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = SourceVisitor { expecting: "a label-map file path or a list of class names" };
        Ok(match deserializer.deserialize_any(visitor)? {
            RawSource::Path(p) => Self::File(p),
            RawSource::List(l) => Self::List(l),
        })
    }
}

impl<'de> Deserialize<'de> for TemplateSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = SourceVisitor { expecting: "a template file path or a list of templates containing '{}'" };
        Ok(match deserializer.deserialize_any(visitor)? {
            RawSource::Path(p) => Self::File(p),
            RawSource::List(l) => Self::List(l),
        })
    }
}
