//! Kinema's multi-process launcher, the Rust counterpart of `torchrun` used by
//! `tools/launch` and `tools/dist_train.sh`.
//!
//! [`LaunchSpec`] describes the local processes of one node (how many, this node's rank, the
//! rendezvous address) and the environment each one gets; [`run`] starts them, forwards
//! SIGINT/SIGTERM/SIGHUP/SIGQUIT received by the launcher (once [`signals::install`] has
//! been called), and stops every process as soon as one fails. The [`Outcome`] says which
//! rank failed first and what the launcher should exit with.

mod output;
pub mod signals;
mod spec;
mod status;
mod supervise;

pub use spec::{LaunchSpec, DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT};
pub use status::{describe_signal, signal_name, ChildEnd};
pub use supervise::{run, Failure, FailureKind, Outcome};
