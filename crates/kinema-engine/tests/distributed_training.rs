//! Two processes (this test binary started twice, Gloo over 127.0.0.1) against one:
//! averaged gradients make 2 ranks x batch B train exactly like 1 process on 2B, every
//! rank holds the same weights, and distributed evaluation equals a single process
//! with no padding duplicates.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kinema_engine::dist::LaunchEnv;
use kinema_engine::runner::{RunOptions, Runner};

const B: usize = 3;
const N_TRAIN: usize = 24;
const N_VAL: usize = 11; // odd: the distributed sampler pads one duplicate

/// Test hook: the process of rank `rank` exits abruptly after iteration `iter`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExitAtIterConfig {
    rank: usize,
    iter: u64,
}
struct ExitAtIter(ExitAtIterConfig);
impl kinema_core::Component<kinema_engine::HookKind> for ExitAtIter {
    type Config = ExitAtIterConfig;
    fn build(
        c: &ExitAtIterConfig,
        _: &(),
        _: &kinema_core::registry::BuildSite<'_>,
    ) -> Result<Box<dyn kinema_engine::Hook>, kinema_core::registry::BoxError> {
        Ok(Box::new(ExitAtIter(c.clone())))
    }
}
kinema_core::register!(kinema_engine::HookKind, "ExitAtIterHook", ExitAtIter);
impl kinema_engine::Hook for ExitAtIter {
    fn name(&self) -> &str {
        "ExitAtIterHook"
    }
    fn after_train_iter(
        &mut self,
        runner: &mut Runner,
        _: usize,
        _: &kinema_data::Batch,
        _: &kinema_engine::hooks::TrainStepOutput,
    ) -> Result<(), kinema_engine::EngineError> {
        if runner.env.rank == self.0.rank && runner.progress.iter == self.0.iter {
            std::process::exit(7);
        }
        Ok(())
    }
}

fn config(dir: &Path, batch: usize) -> kinema_core::Config {
    let mut cfg = common::probe_config(dir, N_TRAIN, N_VAL, "");
    cfg.apply_overrides(&[
        format!("train_dataloader.batch_size={batch}"),
        "train_dataloader.sampler.shuffle=False".into(),
        "train_cfg.max_epochs=2".into(),
        "train_cfg.val_interval=2".into(),
        "env_cfg.dist_cfg.timeout=60".into(),
        "optim_wrapper.optimizer.momentum=0.0".into(),
    ])
    .unwrap();
    cfg
}

/// The worker body: run when started by `spawn_ranks` (ignored in a normal test run).
#[test]
#[ignore = "started as a subprocess by two_ranks_train_like_one_process_on_double_batch"]
fn dist_worker() {
    let Ok(dir) = std::env::var("KINEMA_TEST_DIR") else { return };
    let dir = Path::new(&dir);
    let dist = LaunchEnv::from_process_env().pytorch(None).unwrap();
    let rank = dist.rank;
    let mut cfg = config(dir, B);
    let extra: Vec<String> = std::env::var("KINEMA_TEST_OVERRIDES")
        .map(|v| v.split(' ').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default();
    cfg.apply_overrides(&extra).unwrap();
    if let Ok(spec) = std::env::var("KINEMA_TEST_EXIT_AT") {
        let (r, i) = spec.split_once(':').unwrap();
        let hook = serde_json::json!([{ "type": "ExitAtIterHook", "rank": r.parse::<usize>().unwrap(), "iter": i.parse::<u64>().unwrap() }]);
        cfg.set("custom_hooks", hook).unwrap();
    }
    let resume = if std::env::var("KINEMA_TEST_RESUME").is_ok() {
        kinema_engine::runner::Resume::Auto
    } else {
        kinema_engine::runner::Resume::No
    };
    let options = RunOptions {
        config_path: dir.join("probe.toml"),
        device: Some("cpu".into()),
        dist,
        resume,
        work_dir: Some(dir.join("work_dist")),
        ..RunOptions::default()
    };
    let mut runner = Runner::from_config(cfg, options).unwrap();
    if let Err(e) = runner.train() {
        eprintln!("TRAIN FAILED: {e}");
        std::process::exit(3);
    }
    let metrics = runner.val().unwrap();
    let out =
        serde_json::json!({ "weights": common::weights(&runner), "metrics": metrics, "iter": runner.progress.iter });
    std::fs::write(dir.join(format!("rank{rank}.json")), out.to_string()).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One multi-rank run at a time in this test binary: two tests' runs at once could draw the
/// same free port between `free_port` and the store's bind, and would slow each other's
/// rendezvous on 2 cores.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Starts `world` workers and returns their exit statuses and stderr texts.
fn run_ranks(dir: &Path, world: usize, env: &[(&str, &str)]) -> Vec<(std::process::ExitStatus, String)> {
    let _one = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let port = free_port().to_string();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..world)
        .map(|rank| {
            Command::new(&exe)
                .envs(env.iter().copied())
                .stderr(std::process::Stdio::piped())
                .args(["--ignored", "--exact", "dist_worker", "--nocapture", "--test-threads=1"])
                .env("KINEMA_TEST_DIR", dir)
                .env("RANK", rank.to_string())
                .env("LOCAL_RANK", rank.to_string())
                .env("WORLD_SIZE", world.to_string())
                .env("MASTER_ADDR", "127.0.0.1")
                .env("MASTER_PORT", &port)
                .env("OMP_NUM_THREADS", "1")
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|mut child| {
            let mut stderr = child.stderr.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
                text
            });
            let status = wait_with_timeout(&mut child, Duration::from_secs(240));
            (status, reader.join().unwrap())
        })
        .collect()
}

fn spawn_ranks(dir: &Path, world: usize, env: &[(&str, &str)]) {
    let ranks = run_ranks(dir, world, env);
    if ranks.iter().any(|(status, _)| !status.success()) {
        // Every rank's output: the first to fail is not always the one that says why.
        let report: Vec<String> = ranks
            .iter()
            .enumerate()
            .map(|(rank, (status, stderr))| format!("rank {rank}: {status:?}\n{stderr}"))
            .collect();
        panic!("a rank failed:\n{}", report.join("\n"));
    }
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("worker did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_ranks_train_like_one_process_on_double_batch() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), B); // writes the lists
    spawn_ranks(dir.path(), 2, &[]);
    let read = |r: usize| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(format!("rank{r}.json"))).unwrap()).unwrap()
    };
    let (r0, r1) = (read(0), read(1));
    assert_eq!(r0["weights"], r1["weights"], "ranks hold different weights");
    assert_eq!(r0["iter"], 2 * (N_TRAIN / (2 * B)) as u64);

    // One process, batch 2B, same samples per step.
    let single_dir = tempfile::tempdir().unwrap();
    let cfg = config(single_dir.path(), 2 * B);
    let options = RunOptions {
        config_path: single_dir.path().join("probe.toml"),
        device: Some("cpu".into()),
        ..RunOptions::default()
    };
    let mut single = Runner::from_config(cfg, options).unwrap();
    single.train().unwrap();
    let metrics = single.val().unwrap();
    let w_single = common::weights(&single);
    let w_dist: Vec<(String, Vec<f32>)> = serde_json::from_value(r0["weights"].clone()).unwrap();
    assert_eq!(w_single.len(), w_dist.len());
    for ((n1, a), (n2, b)) in w_single.iter().zip(&w_dist) {
        assert_eq!(n1, n2);
        let max = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(max <= 1e-6, "{n1}: max difference {max}");
    }
    // Distributed validation: same metrics, and the evaluator saw each sample once.
    let m_dist: indexmap::IndexMap<String, f64> = serde_json::from_value(r0["metrics"].clone()).unwrap();
    assert_eq!(m_dist, metrics);
    assert_eq!(r1["metrics"], r0["metrics"]);
}

#[test]
fn a_killed_rank_stops_the_others_with_its_name() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), B);
    let start = std::time::Instant::now();
    let out = run_ranks(
        dir.path(),
        2,
        &[("KINEMA_TEST_EXIT_AT", "1:2"), ("KINEMA_TEST_OVERRIDES", "env_cfg.dist_cfg.timeout=20")],
    );
    assert_eq!(out[1].0.code(), Some(7), "rank 1 should have exited: {}", out[1].1);
    assert_eq!(out[0].0.code(), Some(3), "rank 0 must fail, not hang: {}", out[0].1);
    assert!(out[0].1.contains("stopped responding: rank 1"), "{}", out[0].1);
    assert!(start.elapsed() < Duration::from_secs(120));
}

#[test]
fn a_two_rank_run_resumes_bit_identically() {
    let _serial = common::serial();
    let straight = tempfile::tempdir().unwrap();
    config(straight.path(), B);
    spawn_ranks(straight.path(), 2, &[]);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), B);
    spawn_ranks(dir.path(), 2, &[("KINEMA_TEST_OVERRIDES", "train_cfg.max_epochs=1")]);
    spawn_ranks(dir.path(), 2, &[("KINEMA_TEST_RESUME", "1")]);
    let read = |d: &Path, r: usize| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(format!("rank{r}.json"))).unwrap()).unwrap()
    };
    for r in 0..2 {
        assert_eq!(read(dir.path(), r)["weights"], read(straight.path(), r)["weights"], "rank {r}");
        assert_eq!(read(dir.path(), r)["iter"], read(straight.path(), r)["iter"]);
    }
}
