//! `tools/extract_features CONFIG --checkpoint CKPT VIDEOS_OR_DIRS... --out DIR`: video
//! embeddings per clip, per window or per frame (`--level`), and the text embeddings of
//! a zero-shot model's labels, in safetensors (and `.npy` with `--npy`) with an index
//! mapping rows to videos and frames. Under `tools/launch` or Slurm each rank takes every
//! `world`-th video; each video's rows are kept in a part file as soon as they are done
//! (a rerun skips those: resumable), and rank 0 merges them into one file and one index.
//! docs/features.md describes the files.

mod parts;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use kinema_engine::dist::DistRuntime;
use kinema_logging::progress::Progress;
use kinema_models::recognizer::ModelBatch;
use tch::{Kind, Tensor};

use crate::args::{CfgOptions, ProcessArgs};
use crate::infer::{
    given_model_flags, load_clip, with_model_flags, GridArgs, Session, TimelineOptions, VideoListArgs, WindowOutput,
};
use crate::report::one_line;
use parts::{Part, PartRow};

/// What one row of features stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// One row per video: the test pipeline's clip (as `tools/infer` scores it).
    Clip,
    /// One row per timeline window (`--frame-interval`/`--sample-fps`, `--stride`).
    Window,
    /// One row per grid frame: the image features before the temporal head.
    Frame,
}

/// Features of videos and labels for retrieval, anomaly detection and probing.
#[derive(Parser, Debug)]
#[command(name = "extract_features", version)]
pub struct Args {
    /// The config (its `model` and test pipeline).
    pub config: PathBuf,
    /// Videos and folders (searched recursively by extension).
    pub videos: Vec<PathBuf>,
    /// The checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// `--list`, `--data-prefix`, `--extensions`.
    #[command(flatten)]
    pub inputs: VideoListArgs,
    /// The output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Rows per clip, per window or per frame.
    #[arg(long, value_enum, default_value = "clip")]
    pub level: Level,
    /// Window and frame levels: `--frame-interval`, `--sample-fps`, `--stride`.
    #[command(flatten)]
    pub grid: GridArgs,
    /// Also write `features.npy` (and `text.npy`).
    #[arg(long)]
    pub npy: bool,
    /// Run the model in `fp32` (default), `bf16` or `fp16` (autocast; the config's
    /// `test_cfg.precision` when not given).
    #[arg(long, value_name = "fp32|bf16|fp16")]
    pub precision: Option<kinema_torch::precision::Precision>,
    /// `--launcher`, `--device`.
    #[command(flatten)]
    pub process: ProcessArgs,
    /// `--cfg-options KEY=VALUE ...`.
    #[command(flatten)]
    pub cfg: CfgOptions,
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    crate::run_main(|| {
        let matches = with_model_flags(Args::command()).get_matches();
        let args = Args::from_arg_matches(&matches)?;
        crate::init_console_logging();
        run(&args, &given_model_flags(&matches))
    })
}

/// Extracts features with `args`, `flags` being the model flags given.
pub fn run(args: &Args, flags: &[(String, Vec<String>)]) -> anyhow::Result<()> {
    let dist = args.process.dist_info()?;
    let device = kinema_engine::runner::select_device(args.process.device.as_deref(), dist.local_rank)?;
    let config = args.cfg.load(&args.config)?;
    let runtime = DistRuntime::init(&dist, device, &config)?;
    let mut session = Session::open(&args.checkpoint, Some(config), flags, device, false)?;
    if let Some(p) = args.precision {
        session.precision = p;
    }
    let videos = args.inputs.videos(&args.videos)?;
    let parts_dir = args.out.join("parts");
    std::fs::create_dir_all(&parts_dir).with_context(|| format!("cannot create {}", parts_dir.display()))?;
    let mine: Vec<usize> = (dist.rank..videos.len()).step_by(dist.world_size.max(1)).collect();
    let todo: Vec<usize> = mine.iter().copied().filter(|&i| !parts::exists(&parts_dir, i)).collect();
    if todo.len() < mine.len() {
        log::info!("rank {}: {} of {} videos already done, skipped", dist.rank, mine.len() - todo.len(), mine.len());
    }
    let mut progress = Progress::start(todo.len() as u64, "features");
    for &i in &todo {
        let video = &videos[i];
        let part = match extract(&mut session, video, args) {
            Ok(rows) => Part::Rows(rows),
            Err(e) => {
                let reason = one_line(&e);
                log::warn!("skipped: {reason}");
                Part::Failed(reason)
            }
        };
        parts::write(&parts_dir, i, video, &part)?;
        progress.inc(1);
    }
    progress.finish();
    if dist.rank == 0 {
        if let Some(text) = session.run(|m| m.text_embeddings())?? {
            parts::write_text(&args.out, &text, &session.labels, args.npy)?;
        }
    }
    if let Some(rt) = &runtime {
        rt.group.barrier().context("waiting for every rank to finish its videos")?;
    }
    if dist.rank == 0 {
        let summary = parts::merge(&args.out, &videos, args.npy)?;
        log::info!(
            "{} rows of {} features from {} videos ({} unreadable, listed in failed.jsonl) in {}",
            summary.rows,
            summary.dim,
            summary.videos,
            summary.failed,
            args.out.display()
        );
    }
    Ok(())
}

/// The feature rows of one video at the asked level.
fn extract(session: &mut Session, video: &std::path::Path, args: &Args) -> anyhow::Result<Vec<PartRow>> {
    match args.level {
        Level::Clip => {
            let pipeline = session.build_pipeline()?;
            let clip = load_clip(&pipeline, video)?;
            let inputs = clip.inputs.to_device(session.device);
            let batch = ModelBatch {
                labels: Tensor::from_slice(&[-1i64]).to_device(session.device),
                inputs,
                indices: vec![0],
                epoch: 0,
            };
            let f = session.run(|m| m.features(&batch))??;
            let row: Vec<f32> = Vec::try_from(f.to_kind(Kind::Float).flatten(0, -1).to_device(tch::Device::Cpu))?;
            Ok(vec![PartRow { start_frame: 0, end_frame: clip.total_frames, fps: clip.fps, values: row }])
        }
        Level::Window | Level::Frame => {
            let options = TimelineOptions {
                grid: GridArgs {
                    stride: if args.level == Level::Frame { Some(1) } else { args.grid.stride },
                    ..args.grid.clone()
                },
                top_k: 0,
                all_scores: false,
                threshold: 0.0,
                smooth: 1,
                json: false,
                decode_threads: 1,
                out_timeline: None,
                out_video: None,
            };
            let output =
                if args.level == Level::Frame { WindowOutput::FrameFeatures } else { WindowOutput::ClipEmbedding };
            let (windows, fps) = crate::infer::file_windows(session, video, &options, output, |_| Ok(()))?;
            Ok(windows
                .into_iter()
                .map(|w| PartRow { start_frame: w.start_frame, end_frame: w.end_frame, fps, values: w.scores })
                .collect())
        }
    }
}
