//! Minimal `.npy` (NumPy format version 1.0) reading and writing for `uint8` arrays,
//! used by `tools/inspect_pipeline --save-npy` and the parity tests.

use std::io::Write;
use std::path::Path;

use crate::error::DataError;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The bytes of a version-1.0 `.npy` file holding `data` as a C-order `uint8` array of
/// `shape`.
pub fn encode_u8(data: &[u8], shape: &[usize]) -> Vec<u8> {
    let dims = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {dims}, }}");
    // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Writes a `uint8` array to `path`.
pub fn write_u8(path: &Path, data: &[u8], shape: &[usize]) -> Result<(), DataError> {
    let mut f = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    f.write_all(&encode_u8(data, shape)).map_err(|e| DataError::io(path, e))
}

/// Parses `.npy` bytes holding a C-order `uint8` array: `(data, shape)`. `name` is used
/// in error messages.
pub fn decode_u8(bytes: &[u8], name: &Path) -> Result<(Vec<u8>, Vec<usize>), DataError> {
    let bad = |message: &str| DataError::Npy { path: name.to_path_buf(), message: message.to_string() };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file (bad magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad("unsupported .npy version")),
    };
    let header = bytes.get(start..start + header_len).ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    if !(header.contains("'|u1'") || header.contains("'<u1'")) {
        return Err(bad("dtype is not uint8"));
    }
    if header.contains("'fortran_order': True") {
        return Err(bad("Fortran-order arrays are not supported"));
    }
    let open = header.find("'shape': (").ok_or_else(|| bad("header has no shape"))? + 10;
    let close = header[open..].find(')').ok_or_else(|| bad("unterminated shape"))? + open;
    let shape: Vec<usize> = header[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("shape is not a list of integers")))
        .collect::<Result<_, _>>()?;
    let data = &bytes[start + header_len..];
    if data.len() != shape.iter().product::<usize>() {
        return Err(bad("data length does not match the shape"));
    }
    Ok((data.to_vec(), shape))
}

/// Reads a `uint8` `.npy` file.
pub fn read_u8(path: &Path) -> Result<(Vec<u8>, Vec<usize>), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_u8(&bytes, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_alignment() {
        let bytes = encode_u8(&[1, 2, 3, 4, 5, 6], &[2, 3]);
        let header_end = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(header_end % 64, 0);
        assert_eq!(&bytes[10..60], b"{'descr': '|u1', 'fortran_order': False, 'shape': ".as_slice());
        let (data, shape) = decode_u8(&bytes, Path::new("x.npy")).unwrap();
        assert_eq!((data, shape), (vec![1, 2, 3, 4, 5, 6], vec![2, 3]));
        let one = encode_u8(&[9], &[1]);
        assert!(String::from_utf8_lossy(&one).contains("'shape': (1,)"));
        let err = decode_u8(b"nope", Path::new("x.npy")).unwrap_err().to_string();
        assert_eq!(err, "x.npy: not a .npy file (bad magic)");
    }
}
