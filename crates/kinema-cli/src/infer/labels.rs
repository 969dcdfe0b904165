//! The class names scores are printed with, and the top-k ranking.

use std::path::Path;

use anyhow::{bail, Context};
use kinema_core::{Config, KeyPath};
use kinema_models::resolve::checkpoint_classes;
use kinema_models::Recognizer;
use kinema_torch::checkpoint::Checkpoint;
use serde_json::Value;

/// The config keys a label map (a file, one class name per line) is looked up under.
pub const LABEL_MAP_KEYS: [&str; 3] =
    ["test_dataloader.dataset.label_map", "val_dataloader.dataset.label_map", "train_dataloader.dataset.label_map"];

/// The names of the model's classes: the model's own (a zero-shot label set), else the
/// config's label map, else the names the checkpoint records (`dataset_meta.classes`).
pub fn class_names(model: &dyn Recognizer, config: Option<&Config>, ck: &Checkpoint) -> anyhow::Result<Vec<String>> {
    if let Some(names) = model.class_names() {
        return Ok(names);
    }
    if let Some(config) = config {
        for key in LABEL_MAP_KEYS {
            if let Some(Value::String(file)) = config.get_path(&KeyPath::parse(key)) {
                let source = config.source_of(&KeyPath::parse(key));
                let base = source.file().and_then(Path::parent).map(Path::to_path_buf);
                let path = kinema_text::prompts::relative_to(Path::new(file), base.as_deref());
                return kinema_text::prompts::read_label_file(&path)
                    .with_context(|| format!("`{key}` in {}", config.source_of(&KeyPath::parse(key))));
            }
        }
    }
    if let Some(names) = checkpoint_classes(ck) {
        return Ok(names);
    }
    bail!(
        "no class names: the model has none, the config gives no label map ({}) and the checkpoint records none",
        LABEL_MAP_KEYS.join(", ")
    )
}

/// The `k` best `(class index, score)` of a score row, best first; equal scores keep
/// class order (a stable sort, as NumPy's `argsort(kind="stable")` on negated scores).
/// A NaN score is an error: it cannot be ranked.
pub fn top_k(scores: &[f32], k: usize) -> anyhow::Result<Vec<(usize, f32)>> {
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        bail!("the score of class {i} is NaN: the model's output is not a number (check the weights and input)");
    }
    let mut order: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(k);
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_keep_class_order_and_nan_is_refused() {
        assert_eq!(top_k(&[0.1, 0.5, 0.5, 0.2], 3).unwrap(), vec![(1, 0.5), (2, 0.5), (3, 0.2)]);
        let err = top_k(&[0.1, f32::NAN], 1).unwrap_err().to_string();
        assert!(err.contains("class 1 is NaN"), "{err}");
    }
}
