//! What can go wrong getting weights: each error names the URL, the cache file and what to do.

use std::path::PathBuf;

/// An error of [`crate::resolve`] or [`crate::download`].
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The server answered with an error status (404, 403, 500...).
    #[error("{url}: the server answered HTTP {status}{reason} (is the URL right? {hint})")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// `: <reason phrase>` when known.
        reason: String,
        /// Where a file fetched by other means would be used from.
        hint: String,
    },
    /// No connection (no network, refused, DNS, TLS, a transfer cut and not resumable now).
    #[error("{url}: cannot download ({message}); without network, fetch the file elsewhere and put it at {}", .target.display())]
    Network {
        /// The URL asked for.
        url: String,
        /// The transport's reason.
        message: String,
        /// The cache file the download was for.
        target: PathBuf,
    },
    /// Downloads are switched off (`KINEMA_OFFLINE=1`) and the file is not cached.
    #[error("{spec}: not in the checkpoint cache and KINEMA_OFFLINE is set; fetch {url} and put it at {}", .target.display())]
    Offline {
        /// The name or URL given.
        spec: String,
        /// Where it would be downloaded from.
        url: String,
        /// The cache file it would be saved as.
        target: PathBuf,
    },
    /// The downloaded bytes do not have the checksum the publisher gives.
    #[error(
        "{url}: the downloaded file's sha256 is {actual}, but the publisher's is {expected}{prefix} \
         (a corrupt or replaced file; it was deleted, nothing was cached)"
    )]
    Checksum {
        /// The URL downloaded.
        url: String,
        /// The expected sha256 (or its first hex digits).
        expected: String,
        /// `" (first digits)"` when only a prefix is published.
        prefix: String,
        /// The sha256 of what arrived.
        actual: String,
    },
    /// A `scheme://name` no linked crate registered.
    #[error("unknown {scheme} model `{name}`; known: {known}")]
    UnknownName {
        /// The scheme (`torchvision`).
        scheme: String,
        /// The name after it.
        name: String,
        /// The names registered under that scheme.
        known: String,
    },
    /// A cache file or folder cannot be read or written.
    #[error("{}: {action}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done (`writing the download`).
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl HubError {
    /// An [`HubError::Io`] at `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), action, source }
    }
}
