//! Kinema's command-line tools as a library.
//!
//! Each module is one tool with a `main()` that parses the process arguments, runs, and
//! returns the exit code. A binary links the component crates it wants, then calls the
//! tool: Kinema's stock `tools/*` binaries link the in-tree projects; a user's crate gets
//! the same tools over its own components with binaries of three lines:
//!
//! ```ignore
//! use my_components as _; // keeps the crate's registrations in the binary
//!
//! fn main() -> std::process::ExitCode {
//!     kinema_cli::train::main()
//! }
//! ```
//!
//! Nothing here knows any model family: models reach the tools through the registry
//! (building), [`kinema_models::resolve`] (checkpoints) and [`kinema_models::flags`]
//! (their own command-line flags).

pub mod analyze_logs;
pub mod args;
pub mod check_videos;
pub mod convert_checkpoint;
pub mod extract_features;
pub mod infer;
pub mod inspect_pipeline;
pub mod list_registry;
pub mod make_synthetic_dataset;
pub mod print_config;
pub mod report;
pub mod test;
pub mod train;

pub use args::{CfgOptions, Launcher, ProcessArgs};
pub use report::{init_console_logging, run_main};
