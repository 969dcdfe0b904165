//! Text prompts for zero-shot recognition: every template filled with every class name.
//!
//! Rows are template-major, as in MMAction2 (`[t.format(c) for t in templates for c in
//! labels]`): row `k * C + c` is template `k` with class `c`, `C` the number of classes.

mod source;
mod template;

pub use source::{read_label_file, read_lines, relative_to, LabelSource, TemplateSource};
pub use template::Template;

use std::path::Path;

use crate::batch::TokenBatch;
use crate::error::{Result, TextError};
use crate::tokenizer::ClipTokenizer;

/// Parses templates, naming `origin` in errors; an empty list is an error.
pub fn parse_templates<S: AsRef<str>>(templates: &[S], origin: &str) -> Result<Vec<Template>> {
    if templates.is_empty() {
        return Err(TextError::Empty { what: "template list", origin: origin.to_owned() });
    }
    templates.iter().enumerate().map(|(i, t)| Template::parse(t.as_ref(), i, origin)).collect()
}

/// Reads a template file, one template per line (see [`read_lines`]).
pub fn read_template_file(path: &Path) -> Result<Vec<Template>> {
    let lines: Vec<String> = read_lines(path, "template")?.into_iter().map(|(_, l)| l).collect();
    parse_templates(&lines, &path.display().to_string())
}

impl TemplateSource {
    /// Loads and parses the templates.
    pub fn load(&self) -> Result<Vec<Template>> {
        match self {
            Self::List(list) => parse_templates(list, &self.origin()),
            Self::File(path) => read_template_file(path),
        }
    }
}

impl LabelSource {
    /// Loads the class names (non-empty, no blank name).
    pub fn load(&self) -> Result<Vec<String>> {
        match self {
            Self::List(list) => {
                source::check_labels(list, &self.origin(), |i| i + 1)?;
                Ok(list.clone())
            }
            Self::File(path) => read_label_file(path),
        }
    }
}

/// All prompts for a class list, template-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSet {
    templates: Vec<Template>,
    labels: Vec<String>,
    texts: Vec<String>,
}

impl PromptSet {
    /// Fills every template with every label; both lists must be non-empty and labels
    /// non-blank.
    pub fn new(templates: Vec<Template>, labels: Vec<String>) -> Result<Self> {
        if templates.is_empty() {
            return Err(TextError::Empty { what: "template list", origin: "the prompt set".to_owned() });
        }
        source::check_labels(&labels, "the prompt set", |i| i + 1)?;
        let texts = templates.iter().flat_map(|t| labels.iter().map(move |label| t.fill(label))).collect();
        Ok(Self { templates, labels, texts })
    }

    /// Loads templates and labels from their sources and builds the prompts.
    pub fn from_sources(templates: &TemplateSource, labels: &LabelSource) -> Result<Self> {
        Self::new(templates.load()?, labels.load()?)
    }

    /// The templates, in order.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// The class names, class index = position.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of templates `K`.
    pub fn num_templates(&self) -> usize {
        self.templates.len()
    }

    /// Number of classes `C`.
    pub fn num_classes(&self) -> usize {
        self.labels.len()
    }

    /// All `K * C` prompt texts, template-major.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// Row of template `template` with class `class` (`template * C + class`).
    pub fn row(&self, template: usize, class: usize) -> Option<usize> {
        (template < self.num_templates() && class < self.num_classes()).then(|| template * self.num_classes() + class)
    }

    /// Tokenizes all prompts like `clip.tokenize` (no truncation): `[K * C, 77]`.
    /// A prompt that does not fit is an error naming its class and template.
    pub fn tokenize(&self, tokenizer: &ClipTokenizer) -> Result<TokenBatch> {
        tokenizer.tokenize(&self.texts).map_err(|err| match err {
            TextError::TooLong { index, num_tokens, context_length, .. } => {
                let (k, c) = (index / self.num_classes(), index % self.num_classes());
                TextError::PromptTooLong {
                    class_index: c,
                    label: self.labels[c].clone(),
                    template: self.templates[k].as_str().to_owned(),
                    num_tokens,
                    context_length,
                }
            }
            other => other,
        })
    }
}
