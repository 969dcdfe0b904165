//! `tools/infer --timeline` (a long video file) and `--live` (a stream): windows scored
//! as their frames arrive, printed as lines (or JSON lines when live), and the whole
//! result as one JSON object with `--json` for files.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::TryRecvError;

use anyhow::{bail, Context};
use kinema_data::sample::FrameStack;
use kinema_logging::progress::Progress;
use serde_json::{json, Value};

use super::frames::{file_feed, live_feed, open_file, Chunk, FrameFeed};
use super::inputs::GridArgs;
use super::labels::top_k;
use super::pictures;
use super::session::{frames_per_clip, Session};
use super::timeline::{Timeline, TimelineStats, WindowOutput, WindowScores};
use super::windows::{merge_segments, smooth_scores, Segment, WindowGrid};

/// Grid frames decoded per chunk for a file.
const FILE_CHUNK: usize = 32;

/// How windows are chosen and reported.
#[derive(Debug, Clone)]
pub struct TimelineOptions {
    /// `--frame-interval`, `--sample-fps`, `--stride`.
    pub grid: GridArgs,
    /// `--top-k`.
    pub top_k: usize,
    /// `--all-scores`.
    pub all_scores: bool,
    /// `--threshold` for segments.
    pub threshold: f32,
    /// `--smooth`: windows in the moving average before segments are merged.
    pub smooth: usize,
    /// `--json`.
    pub json: bool,
    /// Decoder threads.
    pub decode_threads: usize,
    /// `--out-timeline`: the timeline PNG.
    pub out_timeline: Option<std::path::PathBuf>,
    /// `--out-video`: the annotated video.
    pub out_video: Option<std::path::PathBuf>,
}

/// The JSON of a window: frames, seconds, top-k, and the scores with `--all-scores`.
fn window_json(w: &WindowScores, labels: &[String], fps: f64, o: &TimelineOptions) -> anyhow::Result<Value> {
    let secs = |f: usize| if fps > 0.0 { f as f64 / fps } else { 0.0 };
    let top: Vec<Value> = top_k(&w.scores, o.top_k.min(labels.len()))?
        .iter()
        .map(|(i, s)| json!({"label": labels[*i], "score": s}))
        .collect();
    let mut v = json!({
        "start_frame": w.start_frame, "end_frame": w.end_frame,
        "start_s": secs(w.start_frame), "end_s": secs(w.end_frame),
        "frame_inds": w.frame_inds, "top_k": top,
    });
    if o.all_scores {
        v["scores"] = json!(w.scores);
    }
    Ok(v)
}

fn window_line(w: &WindowScores, labels: &[String], fps: f64, k: usize) -> anyhow::Result<String> {
    let secs = |f: usize| if fps > 0.0 { f as f64 / fps } else { 0.0 };
    let top = top_k(&w.scores, k.min(labels.len()))?;
    let best: Vec<String> = top.iter().map(|(i, s)| format!("{} {:.3}", labels[*i], s)).collect();
    Ok(format!(
        "{:>9.2}-{:<9.2} s  frames {:>6}-{:<6}  {}",
        secs(w.start_frame),
        secs(w.end_frame),
        w.start_frame,
        w.end_frame,
        best.join(", ")
    ))
}

/// Scores the windows of the video file `path` and prints them.
pub fn run_timeline(session: &mut Session, path: &Path, o: &TimelineOptions) -> anyhow::Result<TimelineStats> {
    let labels = session.labels.clone();
    let (all, grid, fps, stats) = windows_of_file(session, path, o, WindowOutput::Scores, |w, fps| {
        if !o.json {
            println!("{}", window_line(w, &labels, fps, o.top_k)?);
        }
        Ok(())
    })?;
    let (stats, segments) = report(session, &all, grid, fps, o, stats, 0)?;
    let name = path.display().to_string();
    if let Some(out) = &o.out_timeline {
        pictures::write_timeline(out, &name, &session.labels, &all, &segments, fps)?;
    }
    if let Some(out) = &o.out_video {
        pictures::write_annotated_video(path, out, &session.labels, o.top_k, |f| {
            &all[pictures::nearest_window(&all, f)].scores
        })?;
    }
    Ok(stats)
}

/// Every window of the video file `path` with `output` computed, and the video's frame
/// rate; `each` sees each window as it completes. [`WindowOutput::FrameFeatures`] makes
/// windows of one frame every grid frame.
pub fn file_windows(
    session: &mut Session,
    path: &Path,
    o: &TimelineOptions,
    output: WindowOutput,
    mut each: impl FnMut(&WindowScores) -> anyhow::Result<()>,
) -> anyhow::Result<(Vec<WindowScores>, f64)> {
    let (all, _, fps, _) = windows_of_file(session, path, o, output, |w, _| each(w))?;
    Ok((all, fps))
}

fn windows_of_file(
    session: &mut Session,
    path: &Path,
    o: &TimelineOptions,
    output: WindowOutput,
    mut each: impl FnMut(&WindowScores, f64) -> anyhow::Result<()>,
) -> anyhow::Result<(Vec<WindowScores>, WindowGrid, f64, TimelineStats)> {
    let pipeline = session.build_pipeline()?;
    let window = match output {
        WindowOutput::FrameFeatures => 1,
        _ => frames_per_clip(&pipeline)?,
    };
    let (_, after) = pipeline.split_at_decoding().context("the test pipeline has no decoding step")?;
    let reader = open_file(path, o.decode_threads)?;
    let info = reader.info().clone();
    let grid = o.grid.grid(info.fps, window)?;
    let windows = grid.num_windows(info.frame_count);
    if windows == 0 {
        bail!(
            "{}: {} frames are fewer than one window needs ({} = ({} - 1) * {} + 1): lower --frame-interval or --sample-fps",
            path.display(),
            info.frame_count,
            (grid.window - 1) * grid.frame_interval + 1,
            grid.window,
            grid.frame_interval
        );
    }
    log::info!(
        "{}: {} frames at {:.3} fps; {} windows of {} frames every {} (grid interval {})",
        path.display(),
        info.frame_count,
        info.fps,
        windows,
        grid.window,
        grid.stride,
        grid.frame_interval
    );
    let feed = file_feed(reader, grid, windows, FILE_CHUNK)?;
    let mut timeline = Timeline::with_output(after, grid, &path.display().to_string(), output);
    let mut progress = Progress::start(windows as u64, "windows");
    let mut all = Vec::new();
    for chunk in feed.chunks.iter() {
        let Chunk { positions, frame_inds, frames } = chunk?;
        let done = timeline.push(session, &positions, &frame_inds, frames)?;
        progress.inc(done.len() as u64);
        for w in &done {
            each(w, info.fps)?;
        }
        all.extend(done);
    }
    progress.finish();
    if all.len() != windows {
        bail!("{}: {} of {} windows were scored (the decoder stopped early)", path.display(), all.len(), windows);
    }
    Ok((all, grid, info.fps, timeline.stats))
}

/// Prints the segments (and, with `--json`, the whole result as one object).
fn report(
    session: &Session,
    all: &[WindowScores],
    grid: WindowGrid,
    fps: f64,
    o: &TimelineOptions,
    stats: TimelineStats,
    dropped: usize,
) -> anyhow::Result<(TimelineStats, Vec<Segment>)> {
    let spans: Vec<(usize, usize)> = all.iter().map(|w| (w.start_frame, w.end_frame)).collect();
    let scores: Vec<Vec<f32>> = all.iter().map(|w| w.scores.clone()).collect();
    let segments = merge_segments(&spans, &smooth_scores(&scores, o.smooth), &session.labels, fps, o.threshold);
    if o.json {
        let windows: Vec<Value> =
            all.iter().map(|w| window_json(w, &session.labels, fps, o)).collect::<anyhow::Result<_>>()?;
        let out = json!({
            "labels": session.labels, "fps": fps, "frame_interval": grid.frame_interval,
            "stride": grid.stride, "window": grid.window, "windows": windows, "segments": segments,
            "stats": {"frames_decoded": stats.frames_decoded, "frames_encoded": stats.frames_encoded,
                      "frames_dropped": dropped, "windows": stats.windows},
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("segments (threshold {}, smoothing {} windows):", o.threshold, o.smooth);
        for s in &segments {
            println!("{:>9.2}-{:<9.2} s  {} ({:.3}, {} windows)", s.start_s, s.end_s, s.label, s.score, s.windows);
        }
    }
    log::info!(
        "{} windows; {} grid frames decoded, {} encoded, {} dropped",
        stats.windows,
        stats.frames_decoded,
        stats.frames_encoded,
        dropped
    );
    Ok((stats, segments))
}

/// Scores windows of the live input `url` (`-`: standard input) as frames arrive; each
/// window is printed when complete (a JSON line with `--json`).
pub fn run_live(session: &mut Session, url: &str, o: &TimelineOptions) -> anyhow::Result<TimelineStats> {
    if o.out_video.is_some() {
        bail!("--out-video needs a video file to read twice; with --live use --out-timeline");
    }
    let pipeline = session.build_pipeline()?;
    let window = frames_per_clip(&pipeline)?;
    let (_, after) = pipeline.split_at_decoding().context("the test pipeline has no decoding step")?;
    let stream = kinema_video::FrameStream::open(url)?;
    let fps = stream.fps();
    let grid = o.grid.grid(fps, window)?;
    log::info!("{url}: live at {fps:.3} fps; windows of {} grid frames every {}", grid.window, grid.stride);
    let feed: FrameFeed = live_feed(stream, grid)?;
    let mut timeline = Timeline::new(after, grid, url);
    let mut stdout = std::io::stdout();
    let mut all = Vec::new();
    while let Ok(first) = feed.chunks.recv() {
        let mut chunk = first?;
        // Take what else has arrived, so a slow model catches up in one batch.
        while chunk.positions.len() < grid.stride {
            match feed.chunks.try_recv() {
                Ok(more) => append(&mut chunk, more?),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let Chunk { positions, frame_inds, frames } = chunk;
        for w in timeline.push(session, &positions, &frame_inds, frames)? {
            let line = if o.json {
                serde_json::to_string(&window_json(&w, &session.labels, fps, o)?)?
            } else {
                window_line(&w, &session.labels, fps, o.top_k)?
            };
            writeln!(stdout, "{line}")?;
            stdout.flush()?;
            all.push(w);
        }
    }
    let dropped = feed.dropped.load(Ordering::Relaxed);
    if o.json {
        let stats = timeline.stats;
        let s = json!({"end": true, "windows": stats.windows, "frames_decoded": stats.frames_decoded,
                       "frames_encoded": stats.frames_encoded, "frames_dropped": dropped});
        writeln!(stdout, "{s}")?;
        log::info!("{} windows; {} grid frames dropped", stats.windows, dropped);
        return Ok(stats);
    }
    let (stats, segments) =
        report(session, &all, grid, fps, &TimelineOptions { json: false, ..o.clone() }, timeline.stats, dropped)?;
    if let Some(out) = &o.out_timeline {
        pictures::write_timeline(out, url, &session.labels, &all, &segments, fps)?;
    }
    Ok(stats)
}

fn append(chunk: &mut Chunk, more: Chunk) {
    chunk.positions.extend(more.positions);
    chunk.frame_inds.extend(more.frame_inds);
    let f: &mut FrameStack = &mut chunk.frames;
    f.data.extend(more.frames.data);
    f.count += more.frames.count;
}
