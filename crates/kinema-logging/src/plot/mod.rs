//! Curves from JSON scalar logs (`tools/analyze_logs`): loading and PNG plotting.

mod curve;
mod json_log;

pub use curve::{plot_curves, PlotOptions, BACKGROUND};
pub use json_log::{Curve, JsonLog, TrainTimeStats, XAxis};
