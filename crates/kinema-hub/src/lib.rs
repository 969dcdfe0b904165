//! Weights by name or URL. `--checkpoint`, `load_from` and `pretrained` accept a local
//! file, a URL, or a name from the model zoo ([`zoo::ZOO`]: `ViT-B/32`, `ViT-B/16-8`,
//! MMAction2 config names, `torchvision://resnet50`). A URL is downloaded once into the
//! cache ([`cache::checkpoint_dir`]), resumably and checked against the publisher's sha256
//! where one is given; files already in PyTorch's or OpenAI CLIP's caches are used as they
//! are. No libtorch here: this crate only moves files.
//!
//! * [`resolve`]: a `--checkpoint`/`pretrained` value to a local file.
//! * [`download()`]: one download (resume, checksum, progress, a lock per file).
//! * [`cache`]: the cache folders; [`zoo`]: the names.

pub mod cache;
pub mod download;
mod error;
pub mod zoo;

use std::path::{Path, PathBuf};

pub use download::download;
pub use error::HubError;

/// Whether `spec` names weights to fetch (a URL or a zoo name) rather than a local path.
pub fn is_remote(spec: &str) -> bool {
    url_of(spec).is_some() && !Path::new(spec).exists()
}

fn url_of(spec: &str) -> Option<&str> {
    if spec.starts_with("http://") || spec.starts_with("https://") {
        return Some(spec);
    }
    zoo::lookup(spec).map(|e| e.url)
}

/// The local file for a `--checkpoint`, `load_from` or `pretrained` value: an existing path
/// as it is; a zoo name or URL as its cached file, downloaded first when no cache has it
/// (unless `KINEMA_OFFLINE` is set); anything else as a path (its reader reports it missing).
pub fn resolve(spec: &str) -> Result<PathBuf, HubError> {
    let local = PathBuf::from(spec);
    let Some(url) = url_of(spec).filter(|_| !local.exists()) else {
        return Ok(local);
    };
    if let Some(path) = cache::find_cached(url) {
        log::info!("{spec}: using the cached {}", path.display());
        return Ok(path);
    }
    let target = cache::checkpoint_dir().join(cache::file_name(url));
    if cache::offline() {
        return Err(HubError::Offline { spec: spec.to_string(), url: url.to_string(), target });
    }
    let named = if spec == url { String::new() } else { format!("{spec}: ") };
    log::info!("{named}downloading {url} to {}", target.display());
    download(url, &target, zoo::expected_sha256(url).as_deref())?;
    Ok(target)
}
