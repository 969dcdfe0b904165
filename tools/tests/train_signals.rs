//! Stopping `tools/train` with signals: SIGTERM (twice, quickly) or SIGUSR1 mid-run ends
//! it after an iteration with a complete checkpoint and status 75; `--resume` finishes
//! with weights and optimizer state bit-identical to an uninterrupted run. A second
//! SIGINT ends it at once without leaving a torn checkpoint. A second trainer on a work dir
//! in use is refused, naming the first; a killed trainer leaves no stale lock. A frozen
//! rank (SIGSTOP) ends a 2-rank job within `heartbeat_timeout`, named by the other. A
//! checkpoint folder that cannot be made fails before the first iteration.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn train(cfg: &Path, work: &Path, resume: bool) -> Command {
    let mut c = Command::new(support::bin("train"));
    c.arg(cfg).args(["--work-dir", work.to_str().unwrap(), "--device", "cpu"]).env("OMP_NUM_THREADS", "1");
    if resume {
        c.arg("--resume");
    }
    c
}

/// Waits until the run's log shows iteration `n`.
fn wait_for_iter(work: &Path, n: u64, total: u64, child: &mut Child) {
    let start = Instant::now();
    loop {
        let logs = std::fs::read_dir(work).into_iter().flatten().flatten().filter(|e| e.path().is_dir());
        for d in logs {
            let log = d.path().join(format!("{}.log", d.file_name().to_string_lossy()));
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let width = total.to_string().len();
            if text.contains(&format!("[{n:>width$}/{total}]")) {
                return;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before iteration {n}");
        assert!(start.elapsed() < Duration::from_secs(120), "no iteration {n} after 2 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    assert!(Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap().success());
}

#[test]
fn sigterm_twice_saves_once_and_resume_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tiny_tsn(dir.path(), 30);
    let plain = dir.path().join("plain");
    assert!(train(&cfg, &plain, false).output().unwrap().status.success());

    for sig in ["TERM", "USR1"] {
        let work = dir.path().join(format!("stopped_{sig}"));
        let mut child = train(&cfg, &work, false).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        wait_for_iter(&work, 8, 30, &mut child);
        signal(&child, sig);
        if sig == "TERM" {
            signal(&child, sig);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(75), "{stderr}");
        assert!(stderr.contains(&format!("stopped by SIG{sig} after iteration")), "{stderr}");
        let last = std::fs::read_to_string(work.join("last_checkpoint")).unwrap();
        let saved = PathBuf::from(last.trim());
        assert!(saved.file_name().unwrap().to_string_lossy().starts_with("iter_"), "{}", saved.display());
        support::tensors(&saved);
        let out = train(&cfg, &work, true).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            support::tensors(&work.join("iter_30.safetensors")),
            support::tensors(&plain.join("iter_30.safetensors")),
            "{sig}"
        );
    }
}

#[test]
fn a_second_sigint_exits_at_once_without_a_torn_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tiny_tsn(dir.path(), 30);
    let work = dir.path().join("interrupted");
    let mut child = train(&cfg, &work, false).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_iter(&work, 5, 30, &mut child);
    signal(&child, "INT");
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    assert!(matches!(out.status.code(), Some(130) | Some(75)), "{:?}", out.status);
    // Whatever was written under a checkpoint's name is complete.
    for entry in std::fs::read_dir(&work).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".safetensors") {
            support::tensors(&entry.path());
        }
    }
    if let Ok(last) = std::fs::read_to_string(work.join("last_checkpoint")) {
        support::tensors(Path::new(last.trim()));
    }
}

#[test]
fn a_second_trainer_in_the_same_work_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tiny_tsn(dir.path(), 30);
    let work = dir.path().join("shared");
    let mut first = train(&cfg, &work, false).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_iter(&work, 3, 30, &mut first);
    let out = train(&cfg, &work, false).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!(
        "error: --work-dir: {} is in use by another training run (tools/train, pid {} on ",
        work.display(),
        first.id()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    // SIGKILL: the OS drops the lock with the process; --resume then starts afresh (no
    // checkpoint was written yet) instead of failing on a stale lock.
    signal(&first, "KILL");
    first.wait().unwrap();
    let out = train(&cfg, &work, true).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(work.join("iter_30.safetensors").is_file());
}

/// Runs a 2-rank training, SIGSTOPs rank `frozen` at iteration 3 and returns the job's
/// output and how long it took to end after the freeze.
fn freeze_rank(frozen: usize) -> (String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tiny_tsn(dir.path(), 400);
    let work = dir.path().join("frozen");
    let mut c = Command::new(support::bin("launch"));
    c.args(["--nproc-per-node", "2", "--master-port", &support::free_port(), "--"])
        .arg(support::bin("train"))
        .arg(&cfg);
    c.args(["--work-dir", work.to_str().unwrap(), "--device", "cpu", "--launcher", "pytorch"]);
    c.args(["--cfg-options", "env_cfg.dist_cfg.heartbeat_timeout=5"]).env("OMP_NUM_THREADS", "1");
    // The output goes to a file: a pipe nobody reads would fill and stall the ranks.
    let out_path = dir.path().join("frozen.out");
    let out_file = std::fs::File::create(&out_path).unwrap();
    let mut child = c.stdout(out_file.try_clone().unwrap()).stderr(out_file).spawn().unwrap();
    wait_for_iter(&work, 3, 400, &mut child);
    let pid = support::process_with(&[work.to_str().unwrap(), "train"], &format!("RANK={frozen}"))
        .expect("the rank's process");
    let started = Instant::now();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    let took = started.elapsed();
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    assert!(!status.success());
    (std::fs::read_to_string(&out_path).unwrap(), took)
}

#[test]
fn a_frozen_rank_ends_the_job_within_the_heartbeat_timeout() {
    let (log, took) = freeze_rank(1);
    assert!(log.contains("rank 0/2: rank 1 on ") && log.contains(" stopped responding: no heartbeat for "), "{log}");
    assert!(log.contains("(limit 5 s); ending this rank"), "{log}");
    assert!(took < Duration::from_secs(40), "the job took {took:?} to end");
}

#[test]
fn a_frozen_rank_0_holding_the_store_ends_the_job_too() {
    let (log, took) = freeze_rank(0);
    assert!(
        log.contains("rank 1/2: the store on rank 0 on ") && log.contains(" stopped answering: no reply for "),
        "{log}"
    );
    assert!(log.contains("(limit 5 s); rank 0 is frozen or its machine hung; ending this rank"), "{log}");
    assert!(took < Duration::from_secs(40), "the job took {took:?} to end");
}

#[test]
fn an_unwritable_checkpoint_folder_fails_before_the_first_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tiny_tsn(dir.path(), 30);
    let work = dir.path().join("out_dir");
    let out = train(&cfg, &work, false)
        .args(["--cfg-options", "default_hooks.checkpoint.out_dir=/proc/kinema-nope"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: CheckpointHook: cannot create the checkpoint folder /proc/kinema-nope \
             (default_hooks.checkpoint.out_dir): "
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("Iter(train)"), "{stderr}");
}
