//! What a path is when a regular file was expected: every reader of user-named files
//! (configs, annotation lists, label maps, videos, checkpoints) checks with
//! [`check_regular_file`] before opening, so a folder, a named pipe (whose open would
//! block forever), a dangling or looping symbolic link each get their own message instead
//! of "does not exist", "empty" or a hang.

use std::path::{Path, PathBuf};

/// A path that is not a readable regular file, and what it is instead.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}", path.display())]
pub struct NotAFile {
    /// The path as given.
    pub path: PathBuf,
    /// What it is: `does not exist`, `is a folder, not a video file`, ...
    pub what: String,
    /// The operating system's error, when the path could not be examined.
    #[source]
    pub source: Option<std::io::Error>,
}

/// Checks that `path` is a regular file (following symbolic links) and returns its size;
/// `kind` names what was expected (`"config file"`, `"video file"`).
pub fn check_regular_file(path: &Path, kind: &str) -> Result<u64, NotAFile> {
    let not = |what: String, source: Option<std::io::Error>| NotAFile { path: path.to_path_buf(), what, source };
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(m.len()),
        Ok(m) if m.is_dir() => Err(not(format!("is a folder, not a {kind}"), None)),
        Ok(_) => Err(not(format!("is not a regular file (a named pipe, socket or device), not a {kind}"), None)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::read_link(path) {
            Ok(target) => Err(not(format!("is a symbolic link to {}, which does not exist", target.display()), None)),
            Err(_) => Err(not("does not exist".into(), None)),
        },
        Err(e) if e.raw_os_error() == Some(ELOOP) => Err(not("is a symbolic link loop".into(), None)),
        Err(e) => Err(not("cannot be examined".into(), Some(e))),
    }
}

/// Linux's "too many levels of symbolic links".
const ELOOP: i32 = 40;

#[cfg(test)]
mod tests {
    use super::*;

    fn what(path: &Path) -> String {
        check_regular_file(path, "config file").unwrap_err().to_string()
    }

    #[test]
    fn each_kind_of_non_file_is_named() {
        let dir = std::env::temp_dir().join(format!("kinema-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(check_regular_file(&file, "config file").unwrap(), 6);
        let d = dir.display();
        assert_eq!(what(&dir), format!("{d}: is a folder, not a config file"));
        assert_eq!(what(&dir.join("none.toml")), format!("{d}/none.toml: does not exist"));
        let (l1, l2, dangling) = (dir.join("l1"), dir.join("l2"), dir.join("dangling"));
        std::os::unix::fs::symlink(&l2, &l1).unwrap();
        std::os::unix::fs::symlink(&l1, &l2).unwrap();
        assert_eq!(what(&l1), format!("{d}/l1: is a symbolic link loop"));
        std::os::unix::fs::symlink("gone.toml", &dangling).unwrap();
        assert_eq!(what(&dangling), format!("{d}/dangling: is a symbolic link to gone.toml, which does not exist"));
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        assert_eq!(
            what(&fifo),
            format!("{d}/fifo: is not a regular file (a named pipe, socket or device), not a config file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
