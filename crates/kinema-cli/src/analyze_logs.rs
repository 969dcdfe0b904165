//! `tools/analyze_logs plot_curve|cal_train_time JSON_LOGS...`: MMAction2's
//! `analyze_logs.py` for a run's `vis_data/scalars.json` (or `<timestamp>.json`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::run_main;
use anyhow::Context;
use clap::{Parser, Subcommand};
use kinema_logging::plot::{plot_curves, JsonLog, PlotOptions};

/// Analyze JSON scalar logs: plot curves or compute the mean iteration time.
#[derive(Parser)]
#[command(name = "analyze_logs", version)]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Plot keys against iteration (train keys) or epoch (val metrics), one panel per key.
    #[command(name = "plot_curve")]
    PlotCurve {
        /// JSON-lines scalar logs (`work_dir/<timestamp>/vis_data/scalars.json`).
        #[arg(required = true)]
        json_logs: Vec<PathBuf>,
        /// Keys to plot (`loss`, `lr`, `acc/top1`, ...).
        #[arg(long, num_args = 1.., default_values_t = ["acc/top1".to_string()])]
        keys: Vec<String>,
        /// One label per log and key (logs outer); default `<log>_<key>`.
        #[arg(long, num_args = 1..)]
        legend: Option<Vec<String>>,
        /// Figure title.
        #[arg(long)]
        title: Option<String>,
        /// Output PNG file.
        #[arg(long)]
        out: PathBuf,
        /// Image width in pixels.
        #[arg(long, default_value_t = 1280)]
        width: u32,
        /// Image height in pixels.
        #[arg(long, default_value_t = 720)]
        height: u32,
    },
    /// Mean train iteration time per epoch, slowest and fastest epochs.
    #[command(name = "cal_train_time")]
    CalTrainTime {
        /// JSON-lines scalar logs.
        #[arg(required = true)]
        json_logs: Vec<PathBuf>,
        /// Include the first logged time of every epoch (start-up costs).
        #[arg(long)]
        include_outliers: bool,
    },
}

fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<JsonLog>> {
    paths.iter().map(|p| JsonLog::load(p).with_context(|| format!("loading {}", p.display()))).collect()
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| match args.task {
        Task::PlotCurve { json_logs, keys, legend, title, out, width, height } => {
            let logs = load(&json_logs)?;
            for log in &logs {
                println!("plot curve of {}, metrics are {}", log.path().display(), keys.join(", "));
            }
            let options = PlotOptions { keys, legend, title, width, height };
            plot_curves(&logs, &options, &out)?;
            println!("save curve to: {}", out.display());
            Ok(())
        }
        Task::CalTrainTime { json_logs, include_outliers } => {
            for log in load(&json_logs)? {
                println!("-----Analyze train time of {}-----", log.path().display());
                let stats = log.train_time(include_outliers).with_context(|| {
                    format!("{} has no train entries with `epoch` and `time`", log.path().display())
                })?;
                let by_time = |a: &&(i64, f64), b: &&(i64, f64)| a.1.total_cmp(&b.1);
                if let (Some(slow), Some(fast)) =
                    (stats.epoch_means.iter().max_by(by_time), stats.epoch_means.iter().min_by(by_time))
                {
                    println!("slowest epoch {}, average time is {:.4}", slow.0, slow.1);
                    println!("fastest epoch {}, average time is {:.4}", fast.0, fast.1);
                }
                println!("time std over epochs is {:.4}", stats.std_over_epochs);
                println!("average iter time: {:.4} s/iter", stats.mean_iter_time);
                println!();
            }
            Ok(())
        }
    })
}
