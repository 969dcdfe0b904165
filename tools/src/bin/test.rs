//! `tools/test CONFIG --checkpoint CKPT [--work-dir D] [--dump results.json]
//! [--cfg-options ...] [--launcher none|pytorch|slurm] [--device cpu|cuda]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kinema_engine::runner::{RunOptions, Runner};
use kinema_tools::{init_console_logging, run_main, CfgOptions, ProcessArgs};
use serde_json::{json, Value};

/// Test a checkpoint (MMAction2's tools/test.py): prints the metrics and writes them to
/// `WORK_DIR/metrics.json`.
#[derive(Parser)]
#[command(name = "test", version)]
struct Args {
    /// The config file.
    config: PathBuf,
    /// The checkpoint (any supported format).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The checkpoint, given positionally as in MMAction2.
    #[arg(value_name = "CHECKPOINT")]
    checkpoint_positional: Option<PathBuf>,
    /// Where logs and metrics.json go (default: `work_dirs/<config name>`).
    #[arg(long = "work-dir")]
    work_dir: Option<PathBuf>,
    /// Also write every sample's scores to this JSON file.
    #[arg(long)]
    dump: Option<PathBuf>,
    #[command(flatten)]
    cfg: CfgOptions,
    #[command(flatten)]
    process: ProcessArgs,
}

fn main() -> ExitCode {
    kinema_plugins::link();
    let args = Args::parse();
    run_main(|| {
        init_console_logging();
        let checkpoint = args
            .checkpoint
            .clone()
            .or(args.checkpoint_positional.clone())
            .context("no checkpoint: pass --checkpoint CKPT")?;
        anyhow::ensure!(checkpoint.is_file(), "checkpoint {} does not exist", checkpoint.display());
        let mut cfg = args.cfg.load(&args.config)?;
        if let Some(dump) = &args.dump {
            let dump_metric = json!({ "type": "DumpResults", "out_file_path": dump.to_string_lossy() });
            let evaluators = match cfg.get("test_evaluator").cloned() {
                Some(Value::Array(mut list)) => {
                    list.push(dump_metric);
                    Value::Array(list)
                }
                Some(one) => json!([one, dump_metric]),
                None => anyhow::bail!("{}: `test_evaluator` is missing", args.config.display()),
            };
            cfg.set("test_evaluator", evaluators)?;
        }
        let options = RunOptions {
            config_path: args.config.clone(),
            work_dir: args.work_dir.clone(),
            load_from: Some(checkpoint),
            device: args.process.device.clone(),
            dist: args.process.dist_info()?,
            ..RunOptions::default()
        };
        let mut runner = Runner::from_config(cfg, options)?;
        let metrics = runner.test()?;
        if runner.env.is_main() {
            let path = runner.env.work_dir.join("metrics.json");
            let text = serde_json::to_string_pretty(&metrics)?;
            std::fs::write(&path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))?;
            for (k, v) in &metrics {
                println!("{k}: {v:.4}");
            }
        }
        Ok(())
    })
}
