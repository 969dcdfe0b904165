//! `tools/train CONFIG [--work-dir D] [--resume [PATH]] [--amp] [--no-validate]
//! [--auto-scale-lr] [--seed N] [--diff-rank-seed] [--deterministic] [--cfg-options ...]
//! [--launcher none|pytorch|slurm] [--dry-run] [--device cpu|cuda|cuda:N]`: MMAction2's
//! `tools/train.py`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kinema_core::Config;
use kinema_engine::runner::{signal_name, weights_fingerprint, Resume, RunOptions, Runner, TrainEnd, EXIT_REQUEUE};
use serde_json::Value;

use crate::{init_console_logging, run_main, CfgOptions, ProcessArgs};

/// Train a model from a config (MMAction2's tools/train.py).
#[derive(Parser)]
#[command(name = "train", version)]
pub struct Args {
    /// The config file.
    pub config: PathBuf,
    /// Where checkpoints and logs go (default: the config's `work_dir`, else
    /// `work_dirs/<config name>`).
    #[arg(long = "work-dir")]
    pub work_dir: Option<PathBuf>,
    /// Resume: from `work_dir/last_checkpoint` without a value, or from PATH.
    #[arg(long, num_args = 0..=1, default_missing_value = "auto", value_name = "PATH")]
    pub resume: Option<String>,
    /// Mixed precision (switches `optim_wrapper` to `AmpOptimWrapper`; bfloat16 on CPU).
    #[arg(long)]
    pub amp: bool,
    /// Do not validate during training (drops `val_dataloader`, `val_cfg`, `val_evaluator`).
    #[arg(long = "no-validate")]
    pub no_validate: bool,
    /// Scale the learning rate by the total batch size (`auto_scale_lr.enable = true`).
    #[arg(long = "auto-scale-lr")]
    pub auto_scale_lr: bool,
    /// Random seed (overrides `randomness.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Give every rank its own seed (seed + rank; `randomness.diff_rank_seed = true`).
    #[arg(long = "diff-rank-seed")]
    pub diff_rank_seed: bool,
    /// Ask libtorch for deterministic algorithms.
    #[arg(long)]
    pub deterministic: bool,
    /// `--cfg-options KEY=VALUE ...`.
    #[command(flatten)]
    pub cfg: CfgOptions,
    /// Build every component and read one batch, then exit.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// `--launcher`, `--device`, `--local-rank`.
    #[command(flatten)]
    pub process: ProcessArgs,
}

/// Applies the flags that change the config (MMAction2's `merge_args`).
pub fn apply_flags(args: &Args, cfg: &mut Config) -> anyhow::Result<()> {
    if args.no_validate {
        for key in ["val_dataloader", "val_cfg", "val_evaluator"] {
            cfg.remove(key);
        }
    }
    if args.auto_scale_lr {
        if cfg.get("auto_scale_lr").is_none() {
            anyhow::bail!(
                "{}: --auto-scale-lr needs `auto_scale_lr` in the config, e.g. `auto_scale_lr = {{ base_batch_size = 256 }}` \
                 (the total batch size its learning rate was tuned for)",
                cfg.entry()
            );
        }
        cfg.set("auto_scale_lr.enable", Value::Bool(true))?;
    }
    if args.diff_rank_seed {
        cfg.set("randomness.diff_rank_seed", Value::Bool(true))?;
    }
    Ok(())
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let mut requeue = false;
    let status = run_main(|| {
        init_console_logging();
        let mut cfg = args.cfg.load(&args.config)?;
        apply_flags(&args, &mut cfg)?;
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
        let mut runner = Runner::from_config(cfg, options).context("cannot start the run")?;
        match runner.train()? {
            TrainEnd::Completed => {
                if runner.env.world_size > 1 {
                    // Every rank says it (ranks other than 0 log errors only): equal
                    // fingerprints mean identical weights.
                    let print = weights_fingerprint(runner.model.var_store())?;
                    eprintln!(
                        "rank {}/{}: final weights fingerprint {print:016x}",
                        runner.env.rank, runner.env.world_size
                    );
                }
                Ok(())
            }
            TrainEnd::Stopped(info) => {
                log::warn!(
                    "stopped by {} after iteration {}{}: exiting with status {EXIT_REQUEUE} (requeue and --resume)",
                    signal_name(info.signal),
                    info.iter,
                    info.checkpoint.map(|p| format!(", state saved to {}", p.display())).unwrap_or_default()
                );
                requeue = true;
                Ok(())
            }
        }
    });
    if requeue {
        ExitCode::from(EXIT_REQUEUE)
    } else {
        status
    }
}
