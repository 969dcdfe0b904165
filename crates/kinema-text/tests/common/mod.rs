//! Helpers shared by the integration tests: fixture paths and a tiny `.npy` reader.

#![allow(dead_code)]

use std::path::PathBuf;

/// `tests/fixtures/text/<name>` at the repository root.
pub fn fixture(name: &str) -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../tests/fixtures/text")
        .join(name)
}

/// Reads a little-endian int32 C-order `.npy` file: (shape, values).
pub fn read_npy_i32(name: &str) -> (Vec<usize>, Vec<i32>) {
    let bytes = std::fs::read(fixture(name)).expect("fixture readable");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an .npy file");
    let (header_len, offset) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[offset..offset + header_len]).expect("ascii header");
    assert!(header.contains("'descr': '<i4'"), "{name}: {header}");
    assert!(header.contains("'fortran_order': False"), "{name}: {header}");
    let shape_text = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).expect("shape in header");
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("shape number"))
        .collect();
    let data = &bytes[offset + header_len..];
    let values: Vec<i32> = data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{name}: size");
    (shape, values)
}

/// Drops the zero padding at the end of a row.
pub fn nonzero_prefix(row: &[i64]) -> Vec<i64> {
    let end = row.iter().rposition(|&x| x != 0).map_or(0, |p| p + 1);
    row[..end].to_vec()
}
