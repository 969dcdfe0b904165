//! The `launch` binary: environment of the ranks, failure handling, signal forwarding.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// `launch ARGS -- sh -c SCRIPT DIR`: the script sees the temp dir as `$0`.
fn launch(dir: &Path, args: &[&str], script: &str) -> Command {
    let mut cmd = Command::new(launch_bin());
    cmd.args(args).arg("--").args(["sh", "-c", script]).arg(dir).env_remove("OMP_NUM_THREADS");
    cmd
}

#[test]
fn each_rank_sees_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--nproc-per-node",
        "3",
        "--nnodes",
        "2",
        "--node-rank",
        "1",
        "--master-addr",
        "10.1.2.3",
        "--master-port",
        "23456",
    ];
    let done = run(launch(dir.path(), &args, r#"env > "$0/env.$LOCAL_RANK""#), dir.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    for local in 0..3 {
        let env = parse_env(&read(&dir.path().join(format!("env.{local}"))));
        assert_eq!(env["RANK"], (3 + local).to_string());
        assert_eq!(env["LOCAL_RANK"], local.to_string());
        assert_eq!(env["WORLD_SIZE"], "6");
        assert_eq!(env["LOCAL_WORLD_SIZE"], "3");
        assert_eq!(env["GROUP_RANK"], "1");
        assert_eq!(env["MASTER_ADDR"], "10.1.2.3");
        assert_eq!(env["MASTER_PORT"], "23456");
        assert_eq!(env["OMP_NUM_THREADS"], "1");
    }
    assert!(done.stderr.contains("OMP_NUM_THREADS=1"), "{}", done.stderr);
}

#[test]
fn defaults_and_arguments_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(launch_bin());
    cmd.args([
        "--nproc-per-node",
        "2",
        "--",
        "sh",
        "-c",
        r#"env > "$0/env.$RANK"; printf '%s\n' "$@" > "$0/args.$RANK""#,
    ])
    .arg(dir.path())
    .args(["--launcher", "pytorch", "a b"])
    .env("OMP_NUM_THREADS", "4");
    let done = run(cmd, dir.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    for rank in 0..2 {
        let env = parse_env(&read(&dir.path().join(format!("env.{rank}"))));
        assert_eq!(env["RANK"], rank.to_string());
        assert_eq!(env["WORLD_SIZE"], "2");
        assert_eq!(env["MASTER_ADDR"], "127.0.0.1");
        assert_eq!(env["MASTER_PORT"], "29500");
        assert_eq!(env["OMP_NUM_THREADS"], "4", "a value the user set is kept");
        assert_eq!(read(&dir.path().join(format!("args.{rank}"))), "--launcher\npytorch\na b\n");
    }
}

#[test]
fn a_failing_rank_stops_its_siblings_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    // Rank 0 leaves a grandchild behind in the background; rank 1 fails once it exists.
    let script = r#"
        if [ "$RANK" = 0 ]; then sleep 300 & echo $! > "$0/grandchild.tmp"; mv "$0/grandchild.tmp" "$0/grandchild"; exec sleep 300; fi
        while [ ! -f "$0/grandchild" ]; do sleep 0.05; done
        exit 3"#;
    let started = Instant::now();
    let done = run(launch(dir.path(), &["--nproc-per-node", "2"], script), dir.path());
    assert_eq!(done.code(), Some(3), "{}", done.stderr);
    assert!(started.elapsed() < Duration::from_secs(30), "the sleeping sibling was not stopped promptly");
    assert!(done.stderr.contains("rank 1 (local rank 1, pid "), "{}", done.stderr);
    assert!(done.stderr.contains("exited with status 3; stopping the other 1 process(es)"), "{}", done.stderr);
    assert!(done.stderr.contains("launch: failed: rank 1"), "{}", done.stderr);
    let grandchild: i32 = read(&dir.path().join("grandchild")).trim().parse().unwrap();
    wait_until_dead(grandchild);
}

#[test]
fn a_rank_killed_by_a_signal_exits_128_plus_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"if [ "$RANK" = 0 ]; then kill -KILL $$; fi; exec sleep 300"#;
    let done = run(launch(dir.path(), &["--nproc-per-node", "2"], script), dir.path());
    assert_eq!(done.code(), Some(137), "{}", done.stderr);
    assert!(done.stderr.contains("rank 0 (local rank 0, pid "), "{}", done.stderr);
    assert!(done.stderr.contains("was killed by signal 9 (SIGKILL)"), "{}", done.stderr);
}

/// Ranks that record the first SIGTERM/SIGINT they get, after announcing they are ready.
const TRAPPING: &str = r#"
    trap 'echo TERM > "$0/got.$RANK"; exit 0' TERM
    trap 'echo INT > "$0/got.$RANK"; exit 0' INT
    touch "$0/ready.$RANK"
    while true; do sleep 0.1; done"#;

fn forwarded(sig: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let running = start(launch(dir.path(), &["--nproc-per-node", "2"], TRAPPING), dir.path());
    wait_for_files(&[dir.path().join("ready.0"), dir.path().join("ready.1")]);
    // SAFETY: plain system call on our own child.
    assert_eq!(unsafe { libc::kill(running.child.id() as libc::pid_t, sig) }, 0);
    let done = running.finish();
    assert_eq!(done.code(), Some(128 + sig), "{}", done.stderr);
    for rank in 0..2 {
        assert_eq!(read(&dir.path().join(format!("got.{rank}"))).trim(), name);
    }
    assert!(done.stderr.contains(&format!("received signal {sig} (SIG{name})")), "{}", done.stderr);
}

#[test]
fn sigterm_is_forwarded_to_every_rank() {
    forwarded(libc::SIGTERM, "TERM");
}

#[test]
fn sigint_is_forwarded_to_every_rank() {
    forwarded(libc::SIGINT, "INT");
}

#[cfg(target_os = "linux")]
#[test]
fn ranks_are_terminated_when_the_launcher_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = start(launch(dir.path(), &["--nproc-per-node", "2"], TRAPPING), dir.path());
    wait_for_files(&[dir.path().join("ready.0"), dir.path().join("ready.1")]);
    running.child.kill().unwrap();
    let done = running.finish();
    assert_eq!(done.status.code(), None, "killed");
    wait_for_files(&[dir.path().join("got.0"), dir.path().join("got.1")]);
    for rank in 0..2 {
        // The file may be caught between creation and the write: wait for its content.
        let path = dir.path().join(format!("got.{rank}"));
        let deadline = Instant::now() + HANG_GUARD;
        while read(&path).trim() != "TERM" {
            assert!(Instant::now() < deadline, "rank {rank} recorded {:?}", read(&path));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn prefixed_output_names_the_rank() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"echo "hello from $RANK"; echo "oops $RANK" >&2; printf 'no newline'"#;
    let done = run(launch(dir.path(), &["--nproc-per-node", "2", "--prefix-output"], script), dir.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    for rank in 0..2 {
        assert!(done.stdout.contains(&format!("[rank {rank}] hello from {rank}\n")), "{}", done.stdout);
        assert!(done.stdout.contains(&format!("[rank {rank}] no newline\n")), "{}", done.stdout);
        assert!(done.stderr.contains(&format!("[rank {rank}] oops {rank}\n")), "{}", done.stderr);
    }
}

#[test]
fn a_missing_program_exits_127() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(launch_bin());
    cmd.args(["--nproc-per-node", "2", "--", "/nonexistent/kinema-train"]);
    let done = run(cmd, dir.path());
    assert_eq!(done.code(), Some(127), "{}", done.stderr);
    assert!(done.stderr.contains("could not be started: cannot run `/nonexistent/kinema-train`"), "{}", done.stderr);
}

#[test]
fn bad_arguments_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(launch_bin());
    cmd.args(["--nnodes", "2", "--node-rank", "2", "--", "true"]);
    let done = run(cmd, dir.path());
    assert_eq!(done.code(), Some(2));
    assert!(done.stderr.contains("--node-rank 2 must be below --nnodes 2"), "{}", done.stderr);
    let mut cmd = Command::new(launch_bin());
    cmd.args(["--nproc-per-node", "2"]);
    assert_eq!(run(cmd, dir.path()).code(), Some(2), "a command is required");
}
