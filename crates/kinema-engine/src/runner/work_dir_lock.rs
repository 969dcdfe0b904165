//! One trainer per work dir: a second `tools/train` on the same work dir would overwrite
//! the first one's checkpoints and `last_checkpoint`. Rank 0 holds an advisory lock on
//! `WORK_DIR/.train.lock` (the OS releases it when the process ends, also on SIGKILL, so a
//! killed run never leaves a stale lock); the file says who holds it. Whoever takes the
//! lock removes the temporary files of saves a killed run left behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::EngineError;

/// The lock file's name in the work dir.
pub const LOCK_FILE: &str = ".train.lock";

/// A held work-dir lock; released when dropped.
#[derive(Debug)]
pub struct WorkDirLock {
    _file: File,
}

impl WorkDirLock {
    /// Takes the lock of `work_dir` (created if missing), or fails naming who holds it.
    pub fn acquire(work_dir: &Path) -> Result<WorkDirLock, EngineError> {
        let path = work_dir.join(LOCK_FILE);
        let io = |source: std::io::Error| EngineError::Io { path: path.clone(), source };
        std::fs::create_dir_all(work_dir).map_err(|source| EngineError::Io { path: work_dir.to_path_buf(), source })?;
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(busy(work_dir, &path, holder.trim()));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let since = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        file.set_len(0).and_then(|()| file.rewind()).map_err(io)?;
        writeln!(file, "tools/train, pid {} on {}, since {since}", std::process::id(), host.trim()).map_err(io)?;
        remove_interrupted_saves(work_dir);
        Ok(WorkDirLock { _file: file })
    }
}

/// Removes the temporary files of saves that a killed run left behind (`.NAME.XXXXXX.tmp`
/// beside checkpoints and `last_checkpoint`); with the lock held no other trainer is
/// writing them.
fn remove_interrupted_saves(work_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(work_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = [".safetensors.", ".pth.", "last_checkpoint."].iter().any(|m| name.contains(m));
        if name.starts_with('.') && name.ends_with(".tmp") && ours && entry.path().is_file() {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => log::info!("removed {}, left by an interrupted save", entry.path().display()),
                Err(e) => log::warn!("could not remove {}: {e}", entry.path().display()),
            }
        }
    }
}

fn busy(work_dir: &Path, lock: &Path, holder: &str) -> EngineError {
    let holder = if holder.is_empty() { "another process".to_string() } else { holder.to_string() };
    EngineError::Option {
        option: "--work-dir".into(),
        message: format!(
            "{} is in use by another training run ({holder}; lock {}); two runs in one work dir would \
             overwrite each other's checkpoints: wait for it, or pass another --work-dir",
            work_dir.display(),
            PathBuf::from(lock).display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_trainer_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkDirLock::acquire(dir.path()).unwrap();
        let err = WorkDirLock::acquire(dir.path()).unwrap_err().to_string();
        let lock = dir.path().join(LOCK_FILE);
        assert!(
            err.starts_with(&format!(
                "--work-dir: {} is in use by another training run (tools/train, pid {} on ",
                dir.path().display(),
                std::process::id()
            )),
            "{err}"
        );
        assert!(err.ends_with(&format!(
            "; lock {}); two runs in one work dir would overwrite each other's checkpoints: wait for it, or pass \
             another --work-dir",
            lock.display()
        )));
        drop(first);
        WorkDirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn temporaries_of_interrupted_saves_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let keep = [".notes.tmp", "epoch_1.safetensors", ".hidden.safetensors"];
        let gone = [".epoch_2.safetensors.a1B2c3.tmp", ".last_checkpoint.zZ9yY8.tmp", ".iter_4.pth.Qq1Ww2.tmp"];
        for name in keep.iter().chain(&gone) {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let _lock = WorkDirLock::acquire(dir.path()).unwrap();
        for name in keep {
            assert!(dir.path().join(name).exists(), "{name} kept");
        }
        for name in gone {
            assert!(!dir.path().join(name).exists(), "{name} removed");
        }
    }
}
