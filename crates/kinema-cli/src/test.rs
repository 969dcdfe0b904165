//! `tools/test CONFIG --checkpoint CKPT [--work-dir D] [--dump results.json|.pkl]
//! [--strict false] [--cfg-options ...] [--launcher none|pytorch|slurm] [--device ...]`:
//! MMAction2's `tools/test.py`. Prints the metrics and writes, in the run's folder,
//! `metrics.json`, every sample's prediction (`results.json`: file, true and predicted
//! class) and the confusion matrix (`confusion_matrix.json` and `.png`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kinema_engine::runner::{RunOptions, Runner};
use kinema_logging::plot::ConfusionMatrix;
use kinema_models::weights_source::resolve_weights;
use serde_json::{json, Value};

use crate::{init_console_logging, run_main, CfgOptions, ProcessArgs};

/// Test a checkpoint (MMAction2's tools/test.py).
#[derive(Parser)]
#[command(name = "test", version)]
pub struct Args {
    /// The config file.
    pub config: PathBuf,
    /// The checkpoint (any supported format).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint, given positionally as in MMAction2.
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoint_positional: Option<PathBuf>,
    /// Where logs and metrics.json go (default: `work_dirs/<config name>`).
    #[arg(long = "work-dir")]
    pub work_dir: Option<PathBuf>,
    /// Also write every sample's prediction here: `.json`, or `.pkl` (MMAction2's
    /// records, for its analysis tools).
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Load the checkpoint strictly (every parameter, right shapes, nothing else); with
    /// `false`, what matches is loaded and the rest reported.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub strict: bool,
    /// Run the model in `fp32`, `bf16` or `fp16` (autocast): `test_cfg.precision`.
    #[arg(long, value_name = "fp32|bf16|fp16")]
    pub precision: Option<kinema_torch::precision::Precision>,
    /// `--cfg-options KEY=VALUE ...`.
    #[command(flatten)]
    pub cfg: CfgOptions,
    /// `--launcher`, `--device`, `--local-rank`.
    #[command(flatten)]
    pub process: ProcessArgs,
}

/// Appends a `DumpResults` metric writing `path` to `test_evaluator`.
fn add_dump(runner: &mut Runner, path: &Path) -> anyhow::Result<()> {
    let dump = json!({ "type": "DumpResults", "out_file_path": path.to_string_lossy() });
    let evaluators = match runner.cfg.get("test_evaluator").cloned() {
        Some(Value::Array(mut list)) => {
            list.push(dump);
            Value::Array(list)
        }
        Some(one) => json!([one, dump]),
        None => anyhow::bail!("{}: `test_evaluator` is missing", runner.cfg.entry()),
    };
    runner.cfg.set("test_evaluator", evaluators)?;
    Ok(())
}

/// The confusion matrix of dumped results (`results.json` records).
pub fn confusion_from_records(records: &[Value]) -> Option<ConfusionMatrix> {
    let classes = records.iter().filter_map(|r| r["num_classes"].as_u64()).max()? as usize;
    let mut labels: Vec<String> = (0..classes).map(|i| format!("class {i}")).collect();
    for r in records {
        for (idx, name) in [("gt_label", "gt_class"), ("pred_label", "pred_class")] {
            if let (Some(i), Some(n)) = (r[idx].as_u64(), r[name].as_str()) {
                if let Some(slot) = labels.get_mut(i as usize) {
                    *slot = n.to_string();
                }
            }
        }
    }
    let mut cm = ConfusionMatrix::new(labels);
    for r in records {
        if let (Some(gt), Some(pred)) = (r["gt_label"].as_u64(), r["pred_label"].as_u64()) {
            cm.add(gt as usize, pred as usize);
        }
    }
    Some(cm)
}

fn write_confusion(results: &Path, dir: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(results).with_context(|| format!("reading {}", results.display()))?;
    let records: Vec<Value> = serde_json::from_str(&text).with_context(|| format!("parsing {}", results.display()))?;
    let Some(cm) = confusion_from_records(&records) else { return Ok(()) };
    let json_path = dir.join("confusion_matrix.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&cm)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let png = dir.join("confusion_matrix.png");
    cm.plot("Confusion matrix (test)", &png)?;
    log::info!("confusion matrix: {} and {}", json_path.display(), png.display());
    Ok(())
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    run_main(|| {
        init_console_logging();
        let checkpoint = args
            .checkpoint
            .clone()
            .or(args.checkpoint_positional.clone())
            .context("no checkpoint: pass --checkpoint CKPT")?;
        // A zoo name or URL: fetched into the cache here, once, before any rank starts work.
        let checkpoint = resolve_weights(&checkpoint.to_string_lossy(), "--checkpoint")?;
        kinema_core::fs::check_regular_file(&checkpoint, "checkpoint file")?;
        let mut cfg_options = args.cfg.clone();
        if let Some(p) = args.precision {
            cfg_options.cfg_options.push(format!("test_cfg.precision={p}"));
        }
        let cfg = cfg_options.load(&args.config)?;
        let options = RunOptions {
            config_path: args.config.clone(),
            work_dir: args.work_dir.clone(),
            load_from: Some(checkpoint),
            partial_load: !args.strict,
            device: args.process.device.clone(),
            dist: args.process.dist_info()?,
            ..RunOptions::default()
        };
        let mut runner = Runner::from_config(cfg, options)?;
        let results = runner.env.log_dir.join("results.json");
        add_dump(&mut runner, &results)?;
        if let Some(dump) = &args.dump {
            add_dump(&mut runner, dump)?;
        }
        let metrics = runner.test()?;
        if runner.env.is_main() {
            let path = runner.env.work_dir.join("metrics.json");
            let text = serde_json::to_string_pretty(&metrics)?;
            std::fs::write(&path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))?;
            write_confusion(&results, &runner.env.log_dir)?;
            for (k, v) in &metrics {
                println!("{k}: {v:.4}");
            }
        }
        Ok(())
    })
}
