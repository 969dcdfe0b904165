//! `tools/train CONFIG [--work-dir D] [--resume [PATH]] [--amp] [--seed N] [--deterministic]
//! [--cfg-options ...] [--launcher none|pytorch|slurm] [--dry-run] [--device cpu|cuda]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kinema_engine::runner::{Resume, RunOptions, Runner};
use kinema_tools::{init_console_logging, run_main, CfgOptions, ProcessArgs};

/// Train a model from a config (MMAction2's tools/train.py).
#[derive(Parser)]
#[command(name = "train", version)]
struct Args {
    /// The config file.
    config: PathBuf,
    /// Where checkpoints and logs go (default: the config's `work_dir`, else
    /// `work_dirs/<config name>`).
    #[arg(long = "work-dir")]
    work_dir: Option<PathBuf>,
    /// Resume: from `work_dir/last_checkpoint` without a value, or from PATH.
    #[arg(long, num_args = 0..=1, default_missing_value = "auto", value_name = "PATH")]
    resume: Option<String>,
    /// Mixed precision (switches `optim_wrapper` to `AmpOptimWrapper`).
    #[arg(long)]
    amp: bool,
    /// Random seed (overrides `randomness.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Ask libtorch for deterministic algorithms.
    #[arg(long)]
    deterministic: bool,
    #[command(flatten)]
    cfg: CfgOptions,
    /// Build every component and read one batch, then exit.
    #[arg(long = "dry-run")]
    dry_run: bool,
    #[command(flatten)]
    process: ProcessArgs,
}

fn main() -> ExitCode {
    kinema_plugins::link();
    let args = Args::parse();
    run_main(|| {
        init_console_logging();
        let cfg = args.cfg.load(&args.config)?;
        let resume = match args.resume.as_deref() {
            None => Resume::No,
            Some("auto") => Resume::Auto,
            Some(p) => Resume::From(PathBuf::from(p)),
        };
        let options = RunOptions {
            config_path: args.config.clone(),
            work_dir: args.work_dir.clone(),
            resume,
            amp: args.amp,
            seed: args.seed,
            deterministic: args.deterministic,
            device: args.process.device.clone(),
            dist: args.process.dist_info()?,
            dry_run: args.dry_run,
            ..RunOptions::default()
        };
        let mut runner = Runner::from_config(cfg, options)?;
        runner.train()?;
        Ok(())
    })
}
