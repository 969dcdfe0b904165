//! Helpers shared by the integration tests: running a command with a hang guard and
//! reading what stub programs recorded.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Guards against hangs only; every test finishes far sooner.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// The launcher binary built for these tests.
pub fn launch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_launch"))
}

/// The repository's `tools/` folder.
pub fn tools_dir() -> PathBuf {
    // Read at run time: clones share one target dir, so a compiled-in path may be another clone's.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .parent()
        .expect("tools/kinema-launch has a parent")
        .to_path_buf()
}

/// What a finished command left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A started command whose output goes to files in `dir` (so that stray grandchildren
/// holding the streams open cannot block the test).
pub struct Running {
    pub child: Child,
    out: PathBuf,
    err: PathBuf,
}

/// Starts `cmd` with stdout/stderr redirected to files in `dir` and stdin closed.
pub fn start(mut cmd: Command, dir: &Path) -> Running {
    let out = dir.join(".stdout");
    let err = dir.join(".stderr");
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out).expect("create stdout file"))
        .stderr(File::create(&err).expect("create stderr file"));
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    Running { child, out, err }
}

impl Running {
    /// Waits for the command, killing it and failing the test after [`HANG_GUARD`].
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + HANG_GUARD;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the command did not finish within {HANG_GUARD:?}; stderr:\n{}", read(&self.err));
            }
            thread::sleep(Duration::from_millis(20));
        };
        Finished { status, stdout: read(&self.out), stderr: read(&self.err) }
    }
}

/// Runs `cmd` to completion (see [`start`] and [`Running::finish`]).
pub fn run(cmd: Command, dir: &Path) -> Finished {
    start(cmd, dir).finish()
}

/// Waits until every path exists, failing the test after [`HANG_GUARD`].
pub fn wait_for_files(paths: &[PathBuf]) {
    let deadline = Instant::now() + HANG_GUARD;
    while !paths.iter().all(|p| p.exists()) {
        assert!(Instant::now() < deadline, "timed out waiting for {paths:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses `env` output (`KEY=VALUE` lines; continuation lines of multi-line values are
/// skipped).
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Writes an executable script.
pub fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod script");
}

/// Whether process `pid` is still running (a zombie waiting to be reaped counts as ended).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => stat.rsplit_once(')').map(|(_, rest)| rest.trim_start()).is_some_and(|rest| !rest.starts_with('Z')),
    }
}

/// Waits until process `pid` has ended, failing the test after [`HANG_GUARD`].
pub fn wait_until_dead(pid: i32) {
    let deadline = Instant::now() + HANG_GUARD;
    while process_alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} is still running");
        thread::sleep(Duration::from_millis(20));
    }
}
