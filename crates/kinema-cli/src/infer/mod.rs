//! `tools/infer [--config CFG] --checkpoint CKPT VIDEO [--json]`: class scores of one
//! video with any registered recognizer (MMAction2's `init_recognizer` +
//! `inference_recognizer`).
//!
//! The model is built from the config's `model` table, or, without a config, from the
//! table the checkpoint carries or a linked model family reads from its tensors; the
//! weights load strictly. The test pipeline is the config's, else the model's own default.
//! Models add their own flags (a zero-shot model's `--labels`, `--template`, ...): each
//! sets a key of the model table before it is built.

mod labels;
mod video;

pub use labels::{class_names, top_k};
pub use video::{config_test_pipeline, run_pipeline, TEST_PIPELINE_KEYS};

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use kinema_core::{BuildSite, KeyPath};
use kinema_models::flags::{apply_model_flags, model_flags};
use kinema_models::recognizer::ModelContext;
use kinema_models::resolve::{build_model, model_table, read_checkpoint};
use kinema_torch::checkpoint::LoadMode;
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use crate::args::CfgOptions;

/// Class scores of a video with any recognizer (zero-shot models take their labels here).
#[derive(Parser, Debug)]
#[command(name = "infer", version)]
pub struct Args {
    /// The video to classify.
    #[arg(required_unless_present = "input_npy", conflicts_with = "input_npy")]
    pub video: Option<PathBuf>,
    /// A config: its `model` table, test pipeline and label map are used.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The checkpoint (MMAction2 `.pth`, Kinema checkpoints, and what the linked model
    /// families read: OpenAI CLIP `.pt`, ...).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Already preprocessed model input (float32, e.g. `[N, T, 3, H, W]` for 2D models)
    /// instead of a video.
    #[arg(long)]
    pub input_npy: Option<PathBuf>,
    /// How many labels to show.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Print JSON: {"labels", "scores" (one per label, in order), "top_k": [{"label", "score"}]}.
    #[arg(long)]
    pub json: bool,
    /// `cpu`, `cuda`, `cuda:N` or `auto` (default: CUDA when available).
    #[arg(long)]
    pub device: Option<String>,
    /// `--cfg-options KEY=VALUE ...`.
    #[command(flatten)]
    pub cfg: CfgOptions,
}

/// The prefix of the clap ids of model flags (so they never clash with the tool's own).
const MODEL_FLAG_ID: &str = "model-flag:";

/// The tool's command with every linked model's flags added.
pub fn command() -> clap::Command {
    with_model_flags(Args::command())
}

/// `cmd` with every linked model's flags added (see [`kinema_models::flags`]).
pub fn with_model_flags(mut cmd: clap::Command) -> clap::Command {
    let mut seen = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    let flags = model_flags();
    for flag in &flags {
        seen.entry(flag.long).or_default().push(flag.model);
    }
    for (long, models) in seen {
        let flag = flags.iter().find(|f| f.long == long).expect("collected from the same list");
        let help = format!("{} ({} models)", flag.help, models.join(", "));
        cmd = cmd.arg(
            Arg::new(format!("{MODEL_FLAG_ID}{long}"))
                .long(long)
                .value_name("VALUE")
                .action(ArgAction::Append)
                .help(help),
        );
    }
    cmd
}

/// The model flags given on the command line, with their values in order.
pub fn given_model_flags(matches: &ArgMatches) -> Vec<(String, Vec<String>)> {
    matches
        .ids()
        .filter_map(|id| id.as_str().strip_prefix(MODEL_FLAG_ID).map(|long| (id.as_str(), long)))
        .filter_map(|(id, long)| {
            let values: Vec<String> = matches.get_many::<String>(id)?.cloned().collect();
            Some((long.to_string(), values))
        })
        .collect()
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    crate::run_main(|| {
        let matches = command().get_matches();
        let args = Args::from_arg_matches(&matches)?;
        crate::init_console_logging();
        let flags = given_model_flags(&matches);
        run(&args, &flags)
    })
}

/// Infers with `args`, `flags` being the model flags given.
pub fn run(args: &Args, flags: &[(String, Vec<String>)]) -> anyhow::Result<()> {
    let start = Instant::now();
    let device = kinema_engine::runner::select_device(args.device.as_deref(), 0)?;
    let config = args.config.as_ref().map(|p| args.cfg.load(p)).transpose()?;
    let checkpoint = read_checkpoint(&args.checkpoint)?;

    let model_path = KeyPath::parse("model");
    let (mut table, site) = match &config {
        Some(c) => {
            let table = c.get_path(&model_path).cloned().context("the config has no `model` table")?;
            (table, BuildSite::root(c).at(model_path.clone()))
        }
        None => (model_table(&checkpoint)?, BuildSite::detached(model_path.clone())),
    };
    apply_model_flags(&mut table, flags)?;
    let ctx = ModelContext { device, seed: 0 };
    let mut model = build_model(&table, &site, &ctx, Some((&checkpoint, LoadMode::Strict)))
        .with_context(|| format!("cannot load the model of {}", args.checkpoint.display()))?
        .into_inner();
    let labels = class_names(model.as_ref(), config.as_ref(), &checkpoint)?;
    log::info!("model ready in {:.3} s", start.elapsed().as_secs_f64());

    let scores = match (&args.input_npy, &args.video) {
        (Some(npy), _) => {
            let x = Tensor::read_npy(npy).with_context(|| format!("cannot read {}", npy.display()))?;
            if x.kind() != Kind::Float {
                bail!("{}: expected float32 model input, got {:?} {:?}", npy.display(), x.kind(), x.size());
            }
            tch::no_grad(|| model.predict_inputs(&x.to_device(device)))?
        }
        (None, Some(video)) => {
            let (pipeline, pipeline_site) = match config.as_ref().and_then(config_test_pipeline) {
                Some((p, path)) => (p, config.as_ref().map(|c| BuildSite::root(c).at(path))),
                None => match model.default_test_pipeline() {
                    Some(p) => (p, None),
                    None => bail!("no test pipeline: pass --config with a `test_pipeline` (this model has no default)"),
                },
            };
            let site = pipeline_site.unwrap_or_else(|| BuildSite::detached(KeyPath::parse("test_pipeline")));
            let frames = run_pipeline(&pipeline, &site, video)?;
            let inputs = model.preprocess(&frames.to_device(device))?;
            tch::no_grad(|| model.predict_inputs(&inputs))?
        }
        (None, None) => bail!("give a VIDEO or --input-npy FILE"),
    };
    log::info!("done in {:.3} s", start.elapsed().as_secs_f64());
    print_scores(&scores, &labels, args.top_k, args.json)
}

/// The JSON record of one row of scores: `{"labels", "scores", "top_k"}`.
pub fn score_record(row: &[f32], labels: &[String], k: usize) -> anyhow::Result<Value> {
    let best = top_k(row, k.min(labels.len()))?;
    let top: Vec<Value> = best.iter().map(|(i, s)| json!({"label": labels[*i], "score": s})).collect();
    Ok(json!({"labels": labels, "scores": row, "top_k": top}))
}

fn print_scores(scores: &Tensor, labels: &[String], k: usize, as_json: bool) -> anyhow::Result<()> {
    let rows = scores.size()[0];
    let mut outputs = Vec::new();
    for r in 0..rows {
        let row: Vec<f32> = Vec::try_from(scores.get(r).to_kind(Kind::Float).to_device(Device::Cpu))?;
        if row.len() != labels.len() {
            bail!("the model gave {} scores for {} labels", row.len(), labels.len());
        }
        if as_json {
            outputs.push(score_record(&row, labels, k)?);
            continue;
        }
        let best = top_k(&row, k.min(labels.len()))?;
        if rows > 1 {
            println!("sample {r}:");
        }
        let width = best.iter().map(|(i, _)| labels[*i].chars().count()).max().unwrap_or(5).max(5);
        println!("{:>4}  {:<width$}  {:>11}", "rank", "label", "probability");
        for (rank, (i, s)) in best.iter().enumerate() {
            println!("{:>4}  {:<width$}  {:>11.6}", rank + 1, labels[*i], s);
        }
    }
    if as_json {
        let out = if outputs.len() == 1 { outputs.remove(0) } else { Value::Array(outputs) };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
