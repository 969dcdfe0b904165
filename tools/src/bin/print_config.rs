//! `tools/print_config CONFIG [--cfg-options ...] [--json]`: the merged, resolved config.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kinema_tools::{run_main, CfgOptions};

/// Print a config after `_base_` merging, `--cfg-options` and `${}` references.
#[derive(Parser)]
#[command(name = "print_config", version)]
struct Args {
    /// The config file (TOML).
    config: PathBuf,
    #[command(flatten)]
    cfg: CfgOptions,
    /// Print JSON (for programs) instead of TOML.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| {
        let cfg = args.cfg.load(&args.config)?;
        if args.json {
            println!("{}", cfg.to_json_string());
        } else {
            print!("{}", cfg.to_toml_string().context("rendering the config")?);
        }
        Ok(())
    })
}
