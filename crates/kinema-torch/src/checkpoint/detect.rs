//! Telling checkpoint formats apart by content, never by file extension.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::error::{CheckpointError, Result};
use super::torch_zip::TorchArchive;

/// The checkpoint formats Kinema recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// A `torch.save` zip archive (PyTorch ≥ 1.6): `.pth`, `.pt`, MMEngine checkpoints.
    TorchZip,
    /// A TorchScript archive (`torch.jit.save`), e.g. OpenAI's CLIP `.pt` files.
    TorchScript,
    /// A safetensors file (Kinema's own format and Hugging Face's).
    Safetensors,
    /// PyTorch's legacy non-zip pickle format: recognised only to explain how to convert it.
    Legacy,
}

/// The pickle that opens every legacy `torch.save` file: PROTO 2, then LONG1 of the magic
/// number 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC: [u8; 12] = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Detects the format of the checkpoint at `path` from its first bytes (and, for zip
/// archives, from the records inside). Unknown content is an error that shows the first bytes.
pub fn detect_format(path: &Path) -> Result<CheckpointFormat> {
    check_regular_file(path)?;
    let mut file = File::open(path).map_err(|e| CheckpointError::io(path, e))?;
    let len = file.metadata().map_err(|e| CheckpointError::io(path, e))?.len();
    let mut head = Vec::with_capacity(16);
    file.by_ref().take(16).read_to_end(&mut head).map_err(|e| CheckpointError::io(path, e))?;
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let archive = TorchArchive::open(path)?;
        return Ok(if archive.is_torchscript() { CheckpointFormat::TorchScript } else { CheckpointFormat::TorchZip });
    }
    if head.len() >= 14 && head[0] == 0x80 && head[2..14] == LEGACY_MAGIC {
        return Ok(CheckpointFormat::Legacy);
    }
    if head.len() >= 9 && head[8] == b'{' {
        let mut n = [0u8; 8];
        n.copy_from_slice(&head[..8]);
        if u64::from_le_bytes(n).checked_add(8).is_some_and(|end| end <= len) {
            return Ok(CheckpointFormat::Safetensors);
        }
    }
    let shown: String = head.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    let hint = if head.first() == Some(&0x80) {
        " (a bare pickle: PyTorch checkpoints are zip archives)"
    } else if head.is_empty() {
        " (the file is empty)"
    } else {
        ""
    };
    Err(CheckpointError::UnknownFormat { path: path.into(), head: format!("b\"{shown}\"{hint}") })
}

/// Fails with a message that says what `path` is when it is not a readable regular file:
/// missing, a folder, a named pipe or device (reading those could block), a dangling or
/// looping symbolic link.
pub fn check_regular_file(path: &Path) -> Result<()> {
    match kinema_core::fs::check_regular_file(path, "checkpoint file") {
        Ok(_) => Ok(()),
        Err(kinema_core::fs::NotAFile { source: Some(e), .. }) => Err(CheckpointError::io(path, e)),
        Err(e) => Err(CheckpointError::NotAFile { path: path.to_path_buf(), what: e.what }),
    }
}
