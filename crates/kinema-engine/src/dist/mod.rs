//! Multi-process runs: reading what a launcher (`torchrun`/`tools/launch`, `srun`) put in
//! the environment, and what the runner does with several processes.

mod hostlist;
mod launch_env;
mod runtime;

pub use hostlist::{expand_hostlist, HostlistError};
pub use launch_env::LaunchEnv;
pub use runtime::{
    all_reduce_buffers, broadcast_json, broadcast_parameters, broadcast_u64, gather_results, gradient_sync,
    DistRuntime, GatherLayer, BUCKET_BYTES, DEFAULT_NCCL_TIMEOUT_SECS, DEFAULT_TIMEOUT_SECS,
};
