//! Weights by name or URL. `--checkpoint`, `load_from` and `pretrained` accept a local
//! file, a URL, or a model-zoo name that a linked crate registered ([`zoo`],
//! [`register_weights!`]: `ViT-B/32`, MMAction2 config names, `torchvision://resnet50`). A URL is downloaded once into the
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

use std::path::PathBuf;

pub use download::download;
pub use error::HubError;
#[doc(hidden)]
pub use inventory as __inventory;

/// The URL `spec` stands for: itself for http(s), a zoo name's URL; an unregistered
/// `scheme://name` (`torchvision://resnet51`) is an error listing that scheme's names.
fn url_of(spec: &str) -> Result<Option<&str>, HubError> {
    if spec.starts_with("http://") || spec.starts_with("https://") {
        return Ok(Some(spec));
    }
    if let Some(entry) = zoo::lookup(spec) {
        return Ok(Some(entry.url));
    }
    match spec.split_once("://") {
        Some((scheme, name)) => {
            let prefix = format!("{scheme}://");
            let known: Vec<&str> = zoo::entries().iter().filter_map(|e| e.name.strip_prefix(prefix.as_str())).collect();
            Err(HubError::UnknownName { scheme: scheme.to_string(), name: name.to_string(), known: known.join(", ") })
        }
        None => Ok(None),
    }
}

/// The local file for a `--checkpoint`, `load_from` or `pretrained` value: an existing path
/// as it is; a zoo name or URL as its cached file, downloaded first when no cache has it
/// (unless `KINEMA_OFFLINE` is set); anything else as a path (its reader reports it missing).
pub fn resolve(spec: &str) -> Result<PathBuf, HubError> {
    let local = PathBuf::from(spec);
    if local.exists() {
        return Ok(local);
    }
    let Some(url) = url_of(spec)? else {
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
