//! Where weights named in a config or on a command line come from (`pretrained`,
//! `load_from`, `--checkpoint`): a local file, or a model-zoo name / URL / `torchvision://`
//! name fetched once into the cache by `kinema-hub` (files PyTorch's or OpenAI CLIP's
//! caches already hold are used as they are).

use std::path::PathBuf;

use crate::recognizer::ModelError;

/// The local file for a weights value (`key` is its config key or option, for errors): a
/// local path as it is; a zoo name or URL as its cached file, downloaded first if needed.
pub fn resolve_weights(spec: &str, key: &str) -> Result<PathBuf, ModelError> {
    kinema_hub::resolve(spec).map_err(|e| ModelError::part(key, e))
}
