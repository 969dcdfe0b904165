//! A bounds-checked cursor over the pickle bytes: every read is checked against the end of the
//! data, and every error carries the offset of the opcode being run.

use super::PickleError;

/// Position in the pickle stream plus the start of the current opcode.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    op_start: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, op_start: 0 }
    }

    /// Marks the start of the next opcode (the offset errors report) and reads it.
    pub fn opcode(&mut self) -> Result<(usize, u8), PickleError> {
        self.op_start = self.pos;
        Ok((self.op_start, self.u8()?))
    }

    /// An error at the current opcode.
    pub fn err(&self, msg: impl Into<String>) -> PickleError {
        PickleError::at(self.op_start, msg)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(format!("truncated pickle: {n} bytes needed past the end of data")))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    pub fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    pub fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut buf = [0u8; N];
        buf.copy_from_slice(self.take(N)?);
        Ok(buf)
    }

    pub fn len_u32(&mut self) -> Result<usize, PickleError> {
        Ok(u32::from_le_bytes(self.le()?) as usize)
    }

    pub fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).map_err(|_| self.err("length does not fit in memory"))
    }

    /// A text line (protocol 0 arguments), without its newline.
    pub fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err("truncated pickle: unterminated text argument"))?;
        let text = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(text)
    }
}
