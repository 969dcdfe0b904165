//! Sliding-window scoring of a frame sequence: grid frames come in (in chunks, in
//! order), each is transformed and encoded once, and every window whose frames are all
//! in is scored by the model's temporal head. Memory holds one window plus one chunk.

use std::collections::VecDeque;

use anyhow::bail;
use kinema_data::sample::FrameStack;
use kinema_data::transform::Pipeline;
use serde::Serialize;
use tch::Tensor;

use super::session::Session;
use super::video::transform_frames;
use super::windows::WindowGrid;

/// What a [`Timeline`] computes per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowOutput {
    /// Class probabilities, one per label.
    Scores,
    /// The clip embedding the model's temporal head makes of the window's frames.
    ClipEmbedding,
    /// The frame features themselves (windows of one frame).
    FrameFeatures,
}

/// A scored window.
#[derive(Debug, Clone, Serialize)]
pub struct WindowScores {
    /// Window number `j`.
    pub index: usize,
    /// The frames the window holds (with dropped live frames, the gaps show here).
    pub frame_inds: Vec<usize>,
    /// The first frame.
    pub start_frame: usize,
    /// The frame after the window: last frame + frame interval.
    pub end_frame: usize,
    /// One probability per label (for [`WindowOutput::Scores`]; else the embedding or
    /// the frame's features).
    pub scores: Vec<f32>,
}

/// Counters a test or a benchmark can check.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct TimelineStats {
    /// Grid frames decoded and transformed.
    pub frames_decoded: usize,
    /// Grid frames whose image features the model computed (once each).
    pub frames_encoded: usize,
    /// Windows scored.
    pub windows: usize,
}

/// What the buffer holds per grid frame: its features, or (for models without
/// per-frame features) its preprocessed pixels.
enum Held {
    Features,
    Pixels,
}

/// The sliding-window scorer.
pub struct Timeline {
    after_decoding: Pipeline,
    grid: WindowGrid,
    /// `(grid position, frame index, features or pixels [1, ...])`, ascending positions.
    buffer: VecDeque<(usize, usize, Tensor)>,
    held: Option<Held>,
    output: WindowOutput,
    next_window: usize,
    name: String,
    /// The counters so far.
    pub stats: TimelineStats,
}

impl Timeline {
    /// A timeline of `name` (for messages) with the steps after decoding of the test
    /// pipeline, on `grid`.
    pub fn new(after_decoding: Pipeline, grid: WindowGrid, name: &str) -> Self {
        Self::with_output(after_decoding, grid, name, WindowOutput::Scores)
    }

    /// Like [`Timeline::new`], computing `output` per window.
    pub fn with_output(after_decoding: Pipeline, grid: WindowGrid, name: &str, output: WindowOutput) -> Self {
        Timeline {
            after_decoding,
            grid,
            buffer: VecDeque::new(),
            held: None,
            output,
            next_window: 0,
            name: name.to_string(),
            stats: TimelineStats::default(),
        }
    }

    /// The grid.
    pub fn grid(&self) -> &WindowGrid {
        &self.grid
    }

    /// Adds grid frames `frames` (decoded RGB) at grid `positions` with video frame indices
    /// `frame_inds`, all ascending and after the frames added before; returns the windows
    /// now complete.
    pub fn push(
        &mut self,
        session: &mut Session,
        positions: &[usize],
        frame_inds: &[usize],
        frames: FrameStack,
    ) -> anyhow::Result<Vec<WindowScores>> {
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        let inputs = transform_frames(&self.after_decoding, frames, frame_inds, &self.name)?;
        self.stats.frames_decoded += positions.len();
        let x = session.model.preprocess(&inputs.to_device(session.device))?;
        let size = x.size();
        let x = x.reshape([&[size[1]], &size[2..]].concat());
        let (held, per_frame) = match session.run(|m| m.frame_features(&x))?? {
            Some(f) => {
                self.stats.frames_encoded += positions.len();
                (Held::Features, f)
            }
            None => (Held::Pixels, x),
        };
        self.held = Some(held);
        for (i, (&p, &f)) in positions.iter().zip(frame_inds).enumerate() {
            self.buffer.push_back((p, f, per_frame.narrow(0, i as i64, 1)));
        }
        self.score_ready(session)
    }

    /// Scores every window whose frames are all buffered, then forgets frames no later
    /// window needs.
    fn score_ready(&mut self, session: &mut Session) -> anyhow::Result<Vec<WindowScores>> {
        let (t, m) = (self.grid.window, self.grid.stride);
        let mut ready: Vec<(usize, Vec<usize>, Tensor)> = Vec::new();
        loop {
            let first = self.next_window * m;
            let Some(start) = self.buffer.iter().position(|(p, _, _)| *p == first) else { break };
            let window: Vec<&(usize, usize, Tensor)> = self.buffer.iter().skip(start).take(t).collect();
            if window.len() < t {
                break;
            }
            if window.iter().enumerate().any(|(i, (p, _, _))| *p != first + i) {
                bail!("{}: grid frames {first}..{} are not all present", self.name, first + t);
            }
            let inds = window.iter().map(|(_, f, _)| *f).collect();
            let parts: Vec<&Tensor> = window.iter().map(|(_, _, x)| x).collect();
            ready.push((self.next_window, inds, Tensor::cat(&parts, 0).unsqueeze(0)));
            self.next_window += 1;
        }
        let keep_from = self.next_window * m;
        while self.buffer.front().is_some_and(|(p, _, _)| *p < keep_from) {
            self.buffer.pop_front();
        }
        if ready.is_empty() {
            return Ok(Vec::new());
        }
        let batch = Tensor::cat(&ready.iter().map(|(_, _, x)| x).collect::<Vec<_>>(), 0);
        let features = matches!(self.held, Some(Held::Features));
        let output = self.output;
        let values = session.run(|model| -> anyhow::Result<Tensor> {
            Ok(match (output, features) {
                (WindowOutput::Scores, true) => model.score_frame_features(&batch)?,
                (WindowOutput::Scores, false) => model.predict_inputs(&batch)?,
                (WindowOutput::ClipEmbedding, true) => model.embed_frame_features(&batch)?,
                (WindowOutput::FrameFeatures, true) => batch.flatten(1, -1),
                (_, false) => bail!("window and frame features need a model that encodes frames one by one"),
            })
        })??;
        let values = values.to_kind(tch::Kind::Float).to_device(tch::Device::Cpu).contiguous();
        let k = self.grid.frame_interval;
        let mut out = Vec::with_capacity(ready.len());
        for (r, (index, frame_inds, _)) in ready.into_iter().enumerate() {
            let scores = match self.output {
                WindowOutput::Scores => session.row(&values, r as i64)?,
                _ => Vec::<f32>::try_from(values.get(r as i64))?,
            };
            let start_frame = frame_inds[0];
            let end_frame = frame_inds[frame_inds.len() - 1] + k;
            out.push(WindowScores { index, frame_inds, start_frame, end_frame, scores });
        }
        self.stats.windows += out.len();
        Ok(out)
    }
}
