//! Slurm for real: a live single-machine cluster (`tests/slurm/cluster.sh`: munged,
//! slurmctld, two slurmd) runs the stock tools and scripts. `tools/slurm_test.sh` with 2
//! nodes x 1 task and 1 node x 2 tasks gives the metrics of 1 process; `tools/slurm_train.sh`
//! ends with the same weights on both ranks; `tools/slurm_batch.sh` under `sbatch`
//! completes, and when preempted (`scancel --signal=USR1`) saves, requeues itself and
//! finishes with weights and optimizer state bit-identical to an uninterrupted run; an
//! unresolvable or unreachable master address and a dead node end the job quickly, named.
//!
//! Every command runs under a timeout; the cluster is stopped at the end (also when a
//! step fails) and a daemon left running is a failure.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Cluster {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cluster");
        let out = Command::new(repo().join("tests/slurm/cluster.sh")).arg("start").arg(&dir).output().unwrap();
        assert!(out.status.success(), "the test cluster did not start:\n{}", String::from_utf8_lossy(&out.stderr));
        Cluster { dir, _tmp: tmp }
    }

    fn work(&self) -> PathBuf {
        self._tmp.path().to_path_buf()
    }

    /// `program args` with the cluster's SLURM_CONF, no stale SLURM_* variables, under
    /// `timeout SECS`.
    fn cmd(&self, secs: u64, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("timeout");
        c.arg("-k").arg("5").arg(secs.to_string()).arg(program);
        for (k, _) in std::env::vars() {
            if k.starts_with("SLURM_") || k == "MASTER_ADDR" || k == "MASTER_PORT" {
                c.env_remove(k);
            }
        }
        c.env("SLURM_CONF", self.dir.join("slurm.conf")).env("KINEMA_NO_BUILD", "1").env("OMP_NUM_THREADS", "1");
        c.env("KINEMA_TRAIN_BIN", support::bin("train")).env("KINEMA_TEST_BIN", support::bin("test"));
        c
    }

    fn run(&self, secs: u64, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
        self.cmd(secs, program).args(args).output().unwrap()
    }

    fn nodes(&self) -> (String, String) {
        let env = std::fs::read_to_string(self.dir.join("env")).unwrap();
        let list = env.lines().find_map(|l| l.strip_prefix("export KINEMA_SLURM_NODES=")).unwrap();
        let (a, b) = list.split_once(',').unwrap();
        (a.to_string(), b.to_string())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let out = Command::new(repo().join("tests/slurm/cluster.sh")).arg("stop").arg(&self.dir).output();
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        if !ok && !std::thread::panicking() {
            panic!("stopping the test cluster failed (a daemon was left running): {out:?}");
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {:?}\n{}", out.status, text(out));
    text(out)
}

fn metric(out: &str) -> String {
    out.lines().filter(|l| l.starts_with("acc/")).collect::<Vec<_>>().join("\n")
}

fn fingerprints(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.split("final weights fingerprint ").nth(1)).map(|f| f.trim().to_string()).collect()
}

fn job_state(cluster: &Cluster, job: &str) -> String {
    let out = cluster.run(10, "scontrol", &["show", "job", job, "-o"]);
    let t = text(&out);
    t.split_whitespace().find_map(|w| w.strip_prefix("JobState=")).unwrap_or("?").to_string()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn slurm_cluster_runs_the_tools() {
    let cluster = Cluster::start();
    let work = cluster.work();
    let (n1, n2) = cluster.nodes();
    let cfg = support::tiny_tsn(&work, 6);
    let cfg_s = cfg.to_str().unwrap();

    // Train with 2 ranks on 2 nodes through the MMAction2-style script.
    let train_dir = work.join("train2x1");
    let out = cluster
        .cmd(300, repo().join("tools/slurm_train.sh"))
        .args(["debug", "kinema-train", cfg_s, train_dir.to_str().unwrap(), "--device", "cpu"])
        .envs([("GPUS", "2"), ("GPUS_PER_NODE", "1"), ("CPUS_PER_TASK", "1"), ("SRUN_ARGS", "--label")])
        .output()
        .unwrap();
    let log = ok(&out, "slurm_train.sh 2 nodes x 1 task");
    let prints = fingerprints(&log);
    assert_eq!(prints.len(), 2, "{log}");
    assert_eq!(prints[0], prints[1], "both ranks end with the same weights");
    assert!(log.contains(&format!("the first node of SLURM_NODELIST={n1},{n2}")), "{log}");
    let ckpt = train_dir.join("iter_6.safetensors");
    assert!(ckpt.is_file());

    // Test with 1 process, 2 nodes x 1 task, 1 node x 2 tasks: the same metrics.
    let ck = ckpt.to_str().unwrap();
    let test_dir = |name: &str| work.join(name).to_str().unwrap().to_string();
    let single_dir = test_dir("test1");
    let single = ok(
        &cluster.run(
            120,
            support::bin("test"),
            &[cfg_s, "--checkpoint", ck, "--device", "cpu", "--work-dir", &single_dir],
        ),
        "test, 1 process",
    );
    for (gpus, per_node, what) in [("2", "1", "2 nodes x 1 task"), ("2", "2", "1 node x 2 tasks")] {
        let out = cluster
            .cmd(120, repo().join("tools/slurm_test.sh"))
            .args([
                "debug",
                "kinema-test",
                cfg_s,
                ck,
                "--device",
                "cpu",
                "--work-dir",
                &test_dir(&format!("test{gpus}x{per_node}")),
            ])
            .envs([("GPUS", gpus), ("GPUS_PER_NODE", per_node), ("CPUS_PER_TASK", "1")])
            .output()
            .unwrap();
        let log = ok(&out, what);
        assert_eq!(metric(&log), metric(&single), "{what}");
        assert!(!metric(&single).is_empty(), "{single}");
    }

    features_shard_across_nodes(&cluster, &work, cfg_s, ck);
    preemption_requeues_and_resumes_bit_exactly(&cluster, &work);
    bad_master_addresses_fail_fast(&cluster, &work, &n2);
    a_dead_node_ends_the_job_naming_it(&cluster, &work, &n2);
}

/// `tools/extract_features` under `srun` on 2 nodes x 1 task: each rank a shard, rank 0
/// merges; the merged files are the bytes one process writes.
fn features_shard_across_nodes(cluster: &Cluster, work: &Path, cfg: &str, ck: &str) {
    let data = work.join("data");
    let out = |name: &str| work.join(name).to_str().unwrap().to_string();
    let (one, two) = (out("features1"), out("features2x1"));
    let args = [cfg, data.to_str().unwrap(), "--checkpoint", ck, "--device", "cpu"];
    let single = cluster
        .cmd(120, support::bin("extract_features"))
        .args(args)
        .args(["--out", &one])
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    ok(&single, "extract_features, 1 process");
    let mut c = cluster.cmd(120, "srun");
    c.args(["-N2", "-n2", "--kill-on-bad-exit=1"]).arg(support::bin("extract_features")).args(args);
    let sharded = c.args(["--out", &two, "--launcher", "slurm"]).output().unwrap();
    ok(&sharded, "extract_features, 2 nodes x 1 task");
    for name in ["features.safetensors", "index.jsonl", "failed.jsonl"] {
        let (a, b) = (Path::new(&one).join(name), Path::new(&two).join(name));
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{name}");
    }
    let rows = std::fs::read_to_string(Path::new(&one).join("index.jsonl")).unwrap().lines().count();
    let lists = ["train_list.txt", "val_list.txt", "test_list.txt"];
    let videos: usize =
        lists.iter().filter_map(|l| std::fs::read_to_string(data.join(l)).ok()).map(|t| t.lines().count()).sum();
    assert_eq!(rows, videos, "one row per video of the dataset");
}

/// `sbatch tools/slurm_batch.sh`: an uninterrupted run, then one preempted with
/// `scancel --signal=USR1` mid-run; the batch script requeues it and the finished run's
/// checkpoint equals the uninterrupted one bit for bit.
fn preemption_requeues_and_resumes_bit_exactly(cluster: &Cluster, work: &Path) {
    let cfg = support::tiny_tsn(work, 40);
    let submit = |name: &str| -> (String, PathBuf, PathBuf) {
        let dir = work.join(name);
        let out_file = work.join(format!("{name}.out"));
        let out = cluster
            .cmd(30, "sbatch")
            .args(["--parsable", "-N1", "-n2", "-o", out_file.to_str().unwrap(), "-J", name])
            .arg(repo().join("tools/slurm_batch.sh"))
            .args([cfg.to_str().unwrap(), dir.to_str().unwrap(), "--device", "cpu"])
            .output()
            .unwrap();
        let job = ok(&out, "sbatch").trim().split(';').next().unwrap().to_string();
        (job, dir, out_file)
    };
    let finished = |job: &str| {
        let state = job_state(cluster, job);
        assert!(
            !["FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"].contains(&state.as_str()),
            "job {job}: {state}"
        );
        state == "COMPLETED"
    };
    let (plain, plain_dir, _) = submit("plain");
    wait_for("the uninterrupted batch job", Duration::from_secs(240), || finished(&plain));

    let (job, dir, out_file) = submit("preempted");
    let reached = |n: u64| {
        let log = std::fs::read_to_string(&out_file).unwrap_or_default();
        log.lines().any(|l| l.contains(&format!("[{n:>2}/40]")) || l.contains(&format!("[{n}/40]")))
    };
    wait_for("iteration 10 of the batch job", Duration::from_secs(120), || reached(10));
    ok(&cluster.run(10, "scancel", &["--signal=USR1", &job]), "scancel --signal=USR1");
    wait_for("the requeued batch job", Duration::from_secs(300), || finished(&job));
    let log = std::fs::read_to_string(&out_file).unwrap();
    assert!(log.contains("requeueing job"), "{log}");
    assert!(log.contains("stopped by SIGUSR1 after iteration"), "{log}");
    assert!(log.contains("resumed from"), "{log}");
    let restarts = text(&cluster.run(10, "scontrol", &["show", "job", &job, "-o"]));
    assert!(restarts.contains("Restarts=1"), "{restarts}");
    assert_eq!(
        support::tensors(&dir.join("iter_40.safetensors")),
        support::tensors(&plain_dir.join("iter_40.safetensors"))
    );
}

/// A master address that does not resolve fails at once; one that resolves but does
/// not answer fails after `connect_timeout` (20 s here); both name the address and
/// where it came from.
fn bad_master_addresses_fail_fast(cluster: &Cluster, work: &Path, n2: &str) {
    let cfg = support::tiny_tsn(work, 6);
    let args = [cfg.to_str().unwrap(), "--launcher", "slurm", "--device", "cpu", "--work-dir"];
    let t = Instant::now();
    let mut c = cluster.cmd(90, "srun");
    c.args(["-N1", "-n2", "-w", n2, "--kill-on-bad-exit=1"])
        .arg(support::bin("train"))
        .args(args)
        .arg(work.join("bad1"));
    let out = c.output().unwrap();
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains(&format!("the master address {n2}:")) && log.contains("does not resolve"), "{log}");
    assert!(log.contains(&format!("from the first node of SLURM_NODELIST={n2}")), "{log}");
    assert!(t.elapsed() < Duration::from_secs(30), "took {:?}", t.elapsed());

    let t = Instant::now();
    let mut c = cluster.cmd(90, "srun");
    c.args(["-N1", "-n2", "--kill-on-bad-exit=1"]).env("MASTER_ADDR", "10.255.255.1");
    let out = c.arg(support::bin("train")).args(args).arg(work.join("bad2")).output().unwrap();
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains("10.255.255.1") && log.contains("(from MASTER_ADDR"), "{log}");
    assert!(t.elapsed() < Duration::from_secs(60), "took {:?}", t.elapsed());
}

/// Killing rank 1's process on the second node mid-run: rank 0 stops within 60 s and
/// names the rank and its node.
fn a_dead_node_ends_the_job_naming_it(cluster: &Cluster, work: &Path, n2: &str) {
    let cfg = support::tiny_tsn(work, 400);
    let dir = work.join("dead");
    let mut c = cluster.cmd(180, "srun");
    c.args(["-N2", "-n2", "--kill-on-bad-exit=0", "--label"]).arg(support::bin("train"));
    c.args([cfg.to_str().unwrap(), "--launcher", "slurm", "--device", "cpu", "--work-dir", dir.to_str().unwrap()]);
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let log_file = || std::fs::read_dir(&dir).ok().into_iter().flatten().flatten().find(|e| e.path().is_dir());
    wait_for("iteration 3 of the 2-node run", Duration::from_secs(120), || {
        log_file()
            .and_then(|d| {
                std::fs::read_to_string(d.path().join(format!("{}.log", d.file_name().to_string_lossy()))).ok()
            })
            .is_some_and(|l| l.contains("[  3/400]") || l.contains("[3/400]"))
    });
    let rank1 = support::process_with(&[dir.to_str().unwrap(), "train"], "SLURM_PROCID=1").expect("rank 1's process");
    let killed = Instant::now();
    Command::new("kill").args(["-KILL", &rank1]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(killed.elapsed() < Duration::from_secs(60), "the job took {:?} to end", killed.elapsed());
    let log = text(&out);
    assert!(log.contains(&format!("rank 1 on {n2}")), "{log}");
}
