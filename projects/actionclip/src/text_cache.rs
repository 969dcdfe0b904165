//! Text features of a prompt set, computed once and optionally kept on disk, keyed by
//! a hash of the text tower's weights and the prompt token ids (so another checkpoint
//! or label set never reuses them).

use std::path::{Path, PathBuf};

use kinema_models::ModelError;
use tch::{Kind, Tensor};

/// A 64-bit content hash, word-wise (fast enough for hundreds of MB of weights).
#[derive(Debug, Clone)]
pub struct ContentHash(u64);

impl Default for ContentHash {
    fn default() -> Self {
        ContentHash(0x243F_6A88_85A3_08D3)
    }
}

impl ContentHash {
    /// Mixes `bytes` in.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ (bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(29);
        }
        for &b in chunks.remainder() {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.0 = kinema_core::rng::mix64(h);
    }

    /// Mixes a tensor's shape, dtype and values in (copied to the CPU).
    pub fn update_tensor(&mut self, t: &Tensor) -> Result<(), tch::TchError> {
        let t = t.f_to_device(tch::Device::Cpu)?.f_contiguous()?;
        let size = t.size();
        for d in &size {
            self.update(&d.to_le_bytes());
        }
        self.update(format!("{:?}", t.kind()).as_bytes());
        let numel = t.numel();
        let bytes = numel * t.kind().elt_size_in_bytes();
        let mut buf = vec![0u8; bytes];
        t.f_copy_data_u8(&mut buf, numel)?;
        self.update(&buf);
        Ok(())
    }

    /// The digest as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Where a cached feature matrix for `key` lives under `dir`.
pub fn cache_file(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("actionclip-text-{key}.safetensors"))
}

/// Reads a cached `[rows, D]` matrix, or `None` when absent or unusable.
pub fn load(dir: &Path, key: &str, rows: i64) -> Option<Tensor> {
    let path = cache_file(dir, key);
    if !path.is_file() {
        return None;
    }
    match Tensor::read_safetensors(&path) {
        Ok(list) => {
            let t = list.into_iter().find(|(n, _)| n == "text_features").map(|(_, t)| t)?;
            if t.dim() == 2 && t.size()[0] == rows && t.kind() == Kind::Float {
                log::info!("text features loaded from {}", path.display());
                Some(t)
            } else {
                log::warn!("ignoring text-feature cache {}: shape {:?}", path.display(), t.size());
                None
            }
        }
        Err(e) => {
            log::warn!("ignoring unreadable text-feature cache {}: {e}", path.display());
            None
        }
    }
}

/// Writes the matrix (atomically: temporary file, then rename).
pub fn store(dir: &Path, key: &str, features: &Tensor) -> Result<(), ModelError> {
    let what = format!("writing the text-feature cache in {}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| ModelError::part(what.clone(), e))?;
    let path = cache_file(dir, key);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let cpu = features.f_to_device(tch::Device::Cpu).map_err(|e| ModelError::part(what.clone(), e))?;
    Tensor::write_safetensors(&[("text_features", &cpu)], &tmp).map_err(|e| ModelError::part(what.clone(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| ModelError::part(what, e))?;
    log::info!("text features cached in {}", path.display());
    Ok(())
}
