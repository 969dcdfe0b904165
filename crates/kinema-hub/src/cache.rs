//! Where downloaded weights are kept, and the other caches whose files are reused as they
//! are (a Python install's downloads are not fetched twice).

use std::path::PathBuf;

fn env_dir(key: &str) -> Option<PathBuf> {
    std::env::var_os(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn user_cache() -> PathBuf {
    env_dir("XDG_CACHE_HOME").unwrap_or_else(|| env_dir("HOME").unwrap_or_else(|| PathBuf::from(".")).join(".cache"))
}

/// Kinema's checkpoint cache: `$KINEMA_CACHE/checkpoints` (the folder `make` also keeps the
/// PyTorch venv in), else `$XDG_CACHE_HOME/kinema/checkpoints`, else
/// `~/.cache/kinema/checkpoints`.
pub fn checkpoint_dir() -> PathBuf {
    env_dir("KINEMA_CACHE").unwrap_or_else(|| user_cache().join("kinema")).join("checkpoints")
}

/// PyTorch's hub checkpoint folder, where torchvision and MMEngine keep downloads:
/// `$TORCH_HOME/hub/checkpoints`, else `$XDG_CACHE_HOME/torch/hub/checkpoints`, else
/// `~/.cache/torch/hub/checkpoints`.
pub fn torch_hub_dir() -> PathBuf {
    env_dir("TORCH_HOME").unwrap_or_else(|| user_cache().join("torch")).join("hub").join("checkpoints")
}

/// OpenAI CLIP's download folder (`clip.load`'s default root): `~/.cache/clip`.
pub fn openai_clip_dir() -> PathBuf {
    env_dir("HOME").unwrap_or_else(|| PathBuf::from(".")).join(".cache").join("clip")
}

/// Whether downloads are switched off (`KINEMA_OFFLINE` set to anything but `0` or empty).
pub fn offline() -> bool {
    std::env::var("KINEMA_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The file name a URL is cached under: its last path segment without query (as
/// `torch.hub` and `clip.load`), `weights.pth` when it has none.
pub fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or_default();
    let after_host = path.split_once("://").map_or(path, |(_, rest)| rest);
    if name.is_empty() || name == "." || name == ".." || !after_host.contains('/') {
        "weights.pth".to_string()
    } else {
        name.to_string()
    }
}

/// The cached copy of `url`, if any: Kinema's cache first, then PyTorch's hub cache, then
/// OpenAI CLIP's (a file of the same name, used as it is).
pub fn find_cached(url: &str) -> Option<PathBuf> {
    let name = file_name(url);
    [checkpoint_dir(), torch_hub_dir(), openai_clip_dir()].into_iter().map(|d| d.join(&name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn cache_names_are_the_last_segment() {
        assert_eq!(file_name("https://h/a/b/ViT-B-32.pt"), "ViT-B-32.pt");
        assert_eq!(file_name("https://h/a/vit.pth?download=1"), "vit.pth");
        assert_eq!(file_name("https://h/a/"), "weights.pth");
        assert_eq!(file_name("http://h/.."), "weights.pth");
        assert_eq!(file_name("http://host"), "weights.pth");
    }
}
