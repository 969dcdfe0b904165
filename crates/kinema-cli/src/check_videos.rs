//! `tools/check_videos CONFIG [--split train|val|test] [--workers N]`: loads every
//! sample of a split through its pipeline and lists the unreadable ones with the reason.
//! Exits with status 1 when any sample is unreadable.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{init_console_logging, run_main, CfgOptions};
use clap::Parser;

/// Find the videos (or frame folders) of a dataset that cannot be loaded.
#[derive(Parser)]
#[command(name = "check_videos", version)]
struct Args {
    /// The config file (TOML).
    config: PathBuf,
    /// Which dataset: `<split>_dataloader.dataset`.
    #[arg(long, default_value = "train", value_parser = ["train", "val", "test"])]
    split: String,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Seed for the random transforms of the pipeline.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the unreadable files, one per line, to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    cfg: CfgOptions,
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let mut any_bad = false;
    let code = run_main(|| {
        init_console_logging();
        let cfg = args.cfg.load(&args.config)?;
        let report = kinema_data::tools::check::check_split(&cfg, &args.split, args.workers, args.seed)?;
        any_bad = !report.bad.is_empty();
        if let Some(out) = &args.output {
            let text: String = report.bad.iter().map(|b| format!("{}\n", b.file)).collect();
            std::fs::write(out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
        }
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            for b in &report.bad {
                println!("{}\t{}", b.file, b.reason);
            }
            println!("{} of {} samples unreadable", report.bad.len(), report.total);
        }
        Ok(())
    });
    if any_bad {
        ExitCode::FAILURE
    } else {
        code
    }
}
