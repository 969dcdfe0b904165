//! `tools/make_synthetic_dataset OUT_DIR [--classes N] [--videos-per-class M] [--frames F]
//! [--size WxH] [--seed S]`: writes a synthetic motion dataset (videos of a shape moving
//! left / right / up / down, rotating, growing, shrinking, blinking, ...) in MMAction2's
//! VideoDataset format: `videos/`, `train_list.txt`, `val_list.txt`, `test_list.txt`,
//! `label_map.txt`. With `--sequence FILE.mp4` it writes instead one long video of the
//! classes in a row (`--frames` each; `--sequence-classes` picks and orders them) and
//! prints where each motion is. The work is done by `kinema_video::synthetic`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{init_console_logging, run_main};
use clap::Parser;
use kinema_video::synthetic::{parse_size, write_dataset, write_sequence, DatasetOptions};

/// Write a synthetic motion-classification video dataset.
#[derive(Parser)]
#[command(name = "make_synthetic_dataset", version)]
struct Args {
    /// Output directory (created if missing).
    #[arg(required_unless_present = "sequence")]
    out_dir: Option<PathBuf>,
    /// Write one long video of several motions in a row to this file instead.
    #[arg(long)]
    sequence: Option<PathBuf>,
    /// The classes of `--sequence`, in order (default: the first `--classes`).
    #[arg(long, value_delimiter = ',')]
    sequence_classes: Option<Vec<usize>>,
    /// Number of motion classes (1..=12).
    #[arg(long, default_value_t = DatasetOptions::default().classes)]
    classes: usize,
    /// Videos per class (about 70 % train, 15 % val, 15 % test).
    #[arg(long, default_value_t = DatasetOptions::default().videos_per_class)]
    videos_per_class: usize,
    /// Frames per video.
    #[arg(long, default_value_t = DatasetOptions::default().frames)]
    frames: usize,
    /// Frame size, WIDTHxHEIGHT (even numbers).
    #[arg(long, default_value = "64x64")]
    size: String,
    /// Frames per second written in the files.
    #[arg(long, default_value_t = DatasetOptions::default().fps)]
    fps: u32,
    /// Seed of all randomness (the same seed writes the same dataset).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| {
        init_console_logging();
        let (width, height) = parse_size(&args.size)?;
        let options = DatasetOptions {
            classes: args.classes,
            videos_per_class: args.videos_per_class,
            frames: args.frames,
            width,
            height,
            fps: args.fps,
            seed: args.seed,
            ..DatasetOptions::default()
        };
        if let Some(path) = &args.sequence {
            let classes = args.sequence_classes.clone().unwrap_or_else(|| (0..args.classes).collect());
            let parts = write_sequence(path, &options, &classes)?;
            println!(
                "wrote {} ({} motions, {} frames each, {width}x{height} at {} fps):",
                path.display(),
                parts.len(),
                options.frames,
                options.fps
            );
            for p in parts {
                println!("  frames {:>5}-{:<5} {}", p.start, p.end, p.name);
            }
            return Ok(());
        }
        let Some(out_dir) = &args.out_dir else { anyhow::bail!("give OUT_DIR or --sequence FILE") };
        let summary = write_dataset(out_dir, &options)?;
        let (train, val, test) = summary.split_sizes;
        println!(
            "wrote {} classes ({}) to {}: {train} train, {val} val, {test} test videos ({}, {} frames of {width}x{height})",
            summary.class_names.len(),
            summary.class_names.join(", "),
            out_dir.display(),
            summary.codec,
            options.frames,
        );
        Ok(())
    })
}
