//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Read;
use std::path::PathBuf;

use kinema_data::npy;

/// `tests/fixtures/<rel>` of the repository.
pub fn fixture(rel: &str) -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../tests/fixtures")
        .join(rel)
}

/// Reads a `.npy` or `.npy.gz` uint8 fixture.
pub fn read_npy(rel: &str) -> (Vec<u8>, Vec<usize>) {
    let path = fixture(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = if rel.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).expect("gunzip");
        out
    } else {
        bytes
    };
    npy::decode_u8(&bytes, &path).expect("npy")
}

/// `(exact fraction, max abs difference)` of two equal-length buffers.
pub fn compare(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let exact = a.iter().zip(b).filter(|(x, y)| x == y).count();
    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
    (exact as f64 / a.len().max(1) as f64, max)
}
