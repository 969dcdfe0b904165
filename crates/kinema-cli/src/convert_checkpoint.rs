//! `tools/convert_checkpoint IN OUT [--config CFG] [--to safetensors|pth] [model flags]`:
//! reads any checkpoint a linked model reads (MMAction2 `.pth`, OpenAI CLIP `.pt`, ...),
//! checks that it builds the model (strictly), and writes it as Kinema safetensors or as a
//! `torch.save` archive in MMEngine's layout (`{'meta', 'state_dict'}`, which MMAction2
//! and plain PyTorch read). The output carries the `model` table and the class names, so
//! `tools/infer --checkpoint OUT` needs no config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{FromArgMatches, Parser};
use kinema_core::{BuildSite, KeyPath};
use kinema_engine::checkpoint::{self, CheckpointData, SaveFormat};
use kinema_models::flags::apply_model_flags;
use kinema_models::recognizer::ModelContext;
use kinema_models::resolve::{build_model, checkpoint_classes, model_table, read_checkpoint};
use kinema_models::weights::named_parameters;
use kinema_models::weights_source::resolve_weights;
use kinema_torch::checkpoint::LoadMode;
use serde_json::{json, Value};
use tch::Device;

use crate::args::CfgOptions;

/// Convert a checkpoint to Kinema safetensors or an MMEngine `.pth`.
#[derive(Parser, Debug)]
#[command(name = "convert_checkpoint", version)]
pub struct Args {
    /// The checkpoint to read.
    pub input: PathBuf,
    /// Where to write (`.safetensors` or `.pth`).
    pub output: PathBuf,
    /// A config whose `model` table describes the checkpoint (default: what the
    /// checkpoint carries, or what a linked model family reads from its tensors).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The output format (default: from OUTPUT's extension, else safetensors).
    #[arg(long = "to", value_enum)]
    pub to: Option<Format>,
    /// `--cfg-options KEY=VALUE ...`.
    #[command(flatten)]
    pub cfg: CfgOptions,
}

/// `--to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Kinema safetensors.
    Safetensors,
    /// A `torch.save` archive in MMEngine's layout.
    Pth,
}

/// True when `a` and `b` name the same file (or `b` does not exist yet and the paths
/// are equal).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Converts with `args`, `flags` being the model flags given.
pub fn run(args: &Args, flags: &[(String, Vec<String>)]) -> anyhow::Result<()> {
    if same_file(&args.input, &args.output) {
        bail!("{} is both the input and the output: write the conversion to another file", args.input.display());
    }
    let format = match (args.to, SaveFormat::from_extension(&args.output)) {
        (Some(Format::Pth), _) => SaveFormat::Pth,
        (Some(Format::Safetensors), _) => SaveFormat::Safetensors,
        (None, Some(f)) => f,
        (None, None) => SaveFormat::Safetensors,
    };
    let ck = read_checkpoint(&resolve_weights(&args.input.to_string_lossy(), "IN")?)?;
    let config = args.config.as_ref().map(|p| args.cfg.load(p)).transpose()?;
    let path = KeyPath::parse("model");
    let (mut table, site) = match &config {
        Some(c) => {
            (c.get_path(&path).cloned().context("the config has no `model` table")?, BuildSite::root(c).at(path))
        }
        None => (model_table(&ck)?, BuildSite::detached(path)),
    };
    apply_model_flags(&mut table, flags)?;
    let ctx = ModelContext { device: Device::Cpu, seed: 0 };
    let built = build_model(&table, &site, &ctx, Some((&ck, LoadMode::Strict)))
        .with_context(|| format!("{} does not build the model it describes", args.input.display()))?;
    let resolved = built.resolved_config();
    let model = built.into_inner();
    let classes = model.class_names().or_else(|| checkpoint_classes(&ck));
    let weights = named_parameters(model.var_store());
    let model_toml = kinema_core::config::to_toml_string(&json!({ "model": resolved }))?;
    let meta = json!({
        "format": "kinema-weights-v1",
        "meta": {
            "config": model_toml,
            "dataset_meta": classes.as_ref().map(|c| json!({ "classes": c })).unwrap_or(Value::Null),
            "source_file": args.input.file_name().map(|n| n.to_string_lossy().into_owned()),
            "kinema_version": env!("CARGO_PKG_VERSION"),
        },
    });
    let params: i64 = weights.iter().map(|(_, t)| t.numel() as i64).sum();
    let count = weights.len();
    checkpoint::save(&args.output, &CheckpointData { weights, optimizer: Vec::new(), meta }, format)?;
    println!(
        "{} ({:?}) -> {} ({}): {} tensors, {params} parameters, model {}",
        args.input.display(),
        ck.format,
        args.output.display(),
        format.extension(),
        count,
        resolved.get("type").and_then(Value::as_str).unwrap_or("?"),
    );
    Ok(())
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    crate::run_main(|| {
        let matches = crate::infer::with_model_flags(<Args as clap::CommandFactory>::command()).get_matches();
        let args = Args::from_arg_matches(&matches)?;
        crate::init_console_logging();
        run(&args, &crate::infer::given_model_flags(&matches))
    })
}
