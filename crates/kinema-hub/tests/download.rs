//! Downloads against a local HTTP server on 127.0.0.1 (no other network): a whole file, a
//! transfer cut halfway then resumed with `Range`, a bad checksum, a 404, no server.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};

use kinema_hub::{download, download::file_sha256, HubError};

/// 3 MiB and a bit of deterministic bytes (several read chunks).
fn payload() -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..(3 << 20) + 777)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

/// A server that cuts its first transfer: half the bytes with the whole length announced,
/// then the connection is closed (tiny_http keeps connections open, so this one is raw
/// TCP); later requests get the rest as `206` from their `Range: bytes=N-`.
fn serve_cut(data: Arc<Vec<u8>>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            while reader.read_line(&mut head).unwrap() > 2 && !head.ends_with("\r\n\r\n") {}
            let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
            let range = head
                .lines()
                .find_map(|l| l.strip_prefix("range: ").or_else(|| l.strip_prefix("Range: ")))
                .map(str::to_string);
            log.lock().unwrap().push((path, range.clone()));
            let len = data.len();
            if n == 0 {
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                let _ = stream.write_all(&data[..len / 2]);
            } else {
                let start: usize = range.unwrap().trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap();
                let _ = write!(
                    stream,
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{len}\r\nConnection: close\r\n\r\n",
                    len - start,
                    len - 1
                );
                let _ = stream.write_all(&data[start..]);
            }
            let _ = stream.shutdown(Shutdown::Both);
        }
    });
    (base, seen)
}

/// What the server saw: (path, Range header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves `data` at every path but `/missing` (404); `Range: bytes=N-` gets 206.
fn serve(data: Arc<Vec<u8>>) -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let path = request.url().to_string();
            let range = request.headers().iter().find(|h| h.field.equiv("Range")).map(|h| h.value.as_str().to_string());
            log.lock().unwrap().push((path.clone(), range.clone()));
            if path == "/missing" {
                let _ = request.respond(tiny_http::Response::from_string("no").with_status_code(404));
                continue;
            }
            let start =
                range.as_deref().and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse::<usize>().ok());
            let response = match start {
                Some(s) => tiny_http::Response::from_data(data[s..].to_vec()).with_status_code(206).with_header(
                    tiny_http::Header::from_bytes(
                        &b"Content-Range"[..],
                        format!("bytes {s}-{}/{}", data.len() - 1, data.len()).as_bytes(),
                    )
                    .unwrap(),
                ),
                None => tiny_http::Response::from_data(data.to_vec()),
            };
            let _ = request.respond(response);
        }
    });
    (base, seen)
}

fn sha(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, bytes).unwrap();
    file_sha256(&p).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_whole_file_is_downloaded_checked_and_kept() {
    let data = Arc::new(payload());
    let (base, seen) = serve(Arc::clone(&data));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cache/weights.pth");
    download(&format!("{base}/weights.pth"), &target, Some(&sha(&data))).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), *data);
    assert_eq!(leftovers(target.parent().unwrap()), ["weights.pth"]);
    // Present: no request at all.
    download(&format!("{base}/weights.pth"), &target, None).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let data = Arc::new(payload());
    let (base, seen) = serve_cut(Arc::clone(&data));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("vit.pth");
    let url = format!("{base}/cut/vit.pth");
    let err = download(&url, &target, Some(&sha(&data))).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HubError::Network { .. }), "{text}");
    assert!(text.contains("vit.pth.part keeps them and the next run resumes there"), "{text}");
    assert!(!target.exists());
    let kept = std::fs::metadata(dir.path().join("vit.pth.part")).unwrap().len();
    assert!(kept > 0 && kept <= data.len() as u64 / 2, "{kept}");
    download(&url, &target, Some(&sha(&data))).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), *data);
    assert_eq!(leftovers(dir.path()), ["vit.pth"]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1, None);
    assert_eq!(seen[1].1, Some(format!("bytes={kept}-")));
}

#[test]
fn a_bad_checksum_caches_nothing() {
    let data = Arc::new(payload());
    let (base, _) = serve(Arc::clone(&data));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.pth");
    let wrong = "0".repeat(64);
    let err = download(&format!("{base}/model.pth"), &target, Some(&wrong)).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HubError::Checksum { .. }), "{text}");
    assert!(text.contains(&format!("sha256 is {}, but the publisher's is {wrong}", sha(&data))), "{text}");
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
    // A prefix in the file name, PyTorch hub's convention, is checked as such.
    let url = format!("{base}/resnet-deadbeef.pth");
    let expected = kinema_hub::zoo::expected_sha256(&url).unwrap();
    let err = download(&url, &dir.path().join("resnet-deadbeef.pth"), Some(&expected)).unwrap_err();
    assert!(err.to_string().contains("publisher's is deadbeef (first digits)"), "{err}");
    let good = &sha(&data)[..8];
    download(&url, &dir.path().join("ok.pth"), Some(good)).unwrap();
}

#[test]
fn a_missing_file_and_no_server_say_so() {
    let (base, _) = serve(Arc::new(b"x".to_vec()));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing.pth");
    let err = download(&format!("{base}/missing"), &target, None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HubError::Status { status: 404, .. }), "{text}");
    assert!(text.contains("/missing: the server answered HTTP 404: Not Found"), "{text}");
    assert!(leftovers(dir.path()).is_empty());
    // No server: a port just closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/ViT-B-32.pt");
    let err = download(&url, &target, None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HubError::Network { .. }), "{text}");
    assert!(
        text.starts_with(&format!("{url}: cannot download ("))
            && text.ends_with(&format!("fetch the file elsewhere and put it at {}", target.display())),
        "{text}"
    );
}
