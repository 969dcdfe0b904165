//! One download into the cache: resumed from a partial file when the server allows
//! (`Range`), checked against the publisher's sha256, moved into place only when whole, one
//! process at a time per file (ranks of a launch share the cache).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::HubError;

/// Bytes read per step (the progress bar moves by this much).
const CHUNK: usize = 1 << 20;

fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    target.with_file_name(name)
}

fn lock_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    target.with_file_name(name)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("kinema/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Downloads `url` to `target` unless it is there already. A partial file left by an
/// interrupted run (`target.part`) is resumed with an HTTP `Range` request (started over
/// when the server sends the whole file instead). When `sha256` is given (whole hash or
/// its first hex digits), the bytes must match it, else the partial file is deleted and
/// nothing is cached. Progress: a bar with rate and ETA on a terminal, log lines otherwise.
pub fn download(url: &str, target: &Path, sha256: Option<&str>) -> Result<(), HubError> {
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, "creating the cache folder", e))?;
    let lock_file = lock_path(target);
    let lock = File::create(&lock_file).map_err(|e| HubError::io(&lock_file, "creating the lock file", e))?;
    lock.lock().map_err(|e| HubError::io(&lock_file, "locking", e))?;
    if target.is_file() {
        log::info!("{url}: {} was downloaded by another process meanwhile", target.display());
        return Ok(());
    }
    let part = part_path(target);
    transfer(url, target, &part)?;
    if let Some(expected) = sha256 {
        let actual = file_sha256(&part)?;
        if !actual.starts_with(&expected.to_ascii_lowercase()) {
            let _ = std::fs::remove_file(&part);
            let prefix = if expected.len() < 64 { " (first digits)".to_string() } else { String::new() };
            return Err(HubError::Checksum { url: url.to_string(), expected: expected.to_string(), prefix, actual });
        }
        log::info!("{url}: sha256 {actual} as published");
    }
    std::fs::rename(&part, target).map_err(|e| HubError::io(target, "moving the download into place", e))?;
    log::info!("{url}: saved as {}", target.display());
    Ok(())
}

/// Fetches `url` into `part`, appending to what an earlier attempt left there when the
/// server answers a `Range` request with 206.
fn transfer(url: &str, target: &Path, part: &Path) -> Result<(), HubError> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let network = |message: String| HubError::Network { url: url.to_string(), message, target: target.to_path_buf() };
    let mut request = agent().get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request.call().map_err(|e| network(e.to_string()))?;
    let status = response.status().as_u16();
    let length = response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let resumed_at = match status {
        200 => 0,
        206 if content_range_start(response.headers()) == Some(have) => have,
        206 => return Err(network("the server resumed at another offset than asked".to_string())),
        416 if have > 0 => {
            log::info!("{url}: {} is already whole ({have} bytes)", part.display());
            return Ok(());
        }
        _ => {
            let reason = response.status().canonical_reason().map(|r| format!(": {r}")).unwrap_or_default();
            let hint = format!("a file fetched by other means is used from {}", target.display());
            return Err(HubError::Status { url: url.to_string(), status, reason, hint });
        }
    };
    if resumed_at > 0 {
        log::info!("{url}: resuming at byte {resumed_at} of {}", part.display());
    }
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(part)
        .map_err(|e| HubError::io(part, "opening the partial download", e))?;
    file.set_len(resumed_at).map_err(|e| HubError::io(part, "truncating the partial download", e))?;
    file.seek(SeekFrom::Start(resumed_at)).map_err(|e| HubError::io(part, "seeking the partial download", e))?;
    let total = length.map(|n| n + resumed_at);
    let mut progress = kinema_logging::progress::Progress::start_bytes(
        total.unwrap_or(0),
        &format!("downloading {}", crate::cache::file_name(url)),
    );
    progress.inc(resumed_at);
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; CHUNK];
    let mut written = resumed_at;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = file.sync_all();
                return Err(network(format!(
                    "the transfer stopped after {written}{} bytes: {e}; {} keeps them and the next run resumes there",
                    total.map(|t| format!(" of {t}")).unwrap_or_default(),
                    part.display()
                )));
            }
        };
        file.write_all(&buf[..n]).map_err(|e| HubError::io(part, "writing the download", e))?;
        written += n as u64;
        progress.inc(n as u64);
    }
    file.sync_all().map_err(|e| HubError::io(part, "writing the download", e))?;
    progress.finish();
    if let Some(t) = total.filter(|t| *t != written) {
        return Err(network(format!("the server promised {t} bytes and sent {written}; run again to resume")));
    }
    Ok(())
}

fn content_range_start(headers: &ureq::http::HeaderMap) -> Option<u64> {
    let value = headers.get("content-range")?.to_str().ok()?;
    value.strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// The sha256 of a file, as lower-case hex.
pub fn file_sha256(path: &Path) -> Result<String, HubError> {
    let mut file = File::open(path).map_err(|e| HubError::io(path, "reading for the checksum", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| HubError::io(path, "reading for the checksum", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
