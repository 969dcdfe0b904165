//! tools/dist_train.sh, dist_test.sh, slurm_train.sh, slurm_test.sh and the tools/launch
//! wrapper, with stub train/test binaries and a stub `srun`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Records its arguments (one per line) and environment as `call.<rank>.{args,env}`;
/// exits with `$STUB_FAIL_CODE` on rank `$STUB_FAIL_RANK`.
const STUB_BIN: &str = r#"#!/bin/sh
rank="${RANK:-${SLURM_PROCID:-x}}"
printf '%s\n' "$@" > "$STUB_OUT/call.$rank.args"
env > "$STUB_OUT/call.$rank.env"
if [ "$rank" = "${STUB_FAIL_RANK:-none}" ]; then exit "$STUB_FAIL_CODE"; fi
"#;

/// Records its arguments, then runs the command after its options as two tasks of a
/// two-node job, one after the other, and fails if either failed.
const STUB_SRUN: &str = r#"#!/bin/sh
printf '%s\n' "$@" > "$STUB_OUT/srun.args"
while [ $# -gt 0 ]; do
  case "$1" in
    -p) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
status=0
for id in 0 1; do
  SLURM_PROCID=$id SLURM_NTASKS=2 SLURM_LOCALID=$id SLURM_NODELIST='node[01-02]' "$@" || status=$?
done
exit $status
"#;

/// A temp dir with the stubs, and a command for one of the scripts wired to them.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        write_script(&dir.path().join("stub-bin"), STUB_BIN);
        write_script(&dir.path().join("bin/srun"), STUB_SRUN);
        Fixture { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn stub(&self) -> PathBuf {
        self.path().join("stub-bin")
    }

    fn script(&self, name: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(tools_dir().join(name));
        cmd.args(args).current_dir(self.path()).env("STUB_OUT", self.path());
        for var in ["NNODES", "NODE_RANK", "PORT", "MASTER_ADDR", "MASTER_PORT", "GPUS", "GPUS_PER_NODE"] {
            cmd.env_remove(var);
        }
        for var in ["CPUS_PER_TASK", "SRUN_ARGS", "KINEMA_NO_BUILD", "OMP_NUM_THREADS", "RANK", "SLURM_PROCID"] {
            cmd.env_remove(var);
        }
        cmd.env("KINEMA_TRAIN_BIN", self.stub())
            .env("KINEMA_TEST_BIN", self.stub())
            .env("KINEMA_LAUNCH_BIN", launch_bin());
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.path().join("bin")];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap());
        cmd
    }

    fn args(&self, rank: usize) -> Vec<String> {
        read(&self.path().join(format!("call.{rank}.args"))).lines().map(String::from).collect()
    }

    fn env(&self, rank: usize) -> BTreeMap<String, String> {
        parse_env(&read(&self.path().join(format!("call.{rank}.env"))))
    }

    fn srun_args(&self) -> Vec<String> {
        read(&self.path().join("srun.args")).lines().map(String::from).collect()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn dist_train_starts_one_rank_per_gpu() {
    let f = Fixture::new();
    let done = run(f.script("dist_train.sh", &["cfg.toml", "2", "--seed", "3", "--work-dir", "a b"]), f.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    for rank in 0..2 {
        assert_eq!(f.args(rank), strings(&["cfg.toml", "--launcher", "pytorch", "--seed", "3", "--work-dir", "a b"]));
        let env = f.env(rank);
        assert_eq!(env["RANK"], rank.to_string());
        assert_eq!(env["LOCAL_RANK"], rank.to_string());
        assert_eq!(env["WORLD_SIZE"], "2");
        assert_eq!(env["MASTER_ADDR"], "127.0.0.1");
        assert_eq!(env["MASTER_PORT"], "29500");
        assert_eq!(env["KINEMA_NO_BUILD"], "1");
    }
}

#[test]
fn dist_train_on_the_second_node() {
    let f = Fixture::new();
    let mut cmd = f.script("dist_train.sh", &["cfg.toml", "2"]);
    cmd.env("NNODES", "2").env("NODE_RANK", "1").env("PORT", "29999").env("MASTER_ADDR", "10.0.0.5");
    let done = run(cmd, f.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    for (local, rank) in [(0, 2), (1, 3)] {
        let env = f.env(rank);
        assert_eq!(env["LOCAL_RANK"], local.to_string());
        assert_eq!(env["WORLD_SIZE"], "4");
        assert_eq!(env["MASTER_ADDR"], "10.0.0.5");
        assert_eq!(env["MASTER_PORT"], "29999");
    }
}

#[test]
fn dist_train_exits_with_the_failing_rank_status() {
    let f = Fixture::new();
    let mut cmd = f.script("dist_train.sh", &["cfg.toml", "2"]);
    cmd.env("STUB_FAIL_RANK", "1").env("STUB_FAIL_CODE", "5");
    let done = run(cmd, f.path());
    assert_eq!(done.code(), Some(5), "{}", done.stderr);
    assert!(done.stderr.contains("rank 1 (local rank 1"), "{}", done.stderr);
}

#[test]
fn dist_test_passes_the_checkpoint() {
    let f = Fixture::new();
    let done = run(f.script("dist_test.sh", &["cfg.toml", "ckpt.pth", "2", "--dump", "r.json"]), f.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    for rank in 0..2 {
        let expected = ["cfg.toml", "--checkpoint", "ckpt.pth", "--launcher", "pytorch", "--dump", "r.json"];
        assert_eq!(f.args(rank), strings(&expected));
        assert_eq!(f.env(rank)["WORLD_SIZE"], "2");
    }
}

#[test]
fn missing_arguments_print_the_usage() {
    let f = Fixture::new();
    let cases: [(&str, &[&str]); 4] = [
        ("dist_train.sh", &["cfg.toml"]),
        ("dist_test.sh", &["cfg.toml", "ckpt.pth"]),
        ("slurm_train.sh", &["part", "job"]),
        ("slurm_test.sh", &["part", "job", "cfg.toml"]),
    ];
    for (script, args) in cases {
        let done = run(f.script(script, args), f.path());
        assert_eq!(done.code(), Some(2), "{script}");
        assert!(done.stderr.starts_with("usage: "), "{script}: {}", done.stderr);
    }
}

#[test]
fn slurm_train_with_a_work_dir() {
    let f = Fixture::new();
    let mut cmd = f.script("slurm_train.sh", &["part", "job", "cfg.toml", "work/dir", "--seed", "1"]);
    cmd.env("GPUS", "16").env("SRUN_ARGS", "--exclusive --mem=0");
    let done = run(cmd, f.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    let stub = f.stub().to_string_lossy().into_owned();
    let expected = [
        "-p",
        "part",
        "--job-name=job",
        "--gres=gpu:8",
        "--ntasks=16",
        "--ntasks-per-node=8",
        "--cpus-per-task=5",
        "--kill-on-bad-exit=1",
        "--exclusive",
        "--mem=0",
        &stub,
        "cfg.toml",
        "--work-dir=work/dir",
        "--launcher=slurm",
        "--seed",
        "1",
    ];
    assert_eq!(f.srun_args(), strings(&expected));
    let port = f.env(0)["MASTER_PORT"].clone();
    let port_number: u32 = port.parse().unwrap();
    assert!((12000..32000).contains(&port_number), "{port}");
    for rank in 0..2 {
        assert_eq!(f.args(rank), strings(&["cfg.toml", "--work-dir=work/dir", "--launcher=slurm", "--seed", "1"]));
        let env = f.env(rank);
        assert_eq!(env["SLURM_PROCID"], rank.to_string());
        assert_eq!(env["SLURM_NTASKS"], "2");
        assert_eq!(env["SLURM_NODELIST"], "node[01-02]");
        assert_eq!(env["MASTER_PORT"], port, "every task sees the same port");
        assert_eq!(env["KINEMA_NO_BUILD"], "1");
    }
}

#[test]
fn slurm_train_without_a_work_dir_keeps_a_given_port() {
    let f = Fixture::new();
    let mut cmd = f.script("slurm_train.sh", &["part", "job", "cfg.toml", "--resume"]);
    cmd.env("GPUS_PER_NODE", "4").env("CPUS_PER_TASK", "2").env("MASTER_PORT", "23456");
    let done = run(cmd, f.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    let srun = f.srun_args();
    assert_eq!(
        srun[2..7],
        strings(&["--job-name=job", "--gres=gpu:4", "--ntasks=8", "--ntasks-per-node=4", "--cpus-per-task=2"])
    );
    assert_eq!(f.args(1), strings(&["cfg.toml", "--launcher=slurm", "--resume"]));
    assert_eq!(f.env(1)["MASTER_PORT"], "23456");
}

#[test]
fn slurm_test_passes_the_checkpoint_and_no_port() {
    let f = Fixture::new();
    let mut cmd = f.script("slurm_test.sh", &["part", "job", "cfg.toml", "ckpt.pth", "--dump", "r.json"]);
    cmd.env("STUB_FAIL_RANK", "1").env("STUB_FAIL_CODE", "4");
    let done = run(cmd, f.path());
    assert_eq!(done.code(), Some(4), "srun's status is the script's: {}", done.stderr);
    let stub = f.stub().to_string_lossy().into_owned();
    let srun = f.srun_args();
    assert_eq!(
        srun[..8],
        strings(&[
            "-p",
            "part",
            "--job-name=job",
            "--gres=gpu:8",
            "--ntasks=8",
            "--ntasks-per-node=8",
            "--cpus-per-task=5",
            "--kill-on-bad-exit=1",
        ])
    );
    assert_eq!(srun[8], stub);
    for rank in 0..2 {
        let expected = ["cfg.toml", "--checkpoint", "ckpt.pth", "--launcher=slurm", "--dump", "r.json"];
        assert_eq!(f.args(rank), strings(&expected));
        assert!(!f.env(rank).contains_key("MASTER_PORT"), "the test binary falls back to 29500");
    }
}

#[test]
fn the_launch_wrapper_runs_the_given_binary() {
    let f = Fixture::new();
    let done = run(f.script("launch", &["--nproc-per-node", "2", "--", &f.stub().to_string_lossy(), "x"]), f.path());
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    assert_eq!(f.args(1), strings(&["x"]));
    assert_eq!(f.env(1)["WORLD_SIZE"], "2");
}
