//! Curves from JSON scalar logs (`tools/analyze_logs`): loading and PNG plotting; the
//! confusion matrix of a test run; a long video's timeline; labels drawn on frames.

mod annotate;
mod confusion;
mod curve;
mod json_log;
mod timeline;

pub use annotate::annotate_frame;

pub use confusion::ConfusionMatrix;
pub use curve::{plot_curves, run_name, PlotOptions, TickFormat, BACKGROUND};
pub use json_log::{Curve, JsonLog, TrainTimeStats, XAxis};
pub use timeline::{leading_labels, plot_timeline, TimelinePlot};
