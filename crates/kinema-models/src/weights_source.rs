//! Where `pretrained = "..."` weights come from: a local file, or a URL / `torchvision://`
//! name resolved in PyTorch's hub cache (`$TORCH_HOME/hub/checkpoints`, default
//! `~/.cache/torch/hub/checkpoints`), where MMAction2 and torchvision keep the same files,
//! so weights a Python install already fetched are reused as they are.

use std::path::PathBuf;

use crate::recognizer::ModelError;

/// torchvision's ImageNet ResNets as MMEngine names them (`torchvision://resnet50`, from
/// `mmengine/hub/torchvision_0.12.json`).
const TORCHVISION_URLS: &[(&str, &str)] = &[
    ("resnet18", "https://download.pytorch.org/models/resnet18-f37072fd.pth"),
    ("resnet34", "https://download.pytorch.org/models/resnet34-b627a593.pth"),
    ("resnet50", "https://download.pytorch.org/models/resnet50-0676ba61.pth"),
    ("resnet101", "https://download.pytorch.org/models/resnet101-63fe2227.pth"),
    ("resnet152", "https://download.pytorch.org/models/resnet152-394f9c45.pth"),
];

/// PyTorch's hub checkpoint folder: `$TORCH_HOME/hub/checkpoints`, else
/// `$XDG_CACHE_HOME/torch/hub/checkpoints`, else `~/.cache/torch/hub/checkpoints`.
pub fn torch_hub_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let torch_home = env("TORCH_HOME").unwrap_or_else(|| {
        env("XDG_CACHE_HOME")
            .unwrap_or_else(|| env("HOME").unwrap_or_else(|| PathBuf::from(".")).join(".cache"))
            .join("torch")
    });
    torch_home.join("hub").join("checkpoints")
}

/// The file for a `pretrained` value (`key` is its config key, for errors): a local path
/// as it is; a URL or `torchvision://<name>` as the file of that name in the hub cache.
pub fn resolve_pretrained(spec: &str, key: &str) -> Result<PathBuf, ModelError> {
    let url = if let Some(name) = spec.strip_prefix("torchvision://") {
        let known = TORCHVISION_URLS.iter().find(|(n, _)| *n == name).map(|(_, u)| *u);
        known.ok_or_else(|| {
            let names: Vec<&str> = TORCHVISION_URLS.iter().map(|(n, _)| *n).collect();
            ModelError::config(key, format!("unknown torchvision model `{name}`; known: {}", names.join(", ")))
        })?
    } else if spec.starts_with("http://") || spec.starts_with("https://") {
        spec
    } else {
        return Ok(PathBuf::from(spec));
    };
    let file = url.rsplit('/').next().filter(|f| !f.is_empty()).unwrap_or("weights.pth");
    let path = torch_hub_dir().join(file);
    if path.is_file() {
        log::info!("{key}: {spec} found in the PyTorch hub cache at {}", path.display());
        return Ok(path);
    }
    Err(ModelError::config(
        key,
        format!(
            "{spec} is not in the PyTorch hub cache ({}); Kinema does not download weights: fetch it with \
             `curl -L --create-dirs -o {} {url}`, or give a local file",
            path.display(),
            path.display()
        ),
    ))
}
