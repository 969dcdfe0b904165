//! `tools/infer [--config CFG] --checkpoint CKPT VIDEO... [--json]`: class scores of
//! videos with any registered recognizer (MMAction2's `init_recognizer` +
//! `inference_recognizer`), and for long videos and live input a timeline of windows.
//!
//! The model is built from the config's `model` table, or, without a config, from the
//! table the checkpoint carries or a linked model family reads from its tensors; the
//! weights load strictly. The test pipeline is the config's, else the model's own default.
//! Models add their own flags (a zero-shot model's `--labels`, `--template`, ...): each
//! sets a key of the model table before it is built.
//!
//! Modes: one video (a table, or `--json`); many videos (several paths, folders, or
//! `--list`; JSON lines or CSV, `--resume`); `--timeline` windows of one long video;
//! `--live` windows of a stream as it arrives. docs/zero_shot.md describes each.

mod frames;
mod inputs;
mod labels;
mod long_video;
mod many;
mod pictures;
mod records;
mod session;
mod timeline;
mod video;
mod windows;

pub use frames::open_file;
pub use inputs::{GridArgs, VideoListArgs, VIDEO_EXTENSIONS};
pub use labels::{class_names, top_k};
pub use long_video::{file_windows, TimelineOptions};
pub use records::read_list;
pub use session::{expand_inputs, frames_per_clip, Session};
pub use timeline::{Timeline, TimelineStats, WindowOutput, WindowScores};
pub use video::{config_test_pipeline, load_clip, run_pipeline, transform_frames, Clip, TEST_PIPELINE_KEYS};
pub use windows::{merge_segments, WindowGrid};

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use kinema_data::sample::FrameStack;
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use crate::args::CfgOptions;
use kinema_models::flags::model_flags;

/// Class scores of a video with any recognizer (zero-shot models take their labels here).
#[derive(Parser, Debug)]
#[command(name = "infer", version)]
pub struct Args {
    /// Videos, folders (searched recursively by extension), or with `--live` one input
    /// URL (`-` for standard input).
    #[arg(required_unless_present_any = ["input_npy", "list"], conflicts_with = "input_npy")]
    pub videos: Vec<PathBuf>,
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
    /// `--list`, `--data-prefix`, `--extensions`.
    #[command(flatten)]
    pub inputs: VideoListArgs,
    /// Where many-video records go: `.jsonl` (JSON lines) or `.csv` (default: JSON lines
    /// on standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep the records already in `--out` and score only the videos not there.
    #[arg(long)]
    pub resume: bool,
    /// Decoding threads for many videos (each runs the test pipeline on its own video);
    /// 0 decodes each video just before its clip, on the model's thread. Default: 2 with
    /// CUDA, 0 on a CPU (the model uses every core there; a thread beside it slows it).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Score exactly these frames of the video (comma separated) instead of the test
    /// pipeline's sampling.
    #[arg(long, value_delimiter = ',')]
    pub frame_inds: Option<Vec<usize>>,
    /// A timeline of one long video: sliding windows (see docs/zero_shot.md).
    #[arg(long)]
    pub timeline: bool,
    /// Windows of a live input (a network URL, a file, or `-` for standard input: pipe a
    /// camera through `ffmpeg`), printed as they complete.
    #[arg(long, conflicts_with = "timeline")]
    pub live: bool,
    /// `--frame-interval`, `--sample-fps`, `--stride`.
    #[command(flatten)]
    pub grid: GridArgs,
    /// Give every label's probability (`scores`), not only the top k.
    #[arg(long)]
    pub all_scores: bool,
    /// Timeline segments: windows whose best probability is below this end a segment.
    #[arg(long, default_value_t = 0.0)]
    pub threshold: f32,
    /// Timeline segments: a moving average over this many windows first.
    #[arg(long, default_value_t = 1)]
    pub smooth: usize,
    /// Write the timeline (label probabilities over time, segments) to this PNG
    /// (`--timeline` and `--live`).
    #[arg(long)]
    pub out_timeline: Option<PathBuf>,
    /// Write the video with the top-k labels and probability bars drawn (H.264; one video
    /// or `--timeline`).
    #[arg(long)]
    pub out_video: Option<PathBuf>,
    /// How many labels to show.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Print JSON: {"labels", "scores" (one per label, in order), "top_k": [{"label", "score"}]}
    /// for one video; the timeline object for `--timeline`; JSON lines for `--live`.
    #[arg(long)]
    pub json: bool,
    /// `cpu`, `cuda`, `cuda:N` or `auto` (default: CUDA when available).
    #[arg(long)]
    pub device: Option<String>,
    /// Run the model in `fp32` (default), `bf16` or `fp16` (autocast; the config's
    /// `test_cfg.precision` when not given).
    #[arg(long, value_name = "fp32|bf16|fp16")]
    pub precision: Option<kinema_torch::precision::Precision>,
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
    let mut session = Session::open(&args.checkpoint, config, flags, device, true)?;
    if let Some(p) = args.precision {
        session.precision = p;
    }
    let options = TimelineOptions {
        grid: args.grid.clone(),
        top_k: args.top_k,
        all_scores: args.all_scores,
        threshold: args.threshold,
        smooth: args.smooth,
        json: args.json,
        // One decoder thread: it runs beside the model, which has the cores.
        decode_threads: 1,
        out_timeline: args.out_timeline.clone(),
        out_video: args.out_video.clone(),
    };
    let timeline = args.live || args.timeline || args.grid.given();
    if args.out_timeline.is_some() && !timeline {
        bail!("--out-timeline draws the windows of --timeline (or --live): add --timeline");
    }
    if args.live {
        let [url] = args.videos.as_slice() else { bail!("--live takes one input (a URL, a file or -)") };
        long_video::run_live(&mut session, &url.to_string_lossy(), &options)?;
    } else if timeline {
        let [video] = args.videos.as_slice() else { bail!("--timeline takes one video") };
        long_video::run_timeline(&mut session, video, &options)?;
    } else if let Some(npy) = &args.input_npy {
        let x = Tensor::read_npy(npy).with_context(|| format!("cannot read {}", npy.display()))?;
        if x.kind() != Kind::Float {
            bail!("{}: expected float32 model input, got {:?} {:?}", npy.display(), x.kind(), x.size());
        }
        let x = x.to_device(device);
        let scores = session.run(|m| m.predict_inputs(&x))??;
        print_scores(&scores, &session.labels, args.top_k, args.json)?;
    } else if args.inputs.list.is_none() && args.out.is_none() && args.videos.len() == 1 && !args.videos[0].is_dir() {
        let video = &args.videos[0];
        let inputs = match &args.frame_inds {
            Some(inds) => clip_of_frames(&session, video, inds)?,
            None => run_pipeline(&session.build_pipeline()?, video)?,
        };
        let x = session.model.preprocess(&inputs.to_device(device))?;
        let scores = session.run(|m| m.predict_inputs(&x))??;
        print_scores(&scores, &session.labels, args.top_k, args.json)?;
        if let Some(out) = &args.out_video {
            let row = session.row(&scores, 0)?;
            pictures::write_annotated_video(video, out, &session.labels, args.top_k, |_| &row)?;
        }
    } else {
        if args.out_video.is_some() {
            bail!("--out-video draws one video: give one file (or --timeline)");
        }
        let videos = args.inputs.videos(&args.videos)?;
        let (mut writer, done) = records::RecordWriter::open(
            args.out.as_deref(),
            args.resume,
            &session.labels,
            args.top_k,
            args.all_scores,
        )?;
        let workers = args.workers.unwrap_or(if device == Device::Cpu { 0 } else { 2 });
        let summary = many::run_many(&mut session, videos, &done, &mut writer, workers)?;
        if summary.failed > 0 {
            log::warn!("{} videos could not be read: their records hold the reason", summary.failed);
        }
    }
    log::info!("done in {:.3} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// The model input of exactly the frames `inds` of `video`: decoded, then the test
/// pipeline's steps after decoding.
fn clip_of_frames(session: &Session, video: &std::path::Path, inds: &[usize]) -> anyhow::Result<Tensor> {
    let (_, after) = session.build_pipeline()?.split_at_decoding().context("the test pipeline has no decoding step")?;
    let mut reader = long_video_reader(video)?;
    let frames = FrameStack::from(reader.read_frames(inds)?);
    transform_frames(&after, frames, inds, &video.display().to_string())
}

fn long_video_reader(video: &std::path::Path) -> anyhow::Result<kinema_video::VideoReader> {
    frames::open_file(video, 1)
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
