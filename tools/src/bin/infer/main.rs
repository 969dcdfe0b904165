//! Zero-shot action recognition of one video (or a normalised `.npy` array) with an
//! ActionCLIP checkpoint: top-k labels and probabilities.

mod video;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use actionclip::checkpoint::SourceFormat;
use actionclip::inference::{default_test_pipeline, load_for_inference, top_k};
use actionclip::prompts::{default_templates, read_lines, ListOrFile};
use actionclip::{PromptSet, RunOptions};
use anyhow::{bail, Context};
use clap::Parser;
use kinema_core::registry::build;
use kinema_core::{BuildSite, Config, KeyPath};
use kinema_models::recognizer::ModelContext;
use kinema_models::DataPreprocessorKind;
use kinema_tools::CfgOptions;
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

/// Zero-shot ActionCLIP inference on a video.
#[derive(Parser, Debug)]
#[command(name = "infer", version)]
struct Args {
    /// The video to classify.
    #[arg(required_unless_present = "input_npy", conflicts_with = "input_npy")]
    video: Option<PathBuf>,
    /// A config: its test pipeline, data preprocessor and prompts are used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The checkpoint (MMAction2 .pth, OpenAI .pt, original ActionCLIP .pt, Kinema .safetensors).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Its format: auto, kinema, mmaction, openai or actionclip-original.
    #[arg(long, default_value = "auto")]
    checkpoint_format: SourceFormat,
    /// Already normalised frames, float32 [N, T, 3, H, W], instead of a video.
    #[arg(long)]
    input_npy: Option<PathBuf>,
    /// Class names, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "label_file")]
    labels: Vec<String>,
    /// A file with one class name per line.
    #[arg(long)]
    label_file: Option<PathBuf>,
    /// A prompt template with `{}` for the class name (repeatable; default: the 16 ActionCLIP templates).
    #[arg(long = "template", conflicts_with = "template_file")]
    templates: Vec<String>,
    /// A file with one template per line.
    #[arg(long)]
    template_file: Option<PathBuf>,
    /// How many labels to show.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Print JSON: {"labels", "scores" (one per label, in order), "top_k": [{"label", "score"}]}.
    #[arg(long)]
    json: bool,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Keep prompt text features in this folder between runs.
    #[arg(long)]
    text_cache_dir: Option<PathBuf>,
    #[command(flatten)]
    cfg: CfgOptions,
}

fn device_of(name: &str) -> anyhow::Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => bail!("--device cuda: no CUDA device is available (is the CUDA build of libtorch installed?)"),
        other => bail!("--device must be cpu or cuda, got {other:?}"),
    }
}

fn config_list(config: Option<&Config>, key: &str, what: &str) -> anyhow::Result<Option<Vec<String>>> {
    let Some(c) = config else { return Ok(None) };
    let Some(v) = c.get_path(&KeyPath::parse(&format!("model.{key}"))) else { return Ok(None) };
    let list: ListOrFile = serde_json::from_value(v.clone()).with_context(|| format!("`model.{key}` in the config"))?;
    let base = c.source_of(&KeyPath::parse("model")).to_string();
    let base = Path::new(&base).parent().map(Path::to_path_buf);
    Ok(Some(list.resolve(what, base.as_deref())?))
}

fn main() -> ExitCode {
    kinema_tools::run_main(|| {
        let args = Args::parse();
        kinema_tools::init_console_logging();
        let start = Instant::now();
        let device = device_of(&args.device)?;
        let config = match &args.config {
            Some(p) => Some(args.cfg.load(p)?),
            None => None,
        };
        let ctx = ModelContext { device, seed: 0 };
        let preprocessor = match config
            .as_ref()
            .and_then(|c| c.get_path(&KeyPath::parse("model.data_preprocessor")).map(|v| (c, v)))
        {
            Some((c, v)) => Some(
                build::<DataPreprocessorKind>(
                    v,
                    &BuildSite::root(c).at(KeyPath::parse("model.data_preprocessor")),
                    &ctx,
                )?
                .into_inner(),
            ),
            None => None,
        };
        let config_segs =
            config.as_ref().and_then(|c| c.get_path(&KeyPath::parse("model.num_adapter_segs"))).and_then(Value::as_i64);
        let options = RunOptions { text_cache_dir: args.text_cache_dir.clone(), ..RunOptions::default() };
        let mut model =
            load_for_inference(&args.checkpoint, args.checkpoint_format, device, config_segs, preprocessor, options)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("cannot load the checkpoint {}", args.checkpoint.display()))?;

        let labels = if !args.labels.is_empty() {
            args.labels.iter().map(|l| l.trim().to_string()).collect()
        } else if let Some(f) = &args.label_file {
            read_lines(f, "label")?
        } else if let Some(l) = config_list(config.as_ref(), "labels_or_label_file", "label")? {
            l
        } else {
            bail!(
                "no class labels: give --labels a,b,c or --label-file FILE (or a --config with labels_or_label_file)"
            );
        };
        let templates = if !args.templates.is_empty() {
            args.templates.clone()
        } else if let Some(f) = &args.template_file {
            read_lines(f, "template")?
        } else if let Some(t) = config_list(config.as_ref(), "templates_or_template_file", "template")? {
            t
        } else {
            default_templates()
        };
        model.set_prompts(PromptSet::new(labels.clone(), templates).context("cannot build the prompts")?);
        log::info!("model ready in {:.3} s", start.elapsed().as_secs_f64());

        let scores = match (&args.input_npy, &args.video) {
            (Some(npy), _) => {
                let x = Tensor::read_npy(npy).with_context(|| format!("cannot read {}", npy.display()))?;
                if x.dim() != 5 || x.kind() != Kind::Float {
                    bail!("{}: expected float32 [N, T, 3, H, W], got {:?} {:?}", npy.display(), x.kind(), x.size());
                }
                model.predict_frames(&x.to_device(device))?
            }
            (None, Some(video)) => {
                let pipeline = match config.as_ref() {
                    Some(c) => video::config_test_pipeline(c)?,
                    None => default_test_pipeline(model.num_segs(), model.input_resolution()),
                };
                let frames = video::run_pipeline(&pipeline, video)?;
                let x = model.preprocess(&frames.to_device(device).unsqueeze(0))?;
                model.predict_frames(&x)?
            }
            (None, None) => bail!("give a VIDEO or --input-npy FILE"),
        };
        log::info!("done in {:.3} s", start.elapsed().as_secs_f64());
        print_scores(&scores, &labels, args.top_k, args.json)
    })
}

fn print_scores(scores: &Tensor, labels: &[String], k: usize, as_json: bool) -> anyhow::Result<()> {
    let rows = scores.size()[0];
    let mut outputs = Vec::new();
    for r in 0..rows {
        let row: Vec<f32> = Vec::try_from(scores.get(r).to_kind(Kind::Float).to_device(Device::Cpu))?;
        let best = top_k(&row, k.min(labels.len()));
        if as_json {
            let top: Vec<Value> = best.iter().map(|(i, s)| json!({"label": labels[*i], "score": s})).collect();
            outputs.push(json!({"labels": labels, "scores": row, "top_k": top}));
        } else {
            if rows > 1 {
                println!("sample {r}:");
            }
            let width = best.iter().map(|(i, _)| labels[*i].chars().count()).max().unwrap_or(5).max(5);
            println!("{:>4}  {:<width$}  {:>11}", "rank", "label", "probability");
            for (rank, (i, s)) in best.iter().enumerate() {
                println!("{:>4}  {:<width$}  {:>11.6}", rank + 1, labels[*i], s);
            }
        }
    }
    if as_json {
        let out = if outputs.len() == 1 { outputs.remove(0) } else { Value::Array(outputs) };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
