//! The bridge to `kinema-text`: CLIP's tokenizer, the ActionCLIP templates, label and
//! template files.

use kinema_text::prompts::{parse_templates, read_label_file, read_template_file};
use kinema_text::{ClipTokenizer, PromptSet};

pub use kinema_text::DEFAULT_TEMPLATES;

/// Tokenises every template x label, template-major, 77 ids each. Errors name the
/// prompt that does not fit.
pub fn prompt_tokens(labels: &[String], templates: &[String]) -> Result<Vec<i64>, String> {
    let templates = parse_templates(templates, "the templates").map_err(|e| e.to_string())?;
    let set = PromptSet::new(templates, labels.to_vec()).map_err(|e| e.to_string())?;
    let tokenizer = ClipTokenizer::shared().map_err(|e| e.to_string())?;
    Ok(set.tokenize(&tokenizer).map_err(|e| e.to_string())?.into_ids())
}

/// Class names from a label-map file (one per line).
pub fn labels_from_file(path: &std::path::Path) -> Result<Vec<String>, String> {
    read_label_file(path).map_err(|e| e.to_string())
}

/// Templates from a file (one per line).
pub fn templates_from_file(path: &std::path::Path) -> Result<Vec<String>, String> {
    Ok(read_template_file(path).map_err(|e| e.to_string())?.iter().map(|t| t.as_str().to_string()).collect())
}
