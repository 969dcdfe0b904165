//! TFRecord framing: `u64 length (LE) | masked crc32c(length) | data | masked crc32c(data)`.

use std::io::{Read, Write};

/// The constant added when masking a CRC (TensorFlow's `kMaskDelta`).
const MASK_DELTA: u32 = 0xa282_ead8;

/// TensorFlow's masked CRC-32C: rotate the checksum right by 15 bits and add a constant, so
/// that checksums of data containing checksums stay well distributed.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The framed bytes of one record holding `data`.
pub fn encode_record(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// Writes one framed record to `out` in a single `write_all`.
pub fn write_record(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    out.write_all(&encode_record(data))
}

/// Why a record could not be read.
#[derive(Debug)]
pub enum RecordError {
    /// The input ended inside the record; names the missing part.
    Truncated(&'static str),
    /// A checksum did not match: (part, stored, computed).
    Checksum(&'static str, u32, u32),
    /// Reading failed.
    Io(std::io::Error),
}

/// Reads the next record's data; `Ok(None)` at a clean end of input.
pub fn read_record(input: &mut impl Read) -> Result<Option<Vec<u8>>, RecordError> {
    let mut header = [0u8; 12];
    let got = read_full(input, &mut header).map_err(RecordError::Io)?;
    if got == 0 {
        return Ok(None);
    }
    if got < header.len() {
        return Err(RecordError::Truncated("a 12-byte length header"));
    }
    let (length_bytes, crc_bytes) = header.split_at(8);
    let stored = u32::from_le_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
    let computed = masked_crc32c(length_bytes);
    if stored != computed {
        return Err(RecordError::Checksum("length", stored, computed));
    }
    let mut length = [0u8; 8];
    length.copy_from_slice(length_bytes);
    let length = u64::from_le_bytes(length);
    let length = usize::try_from(length).map_err(|_| RecordError::Truncated("a record length that fits in memory"))?;
    let mut data = Vec::new();
    let got = input.take(length as u64).read_to_end(&mut data).map_err(RecordError::Io)?;
    if got < length {
        return Err(RecordError::Truncated("the record data"));
    }
    let mut footer = [0u8; 4];
    if read_full(input, &mut footer).map_err(RecordError::Io)? < footer.len() {
        return Err(RecordError::Truncated("the 4-byte data checksum"));
    }
    let stored = u32::from_le_bytes(footer);
    let computed = masked_crc32c(&data);
    if stored != computed {
        return Err(RecordError::Checksum("data", stored, computed));
    }
    Ok(Some(data))
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_mask_known_values() {
        // CRC-32C check value from RFC 3720 / the Castagnoli test vector.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // Masked by hand in Python: ((c >> 15 | c << 17) & 0xffffffff) + 0xa282ead8 mod 2^32.
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn frame_layout_and_round_trip() {
        let framed = encode_record(b"hello");
        assert_eq!(framed.len(), 8 + 4 + 5 + 4);
        assert_eq!(&framed[..8], &5u64.to_le_bytes());
        assert_eq!(&framed[8..12], &masked_crc32c(&5u64.to_le_bytes()).to_le_bytes());
        assert_eq!(&framed[12..17], b"hello");
        assert_eq!(&framed[17..], &masked_crc32c(b"hello").to_le_bytes());
        let mut two = framed.clone();
        two.extend(encode_record(b""));
        let mut input = two.as_slice();
        assert_eq!(read_record(&mut input).ok().flatten().as_deref(), Some(&b"hello"[..]));
        assert_eq!(read_record(&mut input).ok().flatten().as_deref(), Some(&b""[..]));
        assert!(matches!(read_record(&mut input), Ok(None)));
    }

    #[test]
    fn corruption_and_truncation_are_detected() {
        let framed = encode_record(b"hello");
        let mut bad = framed.clone();
        bad[13] ^= 1;
        assert!(matches!(read_record(&mut bad.as_slice()), Err(RecordError::Checksum("data", _, _))));
        let mut bad = framed.clone();
        bad[0] = 6;
        assert!(matches!(read_record(&mut bad.as_slice()), Err(RecordError::Checksum("length", _, _))));
        for cut in [3, 12, 15, framed.len() - 1] {
            let mut input = &framed[..cut];
            assert!(matches!(read_record(&mut input), Err(RecordError::Truncated(_))), "cut at {cut}");
        }
    }
}
