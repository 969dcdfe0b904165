//! What the runner does differently with several processes (MMEngine + DDP semantics):
//! one c10d group, the seed and timestamp from rank 0, parameters broadcast from rank 0,
//! gradients averaged every step, the contrastive loss's features gathered with
//! `GatherLayer` gradients, and evaluation results gathered without padding duplicates.

use std::sync::Arc;
use std::time::Duration;

use kinema_core::Config;
use kinema_models::recognizer::{FeatureGather, ModelError};
use kinema_torch::dist::{
    all_reduce_mean_bucketed, DistBackend, Heartbeat, ProcessGroup, ProcessGroupOptions, Watchdog,
};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use crate::evaluation::SampleResult;
use crate::runner::DistInfo;
use crate::EngineError;

/// PyTorch's default collective timeout for Gloo (30 minutes), which MMEngine keeps.
pub const DEFAULT_TIMEOUT_SECS: f64 = 1800.0;
/// PyTorch's default collective timeout for NCCL (10 minutes since PyTorch 2.2).
pub const DEFAULT_NCCL_TIMEOUT_SECS: f64 = 600.0;
/// How long joining may take by default (`env_cfg.dist_cfg.connect_timeout`).
pub const DEFAULT_CONNECT_TIMEOUT_SECS: f64 = 60.0;

/// How long another rank may stay silent by default (`env_cfg.dist_cfg.heartbeat_timeout`).
pub const DEFAULT_HEARTBEAT_TIMEOUT_SECS: f64 = 60.0;
/// DDP's default gradient bucket size.
pub const BUCKET_BYTES: usize = 25 * 1024 * 1024;

/// The process group of a multi-process run and its heartbeat.
pub struct DistRuntime {
    /// The c10d group.
    pub group: Arc<ProcessGroup>,
    _heartbeat: Heartbeat,
}

fn dist_err(e: kinema_torch::dist::DistError) -> EngineError {
    EngineError::dist("process group", e)
}

impl DistRuntime {
    /// Joins the group described by the launcher's `dist` and the config's
    /// `env_cfg.dist_cfg` (`backend`: "nccl" with CUDA, "gloo" on CPU by default;
    /// `timeout` in seconds, default PyTorch's: 600 for NCCL, 1800 for Gloo). `None` for
    /// a single process.
    pub fn init(dist: &DistInfo, device: Device, cfg: &Config) -> Result<Option<DistRuntime>, EngineError> {
        if dist.world_size <= 1 {
            return Ok(None);
        }
        let backend = DistBackend::choose(cfg.get("env_cfg.dist_cfg.backend").and_then(Value::as_str), device)
            .map_err(dist_err)?;
        let seconds = |key: &str, default: f64| match cfg.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().filter(|t| *t > 0.0).ok_or_else(|| {
                EngineError::setting(cfg, key, format!("expected a positive number of seconds, found {v}"))
            }),
        };
        let default_timeout =
            if backend == DistBackend::Nccl { DEFAULT_NCCL_TIMEOUT_SECS } else { DEFAULT_TIMEOUT_SECS };
        let timeout = seconds("env_cfg.dist_cfg.timeout", default_timeout)?;
        let connect = seconds("env_cfg.dist_cfg.connect_timeout", DEFAULT_CONNECT_TIMEOUT_SECS)?;
        let silent = seconds("env_cfg.dist_cfg.heartbeat_timeout", DEFAULT_HEARTBEAT_TIMEOUT_SECS)?;
        let at = format!("{}:{} (from {})", dist.master_addr, dist.master_port, dist.master_source);
        // A name that does not resolve would make every rank retry until the timeout.
        if let Err(e) = std::net::ToSocketAddrs::to_socket_addrs(&(dist.master_addr.as_str(), dist.master_port)) {
            return Err(EngineError::dist(
                format!("rank {}/{}: the master address {at} does not resolve", dist.rank, dist.world_size),
                e,
            ));
        }
        log::info!(
            "rank {}/{}: joining the {backend:?} process group at {at}, for at most {connect} s",
            dist.rank,
            dist.world_size
        );
        let opts = ProcessGroupOptions {
            backend,
            master_addr: dist.master_addr.clone(),
            master_port: dist.master_port,
            rank: dist.rank,
            world_size: dist.world_size,
            timeout: Duration::from_secs_f64(timeout),
            connect_timeout: Duration::from_secs_f64(connect),
        };
        let group = ProcessGroup::new(&opts).map_err(|e| {
            EngineError::dist(format!("rank {}/{}: joining the process group at {at}", dist.rank, dist.world_size), e)
        })?;
        let (rank, world_size) = (dist.rank, dist.world_size);
        let watchdog = Watchdog {
            silent_after: Duration::from_secs_f64(silent),
            on_silent: Box::new(move |message| {
                log::error!(
                    "rank {rank}/{world_size}: {message}; ending this rank (env_cfg.dist_cfg.heartbeat_timeout)"
                );
                log::logger().flush();
                // The main thread is blocked in a collective: leave without unwinding or
                // running libtorch's static destructors under it.
                // SAFETY: _exit ends the process at once; nothing runs after it.
                unsafe { libc::_exit(1) }
            }),
        };
        let heartbeat = group.start_heartbeat(Duration::from_secs(1), Some(watchdog)).map_err(dist_err)?;
        let hosts = gather_hosts(&group)?;
        log::info!("rank {}/{}: ranks by host: {}", dist.rank, dist.world_size, hosts.join(", "));
        group.set_rank_hosts(hosts);
        log::info!("rank {}/{}: joined the {backend:?} process group", dist.rank, dist.world_size);
        Ok(Some(DistRuntime { group: Arc::new(group), _heartbeat: heartbeat }))
    }
}

/// This process's node: Slurm's node name when under Slurm, else the host name.
pub fn node_name() -> String {
    std::env::var("SLURMD_NODENAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()))
        .unwrap_or_else(|| "?".into())
}

/// Every rank's [`node_name`], in rank order.
fn gather_hosts(group: &ProcessGroup) -> Result<Vec<String>, EngineError> {
    let mine = node_name();
    let parts = group.all_gather_uneven(&Tensor::from_slice(mine.as_bytes())).map_err(dist_err)?;
    parts.iter().map(|p| Ok(String::from_utf8_lossy(&Vec::<u8>::try_from(p)?).into_owned())).collect()
}

/// Rank 0's `value` on every rank.
pub fn broadcast_u64(group: &ProcessGroup, value: u64) -> Result<u64, EngineError> {
    let t = Tensor::from_slice(&[value as i64]);
    group.broadcast(&[&t], 0).map_err(dist_err)?;
    Ok(t.int64_value(&[0]) as u64)
}

/// Copies rank 0's parameters (and buffers) to every rank, as DDP does when it wraps a
/// model, so every rank starts from identical weights.
pub fn broadcast_parameters(group: &ProcessGroup, vs: &tch::nn::VarStore) -> Result<(), EngineError> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (_, t) in &vars {
            let c = t.contiguous();
            group.broadcast(&[&c], 0).map_err(dist_err)?;
            if c.data_ptr() != t.data_ptr() {
                t.shallow_clone().copy_(&c);
            }
        }
        Ok(())
    })
}

/// The optimizer's gradient hook: average gradients across ranks in 25 MB buckets.
pub fn gradient_sync(group: Arc<ProcessGroup>) -> kinema_optim::GradSync {
    Box::new(move |grads: &[Tensor]| all_reduce_mean_bucketed(&group, grads, BUCKET_BYTES).map_err(|e| e.to_string()))
}

/// Averages `buffers` across the ranks of `group`: floating-point ones in one bucket per
/// dtype, integer ones (counters) as MMEngine does (sum, true division, truncated back).
pub fn all_reduce_buffers(group: &ProcessGroup, buffers: &[Tensor]) -> Result<(), EngineError> {
    let err = |e: kinema_torch::dist::DistError| EngineError::dist("buffers", e);
    let (floats, ints): (Vec<Tensor>, Vec<Tensor>) =
        buffers.iter().map(Tensor::shallow_clone).partition(|t| t.is_floating_point());
    tch::no_grad(|| {
        all_reduce_mean_bucketed(group, &floats, usize::MAX).map_err(err)?;
        let as_float: Vec<Tensor> = ints.iter().map(|t| t.to_kind(Kind::Double)).collect();
        all_reduce_mean_bucketed(group, &as_float, usize::MAX).map_err(err)?;
        for (t, f) in ints.iter().zip(&as_float) {
            t.shallow_clone().f_copy_(f).map_err(EngineError::Torch)?;
        }
        Ok(())
    })
}

/// Every rank's evaluation results, in rank order (the evaluator then sorts by dataset
/// index and drops the sampler's padding duplicates).
pub fn gather_results(group: &ProcessGroup, mine: &[SampleResult]) -> Result<Vec<SampleResult>, EngineError> {
    let bytes = serde_json::to_vec(mine).map_err(|e| EngineError::dist("results", e))?;
    let parts = group.all_gather_uneven(&Tensor::from_slice(&bytes)).map_err(dist_err)?;
    let mut all = Vec::new();
    for (rank, part) in parts.iter().enumerate() {
        let raw = Vec::<u8>::try_from(part).map_err(EngineError::Torch)?;
        let results: Vec<SampleResult> = serde_json::from_slice(&raw)
            .map_err(|e| EngineError::dist(format!("results gathered from rank {rank}"), e))?;
        all.extend(results);
    }
    Ok(all)
}

/// Rank 0's JSON `value` on every rank.
pub fn broadcast_json(group: &ProcessGroup, value: &Value) -> Result<Value, EngineError> {
    let bytes = if group.rank() == 0 { serde_json::to_vec(value).unwrap_or_default() } else { Vec::new() };
    let len = broadcast_u64(group, bytes.len() as u64)? as i64;
    let buf =
        if group.rank() == 0 { Tensor::from_slice(&bytes) } else { Tensor::zeros([len], (Kind::Uint8, Device::Cpu)) };
    group.broadcast(&[&buf], 0).map_err(dist_err)?;
    let raw = Vec::<u8>::try_from(&buf).map_err(EngineError::Torch)?;
    serde_json::from_slice(&raw).map_err(|e| EngineError::dist("broadcast from rank 0", e))
}

/// MMAction2's `GatherLayer`: features of every rank concatenated in rank order; the
/// gradient reaching this rank's features is only the gradient of its own slice.
pub struct GatherLayer {
    group: Arc<ProcessGroup>,
}

impl GatherLayer {
    /// Gathers over `group`.
    pub fn new(group: Arc<ProcessGroup>) -> GatherLayer {
        GatherLayer { group }
    }
}

impl FeatureGather for GatherLayer {
    fn all_gather_with_grad(&self, t: &Tensor) -> Result<Tensor, ModelError> {
        let detached = t.detach().contiguous();
        let mut parts =
            self.group.all_gather_uneven(&detached).map_err(|e| ModelError::part("feature all-gather", e))?;
        // This rank's slice is the live tensor, so backward reaches only it.
        parts[self.group.rank()] = t.shallow_clone();
        Tensor::f_cat(&parts, 0).map_err(|source| ModelError::Torch { module: "feature all-gather".into(), source })
    }
    fn world_size(&self) -> usize {
        self.group.world_size()
    }
    fn rank(&self) -> usize {
        self.group.rank()
    }
}
