//! `tools/print_config CONFIG [--cfg-options ...] [--resolved] [--json]`: the merged config
//! (after `_base_`, `--cfg-options` and `${}` references), or with `--resolved` what a run
//! of it uses: every component's defaults filled in, as the run's work dir keeps it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::{run_main, CfgOptions};

/// Print a config after `_base_` merging, `--cfg-options` and `${}` references.
#[derive(Parser)]
#[command(name = "print_config", version)]
pub struct Args {
    /// The config file (TOML).
    pub config: PathBuf,
    /// `--cfg-options KEY=VALUE ...`.
    #[command(flatten)]
    pub cfg: CfgOptions,
    /// Fill in every component's defaults (nothing is built or read).
    #[arg(long)]
    pub resolved: bool,
    /// Print JSON (for programs) instead of TOML.
    #[arg(long)]
    pub json: bool,
}

/// The text the tool prints for `args`.
pub fn render(args: &Args) -> anyhow::Result<String> {
    let cfg = args.cfg.load(&args.config)?;
    let value = if args.resolved { kinema_engine::runner::resolved_config(&cfg)? } else { cfg.as_value().clone() };
    if args.json {
        Ok(serde_json::to_string_pretty(&value)? + "\n")
    } else {
        kinema_core::config::to_toml_string(&value).context("rendering the config")
    }
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| {
        print!("{}", render(&args)?);
        Ok(())
    })
}
