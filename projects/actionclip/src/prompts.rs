//! Text prompts: class labels x templates, tokenised template-major (row = k * C + c),
//! as MMAction2's `text_prompt` and the original's `text_prompt`.

use std::path::{Path, PathBuf};

use kinema_models::ModelError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// A list given inline, or a file with one entry per line (MMAction2's
/// `labels_or_label_file` / `templates_or_template_file`: a string is a path).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ListOrFile {
    /// The entries themselves.
    List(Vec<String>),
    /// A text file, one entry per line.
    File(PathBuf),
}

impl ListOrFile {
    /// The entries; a relative file is looked up in the working directory first, then
    /// beside `base` (the config file's folder) when given. `what` is "label" or
    /// "template" (files are read by kinema-text's label / template readers).
    pub fn resolve(&self, what: &str, base: Option<&Path>) -> Result<Vec<String>, ModelError> {
        match self {
            ListOrFile::List(items) => Ok(items.clone()),
            ListOrFile::File(path) => {
                let candidates: Vec<PathBuf> = match base {
                    Some(b) if path.is_relative() && !path.exists() => vec![path.clone(), b.join(path)],
                    _ => vec![path.clone()],
                };
                let found = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
                    ModelError::Other(format!(
                        "{what} file {} does not exist (looked at {})",
                        path.display(),
                        candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                    ))
                })?;
                read_lines(found, what)
            }
        }
    }
}

/// Reads a label file (`what = "label"`) or a template file (anything else), one entry
/// per line.
pub fn read_lines(path: &Path, what: &str) -> Result<Vec<String>, ModelError> {
    let read = if what == "label" {
        crate::text_bridge::labels_from_file(path)
    } else {
        crate::text_bridge::templates_from_file(path)
    };
    read.map_err(ModelError::Other)
}

/// The 16 ActionCLIP templates (identical in MMAction2 and the original).
pub fn default_templates() -> Vec<String> {
    crate::text_bridge::DEFAULT_TEMPLATES.iter().map(|s| s.to_string()).collect()
}

/// Tokenised prompts for a label set.
#[derive(Debug)]
pub struct PromptSet {
    labels: Vec<String>,
    templates: Vec<String>,
    /// `[K * C, 77]` int64, template-major.
    tokens: Tensor,
}

impl PromptSet {
    /// Tokenises every `template.format(label)`, template-major, with CLIP's tokenizer.
    /// Fails (naming the prompt) when a prompt is longer than the context.
    pub fn new(labels: Vec<String>, templates: Vec<String>) -> Result<Self, ModelError> {
        if labels.is_empty() {
            return Err(ModelError::Other("no class labels given".into()));
        }
        if templates.is_empty() {
            return Err(ModelError::Other("no templates given".into()));
        }
        if let Some(t) = templates.iter().find(|t| !t.contains("{}")) {
            log::warn!("template {t:?} has no `{{}}` placeholder: every class gets the same prompt");
        }
        let ids = crate::text_bridge::prompt_tokens(&labels, &templates).map_err(ModelError::Other)?;
        let rows = (labels.len() * templates.len()) as i64;
        let tokens = Tensor::f_from_slice(&ids)
            .and_then(|t| t.f_view([rows, -1]))
            .and_then(|t| t.f_to_kind(Kind::Int64))
            .map_err(|source| ModelError::Torch { module: "prompts".into(), source })?;
        Ok(PromptSet { labels, templates, tokens })
    }

    /// Uses already tokenised prompts `[K * C, L]` (template-major).
    pub fn from_tokens(labels: Vec<String>, templates: Vec<String>, tokens: Tensor) -> Result<Self, ModelError> {
        let rows = (labels.len() * templates.len()) as i64;
        if tokens.dim() != 2 || tokens.size()[0] != rows || rows == 0 {
            return Err(ModelError::Input {
                module: "prompts".into(),
                message: format!(
                    "expected tokens [{} templates x {} labels = {rows}, L], got {:?}",
                    templates.len(),
                    labels.len(),
                    tokens.size()
                ),
            });
        }
        let tokens =
            tokens.f_to_kind(Kind::Int64).map_err(|source| ModelError::Torch { module: "prompts".into(), source })?;
        Ok(PromptSet { labels, templates, tokens })
    }

    /// The class names, in score order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The templates.
    pub fn templates(&self) -> &[String] {
        &self.templates
    }

    /// `[K * C, 77]` int64 token ids, template-major.
    pub fn tokens(&self) -> &Tensor {
        &self.tokens
    }

    /// The number of classes C.
    pub fn num_classes(&self) -> usize {
        self.labels.len()
    }

    /// The number of templates K.
    pub fn num_templates(&self) -> usize {
        self.templates.len()
    }
}
