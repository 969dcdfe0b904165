//! Kinema's spine, free of libtorch so it builds and tests in seconds.
//!
//! * [`config`]: TOML configs with MMEngine's inheritance (`_base_`, `_delete_`),
//!   `--cfg-options` overrides and `${a.b}` references; every error names the file and
//!   the dotted key.
//! * [`registry`]: components (transforms, datasets, models, hooks, ...) register
//!   themselves by name with [`register!`] and are built from config tables by their
//!   `type` key.
//! * [`fs`]: what a path is when a regular file was expected (folder, pipe, link loop).
//! * [`rng`]: per-sample random generators derived from (seed, epoch, index).

pub mod config;
pub mod fs;
pub mod registry;
pub mod rng;

pub use config::{Config, ConfigError, KeyPath};
pub use registry::{BuildError, BuildSite, Built, Component, ComponentSpec, Kind};

#[doc(hidden)]
pub use inventory as __inventory;
