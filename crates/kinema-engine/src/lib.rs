//! The runner: everything that turns registered components into an experiment.
//!
//! [`Runner`](runner::Runner) reads the config's MMEngine keys (`model`, `train_dataloader`,
//! `train_cfg`, `optim_wrapper`, `param_scheduler`, `val_*`, `test_*`, `default_hooks`,
//! `custom_hooks`, `work_dir`, `load_from`, `resume`, `randomness`, `env_cfg`,
//! `log_level`, `vis_backends`), builds each part through the registry and runs the
//! loops. Hooks ([`hooks`]) do the logging, LR scheduling, timing and checkpointing.

pub mod checkpoint;
pub mod dist;
mod error;
pub mod evaluation;
pub mod hooks;
pub mod loops;
pub mod runner;
pub mod vis;

pub use error::EngineError;
pub use hooks::{Hook, HookKind, Metrics, Priority};
pub use runner::{RunOptions, Runner};
