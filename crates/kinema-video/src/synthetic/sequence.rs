//! A long video of several motions in a row, for timelines: one scene per motion, each
//! drawn like a dataset video (new appearance, same rules), written one after the other
//! into one file, with the ground truth of where each motion is.

use std::path::Path;

use super::dataset::{scene_for, DatasetError, DatasetOptions};
use super::motion::Motion;
use crate::writer::{VideoWriter, WriterOptions};

/// Video numbers of the scenes of a sequence: after any dataset's (so a sequence never
/// repeats a dataset video).
const FIRST_SEQUENCE_VIDEO: usize = 1_000_000;

/// One motion of a sequence: frames `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencePart {
    /// The class index (into [`Motion::ALL`]).
    pub class: usize,
    /// The class name.
    pub name: &'static str,
    /// First frame.
    pub start: usize,
    /// One past the last frame.
    pub end: usize,
}

/// Writes `path`: the motions `classes` in this order, `options.frames` frames each, at
/// `options` size and rate, drawn from `options.seed`. Returns where each motion is.
pub fn write_sequence(
    path: &Path,
    options: &DatasetOptions,
    classes: &[usize],
) -> Result<Vec<SequencePart>, DatasetError> {
    options.validate()?;
    if let Some(c) = classes.iter().find(|&&c| c >= Motion::ALL.len()) {
        return Err(DatasetError::InvalidOptions(format!("class {c} does not exist (0..{})", Motion::ALL.len())));
    }
    let mut writer_options = WriterOptions::new(options.width, options.height, options.fps);
    writer_options.codec = options.codec;
    let mut writer = VideoWriter::create(path, &writer_options)?;
    let mut parts = Vec::with_capacity(classes.len());
    let frame_bytes = options.width as usize * options.height as usize * 3;
    for (i, &class) in classes.iter().enumerate() {
        let scene = scene_for(options, class, FIRST_SEQUENCE_VIDEO + i);
        let start = i * options.frames;
        for frame in scene.render().chunks_exact(frame_bytes) {
            writer.write_frame(frame)?;
        }
        parts.push(SequencePart { class, name: Motion::ALL[class].name(), start, end: start + options.frames });
    }
    writer.finish()?;
    Ok(parts)
}
