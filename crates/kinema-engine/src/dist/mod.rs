//! Multi-process runs: reading what a launcher (`torchrun`/`tools/launch`, `srun`) put in
//! the environment.

mod hostlist;
mod launch_env;

pub use hostlist::{expand_hostlist, HostlistError};
pub use launch_env::LaunchEnv;
