//! Curves from JSON scalar logs (`tools/analyze_logs`): loading and PNG plotting; the
//! confusion matrix of a test run.

mod confusion;
mod curve;
mod json_log;

pub use confusion::ConfusionMatrix;
pub use curve::{plot_curves, run_name, PlotOptions, TickFormat, BACKGROUND};
pub use json_log::{Curve, JsonLog, TrainTimeStats, XAxis};
