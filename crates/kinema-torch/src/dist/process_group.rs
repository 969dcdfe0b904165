//! The [`ProcessGroup`] wrapper.

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tch::{Device, Tensor};

use super::heartbeat::{diagnose, Heartbeat, StoreConn, Watch, Watchdog};
use crate::bridge;

/// Which c10d backend runs the collectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistBackend {
    /// Gloo: CPU tensors.
    Gloo,
    /// NCCL: CUDA tensors (needs the CUDA build).
    Nccl,
}

impl DistBackend {
    /// Parses `env_cfg.dist_cfg.backend`; `None` picks NCCL for CUDA, Gloo for CPU.
    pub fn choose(name: Option<&str>, device: Device) -> Result<DistBackend, DistError> {
        match name {
            None => Ok(if device.is_cuda() { DistBackend::Nccl } else { DistBackend::Gloo }),
            Some("gloo") => Ok(DistBackend::Gloo),
            Some("nccl") => Ok(DistBackend::Nccl),
            Some(other) => {
                Err(DistError::Setup(format!("env_cfg.dist_cfg.backend = \"{other}\": expected \"gloo\" or \"nccl\"")))
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            DistBackend::Gloo => "gloo",
            DistBackend::Nccl => "nccl",
        }
    }
}

/// Reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// Errors of distributed set-up and collectives. Messages say which rank saw the
/// failure, what it was doing and libtorch's reason (timeouts included).
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// Creating the process group failed (rendezvous timed out, port in use, ...).
    #[error("{0}")]
    Setup(String),
    /// A collective failed on this rank.
    #[error("rank {rank}/{world_size}: {op} failed: {message}")]
    Collective {
        /// This process's rank.
        rank: usize,
        /// The number of processes.
        world_size: usize,
        /// The operation.
        op: &'static str,
        /// libtorch's message.
        message: String,
    },
    /// The inputs are unusable (wrong device, shapes differ).
    #[error("rank {rank}: {op}: {message}")]
    Input {
        /// This process's rank.
        rank: usize,
        /// The operation.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// How to join a process group.
#[derive(Debug, Clone)]
pub struct ProcessGroupOptions {
    /// Gloo or NCCL.
    pub backend: DistBackend,
    /// Rank 0's host (runs the TCPStore).
    pub master_addr: String,
    /// The TCPStore port.
    pub master_port: u16,
    /// This process's rank.
    pub rank: usize,
    /// The number of processes.
    pub world_size: usize,
    /// How long each collective may take.
    pub timeout: Duration,
    /// How long joining may take: reaching rank 0's store and meeting every other rank.
    pub connect_timeout: Duration,
}

/// A c10d process group. Collectives are blocking and in place where the name says so.
pub struct ProcessGroup {
    ptr: NonNull<c_void>,
    rank: usize,
    world_size: usize,
    /// A store connection for diagnosing failures, and how old a heartbeat may be.
    watch: Mutex<Option<(StoreConn, Duration)>>,
    /// Each rank's host, for messages (empty until [`ProcessGroup::set_rank_hosts`]).
    hosts: Arc<Mutex<Vec<String>>>,
}

// SAFETY: c10d backends may be used from any thread; Kinema issues collectives from one
// thread at a time (the training loop).
unsafe impl Send for ProcessGroup {}
// SAFETY: see above; every method takes `&self` and the C++ side serialises work.
unsafe impl Sync for ProcessGroup {}

impl ProcessGroup {
    /// Joins (rank 0: creates) the process group described by `opts`.
    pub fn new(opts: &ProcessGroupOptions) -> Result<ProcessGroup, DistError> {
        Self::create(opts, false)
    }

    /// A group of threads in THIS process sharing an in-memory store selected by
    /// `opts.master_port` (for unit tests of code that uses collectives).
    pub fn new_in_process(opts: &ProcessGroupOptions) -> Result<ProcessGroup, DistError> {
        Self::create(opts, true)
    }

    fn create(opts: &ProcessGroupOptions, in_process: bool) -> Result<ProcessGroup, DistError> {
        let what = format!(
            "rank {}/{}: cannot join the {} process group at {}:{}",
            opts.rank,
            opts.world_size,
            opts.backend.name(),
            opts.master_addr,
            opts.master_port
        );
        if opts.world_size == 0 || opts.rank >= opts.world_size {
            return Err(DistError::Setup(format!("{what}: rank must be below the world size")));
        }
        let backend = CString::new(opts.backend.name()).expect("static name");
        let addr =
            CString::new(opts.master_addr.clone()).map_err(|_| DistError::Setup(format!("{what}: bad address")))?;
        let mut ptr = std::ptr::null_mut();
        let timeout_ms = opts.timeout.as_millis().min(i64::MAX as u128) as i64;
        let connect_timeout_ms = opts.connect_timeout.as_millis().min(i64::MAX as u128) as i64;
        bridge::call(|e, n| {
            // SAFETY: all pointers are valid for the call; the bridge copies the strings.
            ptr = unsafe {
                bridge::kinema_pg_new(
                    backend.as_ptr(),
                    addr.as_ptr(),
                    opts.master_port as i32,
                    opts.rank as i32,
                    opts.world_size as i32,
                    timeout_ms,
                    connect_timeout_ms,
                    in_process as i32,
                    e,
                    n,
                )
            };
            if ptr.is_null() {
                1
            } else {
                0
            }
        })
        .map_err(|m| DistError::Setup(format!("{what}: {m}")))?;
        let ptr = NonNull::new(ptr).ok_or_else(|| DistError::Setup(format!("{what}: no handle")))?;
        Ok(ProcessGroup {
            ptr,
            rank: opts.rank,
            world_size: opts.world_size,
            watch: Mutex::new(None),
            hosts: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn world_size(&self) -> usize {
        self.world_size
    }

    /// Starts this rank's heartbeat (every `interval`) and lets failed collectives name
    /// the ranks whose heartbeat is older than three intervals; with a `watchdog`, the
    /// heartbeat thread also reports another rank that stays silent too long. Keep the
    /// returned handle alive for as long as the group is used.
    pub fn start_heartbeat(&self, interval: Duration, watchdog: Option<Watchdog>) -> Result<Heartbeat, DistError> {
        let setup = |m: String| DistError::Setup(format!("rank {}: heartbeat: {m}", self.rank));
        let beat = StoreConn::open(self.ptr.as_ptr()).map_err(setup)?;
        let watch = StoreConn::open(self.ptr.as_ptr()).map_err(setup)?;
        if let Ok(mut w) = self.watch.lock() {
            *w = Some((watch, interval * 3));
        }
        let watch = watchdog.map(|watchdog| Watch::new(self.world_size, Arc::clone(&self.hosts), watchdog));
        Ok(Heartbeat::start(beat, self.rank, interval, watch))
    }

    /// Names each rank's host (node) in the messages of failed collectives.
    pub fn set_rank_hosts(&self, hosts: Vec<String>) {
        if let Ok(mut h) = self.hosts.lock() {
            *h = hosts;
        }
    }

    fn fail(&self, op: &'static str) -> impl Fn(String) -> DistError + '_ {
        move |message| {
            let hosts = self.hosts.lock().map(|h| h.clone()).unwrap_or_default();
            let diagnosis = match self.watch.lock().ok().as_deref() {
                Some(Some((conn, stale))) => {
                    format!(" ({})", diagnose(conn, &hosts, self.world_size, self.rank, *stale))
                }
                _ => String::new(),
            };
            DistError::Collective { rank: self.rank, world_size: self.world_size, op, message: message + &diagnosis }
        }
    }

    fn contiguous_check(&self, op: &'static str, tensors: &[&Tensor]) -> Result<(), DistError> {
        for t in tensors {
            if !t.is_contiguous() {
                return Err(DistError::Input { rank: self.rank, op, message: "tensors must be contiguous".into() });
            }
        }
        Ok(())
    }

    /// Reduces `tensors` across ranks, in place.
    pub fn all_reduce(&self, tensors: &[&Tensor], op: ReduceOp) -> Result<(), DistError> {
        self.contiguous_check("all_reduce", tensors)?;
        let mut ptrs: Vec<*mut c_void> = tensors.iter().map(|t| t.as_ptr() as *mut c_void).collect();
        let code = match op {
            ReduceOp::Sum => 0,
            ReduceOp::Max => 2,
            ReduceOp::Min => 3,
        };
        bridge::call(|e, n| unsafe {
            // SAFETY: the tensors outlive the blocking call.
            bridge::kinema_pg_allreduce(self.ptr.as_ptr(), ptrs.as_mut_ptr(), ptrs.len() as i32, code, e, n)
        })
        .map_err(self.fail("all_reduce"))
    }

    /// Averages `tensors` across ranks, in place (sum, then divide: Gloo has no AVG).
    pub fn all_reduce_mean(&self, tensors: &[&Tensor]) -> Result<(), DistError> {
        self.all_reduce(tensors, ReduceOp::Sum)?;
        for t in tensors {
            let mut t = t.shallow_clone();
            let _ = t.f_div_scalar_(self.world_size as f64).map_err(|e| self.fail("all_reduce")(e.to_string()))?;
        }
        Ok(())
    }

    /// Copies `tensors` from rank `root` to every rank, in place.
    pub fn broadcast(&self, tensors: &[&Tensor], root: usize) -> Result<(), DistError> {
        self.contiguous_check("broadcast", tensors)?;
        let mut ptrs: Vec<*mut c_void> = tensors.iter().map(|t| t.as_ptr() as *mut c_void).collect();
        bridge::call(|e, n| unsafe {
            // SAFETY: the tensors outlive the blocking call.
            bridge::kinema_pg_broadcast(self.ptr.as_ptr(), ptrs.as_mut_ptr(), ptrs.len() as i32, root as i32, e, n)
        })
        .map_err(self.fail("broadcast"))
    }

    /// Gathers `t` (same shape on every rank) from every rank, in rank order.
    pub fn all_gather(&self, t: &Tensor) -> Result<Vec<Tensor>, DistError> {
        let input = t.f_contiguous().map_err(|e| self.fail("all_gather")(e.to_string()))?;
        let outputs: Vec<Tensor> = (0..self.world_size).map(|_| input.empty_like()).collect();
        let mut ptrs: Vec<*mut c_void> = outputs.iter().map(|o| o.as_ptr() as *mut c_void).collect();
        bridge::call(|e, n| unsafe {
            // SAFETY: input and outputs outlive the blocking call.
            bridge::kinema_pg_allgather(
                self.ptr.as_ptr(),
                input.as_ptr() as *mut c_void,
                ptrs.as_mut_ptr(),
                self.world_size as i32,
                e,
                n,
            )
        })
        .map_err(self.fail("all_gather"))?;
        Ok(outputs)
    }

    /// Gathers tensors whose first dimension may differ between ranks (other dimensions
    /// must agree): sizes are exchanged first, tensors padded to the largest, then trimmed.
    pub fn all_gather_uneven(&self, t: &Tensor) -> Result<Vec<Tensor>, DistError> {
        let err = self.fail("all_gather");
        let len = t.size().first().copied().unwrap_or(0);
        let size = Tensor::from_slice(&[len]).to_device(t.device());
        let sizes: Vec<i64> = self
            .all_gather(&size)?
            .iter()
            .map(|s| s.f_int64_value(&[0]).map_err(|e| err(e.to_string())))
            .collect::<Result<_, _>>()?;
        let max = sizes.iter().copied().max().unwrap_or(0);
        let padded = if len < max {
            let mut shape = t.size();
            shape[0] = max - len;
            let pad = Tensor::zeros(shape.as_slice(), (t.kind(), t.device()));
            Tensor::f_cat(&[t, &pad], 0).map_err(|e| err(e.to_string()))?
        } else {
            t.shallow_clone()
        };
        let gathered = self.all_gather(&padded)?;
        gathered.into_iter().zip(sizes).map(|(g, n)| g.f_narrow(0, 0, n).map_err(|e| err(e.to_string()))).collect()
    }

    /// Waits until every rank arrives.
    pub fn barrier(&self) -> Result<(), DistError> {
        bridge::call(|e, n| unsafe {
            // SAFETY: the handle is valid while `self` lives.
            bridge::kinema_pg_barrier(self.ptr.as_ptr(), e, n)
        })
        .map_err(self.fail("barrier"))
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: the handle came from kinema_pg_new and is freed once.
        unsafe { bridge::kinema_pg_free(self.ptr.as_ptr()) }
    }
}
