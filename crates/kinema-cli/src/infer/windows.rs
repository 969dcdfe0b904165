//! The sampling grid and sliding windows of a long video's timeline, and the segments
//! merged from window scores. docs/zero_shot.md states the same rules:
//!
//! - grid frames are every `k`-th frame (`k` = `--frame-interval`, or
//!   `round(fps / --sample-fps)`);
//! - window `j` is the `T` grid frames `(j*m + i) * k`, `i = 0..T-1` (`T` = the model's
//!   frames per clip, `m` = `--stride` in grid frames);
//! - the last window is the last whose frames all exist;
//! - window `j` spans `start_frame = j*m*k` to `end_frame = (j*m + T)*k` (exclusive).

use anyhow::bail;
use serde::Serialize;

/// Grid and window sizes of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WindowGrid {
    /// `k`: frames between grid frames.
    pub frame_interval: usize,
    /// `T`: grid frames per window (the model's frames per clip).
    pub window: usize,
    /// `m`: grid frames between window starts.
    pub stride: usize,
}

impl WindowGrid {
    /// A grid of every `frame_interval`-th frame, windows of `window` grid frames every
    /// `stride` grid frames (`None`: `window / 2`, at least 1).
    pub fn new(frame_interval: usize, window: usize, stride: Option<usize>) -> anyhow::Result<Self> {
        let stride = stride.unwrap_or((window / 2).max(1));
        if frame_interval == 0 || window == 0 || stride == 0 {
            bail!("frame interval ({frame_interval}), window ({window}) and stride ({stride}) must be at least 1");
        }
        Ok(WindowGrid { frame_interval, window, stride })
    }

    /// `k = round(fps / sample_fps)` (halves up), at least 1: the frame interval for `--sample-fps`.
    pub fn interval_for_rate(fps: f64, sample_fps: f64) -> anyhow::Result<usize> {
        if !(sample_fps.is_finite() && sample_fps > 0.0) {
            bail!("--sample-fps must be a positive number, got {sample_fps}");
        }
        if !(fps.is_finite() && fps > 0.0) {
            bail!("the video states no frame rate: give --frame-interval instead of --sample-fps");
        }
        Ok(((fps / sample_fps).round() as usize).max(1))
    }

    /// The frame indices of window `j`.
    pub fn frame_inds(&self, j: usize) -> Vec<usize> {
        (0..self.window).map(|i| (j * self.stride + i) * self.frame_interval).collect()
    }

    /// `(start_frame, end_frame)` of window `j`, the end exclusive.
    pub fn span(&self, j: usize) -> (usize, usize) {
        let start = j * self.stride * self.frame_interval;
        (start, start + self.window * self.frame_interval)
    }

    /// How many windows a video of `frames` frames has (0 when it is shorter than one
    /// window, `(T - 1) * k + 1` frames).
    pub fn num_windows(&self, frames: usize) -> usize {
        let grid = frames.div_ceil(self.frame_interval);
        if grid < self.window {
            return 0;
        }
        (grid - self.window) / self.stride + 1
    }

    /// Whether grid position `p` belongs to some window (a stride longer than the window
    /// leaves grid frames no window uses).
    pub fn is_used(&self, p: usize) -> bool {
        p % self.stride < self.window || self.stride <= self.window
    }

    /// The grid positions windows `0..windows` use, ascending.
    pub fn used_positions(&self, windows: usize) -> Vec<usize> {
        let last = match windows {
            0 => return Vec::new(),
            n => (n - 1) * self.stride + self.window,
        };
        (0..last).filter(|&p| self.is_used(p)).collect()
    }
}

/// A run of consecutive windows with the same best label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// The label.
    pub label: String,
    /// First frame of the first window.
    pub start_frame: usize,
    /// End (exclusive) of the last window.
    pub end_frame: usize,
    /// `start_frame / fps`.
    pub start_s: f64,
    /// `end_frame / fps`.
    pub end_s: f64,
    /// The mean (smoothed) probability of the label over the segment's windows.
    pub score: f32,
    /// Number of windows merged.
    pub windows: usize,
}

/// Scores averaged over `smooth` consecutive windows centred on each window (`smooth`
/// of 1 leaves them as they are; the ends average the windows that exist).
pub fn smooth_scores(scores: &[Vec<f32>], smooth: usize) -> Vec<Vec<f32>> {
    let half = smooth.max(1) / 2;
    (0..scores.len())
        .map(|j| {
            let (lo, hi) = (j.saturating_sub(half), (j + half + 1).min(scores.len()));
            let n = (hi - lo) as f32;
            let mut mean = vec![0.0f32; scores[j].len()];
            for row in &scores[lo..hi] {
                for (m, s) in mean.iter_mut().zip(row) {
                    *m += s / n;
                }
            }
            mean
        })
        .collect()
}

/// Merges consecutive windows (`spans[j]`, `scores[j]`) whose best label is the same and
/// scores at least `threshold` into segments; windows below it end a segment.
pub fn merge_segments(
    spans: &[(usize, usize)],
    scores: &[Vec<f32>],
    labels: &[String],
    fps: f64,
    threshold: f32,
) -> Vec<Segment> {
    let seconds = |f: usize| if fps > 0.0 { f as f64 / fps } else { 0.0 };
    let mut out: Vec<Segment> = Vec::new();
    let mut open = false;
    for (&(start, end), row) in spans.iter().zip(scores) {
        let Some((best, &score)) = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))) else {
            continue;
        };
        if score < threshold || score.is_nan() {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(seg) if open && seg.label == labels[best] => {
                seg.score = (seg.score * seg.windows as f32 + score) / (seg.windows + 1) as f32;
                seg.windows += 1;
                seg.end_frame = end;
                seg.end_s = seconds(end);
            }
            _ => out.push(Segment {
                label: labels[best].clone(),
                start_frame: start,
                end_frame: end,
                start_s: seconds(start),
                end_s: seconds(end),
                score,
                windows: 1,
            }),
        }
        open = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_stated_grid() {
        let g = WindowGrid::new(4, 8, Some(4)).unwrap();
        assert_eq!(g.frame_inds(0), vec![0, 4, 8, 12, 16, 20, 24, 28]);
        assert_eq!(g.frame_inds(2), vec![32, 36, 40, 44, 48, 52, 56, 60]);
        assert_eq!(g.span(2), (32, 64));
        // 29 frames: grid 0..=28 is 8 positions -> exactly one window; 28 frames: none.
        assert_eq!(g.num_windows(29), 1);
        assert_eq!(g.num_windows(28), 0);
        // The last window's last frame exists, the next one's does not.
        let n = 1000;
        let w = g.num_windows(n);
        assert!(*g.frame_inds(w - 1).last().unwrap() < n);
        assert!(*g.frame_inds(w).last().unwrap() >= n);
        assert_eq!(WindowGrid::new(1, 8, None).unwrap().stride, 4);
        assert_eq!(WindowGrid::interval_for_rate(29.97, 4.0).unwrap(), 7);
        assert_eq!(WindowGrid::interval_for_rate(2.0, 4.0).unwrap(), 1);
        assert!(WindowGrid::interval_for_rate(0.0, 4.0).unwrap_err().to_string().contains("--frame-interval"));
    }

    #[test]
    fn a_stride_longer_than_the_window_skips_unused_grid_frames() {
        let g = WindowGrid::new(1, 2, Some(5)).unwrap();
        assert_eq!(g.used_positions(3), vec![0, 1, 5, 6, 10, 11]);
        let dense = WindowGrid::new(1, 4, Some(2)).unwrap();
        assert_eq!(dense.used_positions(2), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn segments_merge_equal_best_labels_above_the_threshold() {
        let labels: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let spans = [(0, 8), (4, 12), (8, 16), (12, 20), (16, 24)];
        let scores = vec![vec![0.9, 0.1], vec![0.7, 0.3], vec![0.2, 0.8], vec![0.45, 0.55], vec![0.4, 0.6]];
        let segs = merge_segments(&spans, &scores, &labels, 4.0, 0.5);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].label.as_str(), segs[0].start_frame, segs[0].end_frame, segs[0].windows), ("a", 0, 12, 2));
        assert!((segs[0].score - 0.8).abs() < 1e-6);
        assert_eq!((segs[1].label.as_str(), segs[1].start_frame, segs[1].end_frame), ("b", 8, 24));
        assert_eq!(segs[1].end_s, 6.0);
        // A window below the threshold splits a run.
        let split = merge_segments(&spans, &scores, &labels, 4.0, 0.58);
        assert_eq!(
            split.iter().map(|s| (s.start_frame, s.end_frame)).collect::<Vec<_>>(),
            [(0, 12), (8, 16), (16, 24)]
        );
        let smooth = smooth_scores(&scores, 3);
        assert!((smooth[0][0] - 0.8).abs() < 1e-6 && (smooth[1][0] - 0.6).abs() < 1e-6);
    }
}
