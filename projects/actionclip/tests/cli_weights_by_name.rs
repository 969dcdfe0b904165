//! `--checkpoint` by model-zoo name or URL, end to end through `tools/infer`: a URL on a
//! local server (127.0.0.1 only) is downloaded into the cache and gives the upstream
//! scores, a second run reads the cache without a request, a zoo name is read from the
//! cache, and offline runs say what to fetch and where to put it.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::cli::{repo, tiny_checkpoint, tool};

/// `tools/infer` on the upstream tiny input, with `cache` as Kinema's and the user's cache.
fn infer(checkpoint: &str, cache: &Path, offline: bool) -> Output {
    let fixtures = repo().join("tests/fixtures/tiny");
    let mut cmd = Command::new(tool("infer"));
    cmd.args(["--checkpoint", checkpoint, "--input-npy"])
        .arg(fixtures.join("input.npy"))
        .args(["--labels", "singing,dancing,performing", "--template-file"])
        .arg(fixtures.join("template_the_woman_is.txt"))
        .arg("--json")
        .env("KINEMA_CACHE", cache)
        .env("HOME", cache)
        .env("XDG_CACHE_HOME", cache.join("xdg"))
        .env("TORCH_HOME", cache.join("torch"))
        .env_remove("KINEMA_OFFLINE");
    if offline {
        cmd.env("KINEMA_OFFLINE", "1");
    }
    cmd.output().unwrap()
}

/// The first probability, after checking the run worked.
fn first_score(out: &Output) -> f64 {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["scores"][0].as_f64().unwrap()
}

/// Upstream's probability of "singing" on this input (expected.json, case 1).
const UPSTREAM: f64 = 0.999_997_258;

#[test]
fn a_url_is_downloaded_once_into_the_cache() {
    let bytes = Arc::new(std::fs::read(tiny_checkpoint()).unwrap());
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/weights/mmaction_clip_tiny.pth", server.server_addr().to_ip().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let served = Arc::clone(&bytes);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = request.respond(tiny_http::Response::from_data(served.to_vec()));
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let out = infer(&url, cache.path(), false);
    assert!((first_score(&out) - UPSTREAM).abs() < 1e-6);
    let cached = cache.path().join("checkpoints/mmaction_clip_tiny.pth");
    assert_eq!(std::fs::read(&cached).unwrap(), *bytes);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    // Cached: no request, same answer, even offline.
    let again = infer(&url, cache.path(), true);
    assert!((first_score(&again) - UPSTREAM).abs() < 1e-6);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_zoo_name_reads_its_cached_file_and_offline_says_what_to_fetch() {
    let cache = tempfile::tempdir().unwrap();
    // MMAction2's `init_actionclip` name: the file its URL names, in the cache.
    std::fs::create_dir_all(cache.path().join("checkpoints")).unwrap();
    std::fs::copy(tiny_checkpoint(), cache.path().join("checkpoints/vit-b-32-8f.pth")).unwrap();
    let out = infer("ViT-B/32-8", cache.path(), true);
    assert!((first_score(&out) - UPSTREAM).abs() < 1e-6);
    let err = infer("ViT-B/16", cache.path(), true);
    assert!(!err.status.success());
    let text = String::from_utf8_lossy(&err.stderr);
    let expected = format!(
        "ViT-B/16: not in the checkpoint cache and KINEMA_OFFLINE is set; fetch \
         https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt \
         and put it at {}",
        cache.path().join("checkpoints/ViT-B-16.pt").display()
    );
    assert!(text.contains(&expected), "{text}");
    // A name that is neither a file nor in the zoo stays a path, reported missing.
    let err = infer("ViT-B/99", cache.path(), true);
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("ViT-B/99"));
}
