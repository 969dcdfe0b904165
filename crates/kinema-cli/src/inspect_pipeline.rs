//! `tools/inspect_pipeline CONFIG VIDEO [--split train|val|test] [--seed S] [--json]
//! [--save-npy OUT.npy]`: runs a split's data pipeline on one video (or frame folder)
//! and prints the frame indices, every transform's output shape and time.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{init_console_logging, run_main, CfgOptions};
use anyhow::Context;
use clap::Parser;

/// Run the data pipeline of a config on one input and show what it produced.
#[derive(Parser)]
#[command(name = "inspect_pipeline", version)]
struct Args {
    /// The config file (TOML).
    config: PathBuf,
    /// A video file (VideoDataset configs) or a frame folder (RawframeDataset configs).
    video: PathBuf,
    /// Which pipeline: `<split>_dataloader.dataset.pipeline`.
    #[arg(long, default_value = "test", value_parser = ["train", "val", "test"])]
    split: String,
    /// Seed of the random transforms (sample 0 of epoch 0 under this seed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Frame count of a frame folder (default: the number of files in it).
    #[arg(long)]
    total_frames: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Write the final uint8 array (layout of the config's FormatShape) as .npy.
    #[arg(long, value_name = "OUT.npy")]
    save_npy: Option<PathBuf>,
    #[command(flatten)]
    cfg: CfgOptions,
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| {
        init_console_logging();
        let cfg = args.cfg.load(&args.config)?;
        let report =
            kinema_data::tools::inspect::inspect_pipeline(&cfg, &args.split, &args.video, args.seed, args.total_frames)
                .with_context(|| format!("running the {} pipeline on {}", args.split, args.video.display()))?;
        if let Some(out) = &args.save_npy {
            kinema_data::npy::write_u8(out, &report.data, &report.shape)?;
        }
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
            return Ok(());
        }
        println!("input:        {}", report.input);
        match report.total_frames {
            Some(n) => println!("total_frames: {n}"),
            None => println!("total_frames: unknown"),
        }
        println!("frame_inds:   {:?}", report.frame_inds);
        for s in &report.steps {
            let shape = s.shape.as_ref().map(|v| format!("{v:?}")).unwrap_or_else(|| "-".into());
            println!("  {:<20} {:>9.3} ms  {shape}", s.name, s.ms);
        }
        println!("output:       {:?} uint8 ({})", report.shape, report.layout);
        println!("total:        {:.3} ms", report.total_ms);
        if let Some(out) = &args.save_npy {
            println!("saved:        {}", out.display());
        }
        Ok(())
    })
}
