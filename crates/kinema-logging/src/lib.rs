//! Run logs without libtorch, laid out and formatted like MMEngine's so MMAction2 users find
//! what they expect:
//!
//! - [`MessageHub`] keeps scalar histories; [`LogProcessor`] turns them into
//!   `Epoch(train)  [1][ 20/270]  base_lr: ... loss: ...` lines (windowed means, ETA from
//!   [`IterTimer`]) and the [`ScalarDict`] sent to the [`Visualizer`].
//! - [`init_logger`] installs a `log` backend writing stderr and
//!   `work_dir/<timestamp>/<timestamp>.log` ([`RunPaths`]).
//! - [`LocalVisBackend`] appends `vis_data/scalars.json` lines; [`TensorboardVisBackend`]
//!   writes TensorBoard event files ([`tensorboard`]).
//! - [`Progress`] shows a bar on a terminal and periodic lines otherwise.
//! - [`plot`] draws curves from scalars.json (`tools/analyze_logs plot_curve`).
//!
//! One logged train iteration, as MMEngine's hooks do it:
//!
//! ```
//! use kinema_logging::*;
//!
//! # fn main() -> Result<()> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let paths = RunPaths::new(dir.path(), "20240131_235959");
//! paths.create_dirs()?;
//! let mut vis = Visualizer::new()
//!     .with_backend(LocalVisBackend::new(paths.vis_dir()).with_json_log(paths.json_log_name()))
//!     .with_backend(TensorboardVisBackend::new(paths.vis_dir()));
//! let processor = LogProcessor::new(LogProcessorConfig { window_size: 20, ..Default::default() })?;
//! let mut hub = MessageHub::new();
//! let mut timer = IterTimer::new();
//! timer.before_train(0);
//! timer.before_epoch();
//! // before_train_iter: lr of the first param group, then data_time
//! hub.update_scalar("train/lr", 1e-5);
//! timer.before_iter(&mut hub, Mode::Train);
//! // after_train_iter: the loss dict, then time and the ETA
//! hub.update_scalar("train/loss", 2.5);
//! let eta = timer.after_train_iter(&mut hub, 0, 100);
//! let state = LoopState {
//!     batch_idx: 0,
//!     dataloader_len: 50,
//!     epoch: 0,
//!     iter: 0,
//!     max_epochs: Some(2),
//!     max_iters: 100,
//!     eta_secs: Some(eta),
//!     memory_mb: None,
//! };
//! let out = processor.after_iter(&hub, Mode::Train, &state);
//! assert!(out.line.starts_with("Epoch(train) [1][ 1/50]  lr: 1.0000e-05  eta: "));
//! log::info!("{}", out.line);
//! vis.add_scalars(&out.tag, state.iter as u64 + 1)?;
//! vis.close()?;
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod history;
pub mod iter_timer;
pub mod json_lines;
pub mod log_processor;
pub mod logger;
pub mod message_hub;
pub mod plot;
pub mod progress;
pub mod pyfmt;
pub mod run_paths;
pub mod scalars;
pub mod tensorboard;
pub mod vis;

pub use error::{LoggingError, Result};
pub use history::HistoryBuffer;
pub use iter_timer::IterTimer;
pub use log_processor::{LogOutput, LogProcessor, LogProcessorConfig, LoopState, Mode};
pub use logger::{attach_log_file, global_logger, init_console, init_logger, parse_log_level, KinemaLogger};
pub use message_hub::MessageHub;
pub use progress::Progress;
pub use run_paths::{timestamp_now, RunPaths};
pub use scalars::{Scalar, ScalarDict};
pub use vis::{write_test_metrics, LocalVisBackend, TensorboardVisBackend, VisBackend, Visualizer};
