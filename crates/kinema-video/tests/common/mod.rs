//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// `tests/fixtures/video/<name>` in the workspace.
pub fn fixture(name: &str) -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../tests/fixtures/video")
        .join(name)
}

/// Parsed JSON fixture.
pub fn json(name: &str) -> serde_json::Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lower-case hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Mean of each RGB channel over interleaved RGB24 bytes.
pub fn channel_means(rgb: &[u8]) -> [f64; 3] {
    let mut sums = [0u64; 3];
    for px in rgb.chunks_exact(3) {
        for c in 0..3 {
            sums[c] += u64::from(px[c]);
        }
    }
    let n = (rgb.len() / 3).max(1) as f64;
    sums.map(|s| s as f64 / n)
}

/// Strings of a JSON array.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_string()).collect()
}

/// Unsigned integers of a JSON array.
pub fn usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array().expect("array").iter().map(|s| s.as_u64().expect("integer") as usize).collect()
}
