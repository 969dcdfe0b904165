//! What `tools/infer` draws: `--out-timeline out.png` (label probabilities over a long
//! video's windows, with the merged segments) and `--out-video out.mp4` (the input's frames
//! with the top-k labels and probability bars, H.264).

use std::path::Path;

use anyhow::Context;
use kinema_logging::plot::{annotate_frame, plot_timeline, TimelinePlot};
use kinema_logging::progress::Progress;
use kinema_video::writer::{VideoWriter, WriterOptions};

use super::frames::open_file;
use super::labels::top_k;
use super::timeline::WindowScores;
use super::windows::Segment;

/// Frames narrower than this are enlarged (by a whole factor, pixels repeated) so the
/// labels drawn on them stay readable.
const MIN_VIDEO_WIDTH: usize = 320;

/// Frames decoded at a time for the annotated video.
const CHUNK: usize = 32;

/// Lines in the timeline figure at least: every segment's label, then the labels held longest.
const TIMELINE_LINES: usize = 6;

/// Writes the timeline PNG of `video`'s `windows` and `segments`.
pub fn write_timeline(
    out: &Path,
    video: &str,
    labels: &[String],
    windows: &[WindowScores],
    segments: &[Segment],
    fps: f64,
) -> anyhow::Result<()> {
    let secs = |f: usize| if fps > 0.0 { f as f64 / fps } else { f as f64 };
    let plot = TimelinePlot {
        title: video.to_string(),
        labels: labels.to_vec(),
        windows: windows.iter().map(|w| ((secs(w.start_frame), secs(w.end_frame)), w.scores.clone())).collect(),
        segments: segments
            .iter()
            .filter_map(|s| Some(((s.start_s, s.end_s), labels.iter().position(|l| *l == s.label)?)))
            .collect(),
        max_lines: TIMELINE_LINES,
    };
    plot_timeline(&plot, out, 1280, 560)?;
    log::info!("wrote {}", out.display());
    Ok(())
}

/// Writes `input`'s frames to `out` with the top `k` labels of `scores_at(frame)` drawn.
pub fn write_annotated_video<'a>(
    input: &Path,
    out: &Path,
    labels: &[String],
    k: usize,
    scores_at: impl Fn(usize) -> &'a [f32],
) -> anyhow::Result<()> {
    let mut reader = open_file(input, 1)?;
    let info = reader.info().clone();
    let scale = MIN_VIDEO_WIDTH.div_ceil(info.width).max(1);
    let (w, h) = ((info.width * scale) & !1, (info.height * scale) & !1);
    let fps = info.fps.round().max(1.0) as u32;
    let mut writer = VideoWriter::create(out, &WriterOptions::new(w as u32, h as u32, fps))?;
    let mut progress = Progress::start(info.frame_count as u64, "annotated video");
    let mut frame = vec![0u8; w * h * 3];
    for start in (0..info.frame_count).step_by(CHUNK) {
        let inds: Vec<usize> = (start..(start + CHUNK).min(info.frame_count)).collect();
        let frames = reader.read_frames(&inds).with_context(|| format!("cannot decode {}", input.display()))?;
        for (i, &f) in inds.iter().enumerate() {
            let src = frames.frame(i).context("the decoder returned fewer frames")?;
            enlarge(src, (info.width, info.height), scale, &mut frame, (w, h));
            let rows: Vec<(String, f32)> =
                top_k(scores_at(f), k.min(labels.len()))?.into_iter().map(|(c, p)| (labels[c].clone(), p)).collect();
            let secs = if info.fps > 0.0 { f as f64 / info.fps } else { 0.0 };
            annotate_frame(&mut frame, (w as u32, h as u32), &rows, &format!("{secs:.2} s"), out)?;
            writer.write_frame(&frame)?;
        }
        progress.inc(inds.len() as u64);
    }
    writer.finish()?;
    progress.finish();
    log::info!("wrote {} ({} frames of {w}x{h})", out.display(), info.frame_count);
    Ok(())
}

/// Copies `src` (`sw` x `sh` RGB) into `dst` (`dw` x `dh`), each pixel repeated `scale`
/// times in both directions (the last odd row or column dropped).
fn enlarge(src: &[u8], (sw, _sh): (usize, usize), scale: usize, dst: &mut [u8], (dw, dh): (usize, usize)) {
    for y in 0..dh {
        let row = &src[(y / scale) * sw * 3..];
        let out = &mut dst[y * dw * 3..(y + 1) * dw * 3];
        for x in 0..dw {
            out[x * 3..x * 3 + 3].copy_from_slice(&row[(x / scale) * 3..(x / scale) * 3 + 3]);
        }
    }
}

/// The window whose centre is nearest to frame `f` (windows in order).
pub fn nearest_window(windows: &[WindowScores], f: usize) -> usize {
    let centre = |w: &WindowScores| (w.start_frame + w.end_frame) as f64 / 2.0;
    let mut best = 0;
    for (j, w) in windows.iter().enumerate() {
        if (centre(w) - f as f64).abs() < (centre(&windows[best]) - f as f64).abs() {
            best = j;
        }
    }
    best
}
