//! Multi-process collectives on libtorch's own c10d (TCPStore rendezvous; Gloo on CPU,
//! NCCL on CUDA) through the C++ bridge. No home-made collectives: every operation is a
//! c10d call, and every failure or timeout comes back as a [`DistError`].

mod gradients;
mod heartbeat;
mod process_group;

pub use gradients::all_reduce_mean_bucketed;
pub use heartbeat::{Heartbeat, Watchdog};
pub use process_group::{DistBackend, DistError, ProcessGroup, ProcessGroupOptions, ReduceOp};
