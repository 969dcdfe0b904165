//! Synthetic motion videos for demos and tests: a shape moving left / right / up / down,
//! rotating, growing, shrinking, blinking, ... on a noisy background.
//!
//! Appearance (shape, colours, size, start position, speed, background gradient and noise)
//! is random per video, so only the motion, i.e. the temporal order of frames, tells the
//! classes apart. Everything is deterministic for a given seed.
//!
//! [`write_dataset`] writes an MMAction2 `VideoDataset`: `videos/<class>/<class>_NNN.mp4`,
//! `train_list.txt` / `val_list.txt` / `test_list.txt` (`relative/path.mp4 label` per line)
//! and `label_map.txt` (one class name per line, line number = label).
//! [`write_sequence`] writes one long video of several motions in a row (for timelines).

mod dataset;
mod motion;
mod scene;
mod sequence;

pub use dataset::{parse_size, scene_for, write_dataset, DatasetError, DatasetOptions, DatasetSummary, Split};
pub use motion::{Motion, Shape};
pub use scene::Scene;
pub use sequence::{write_sequence, SequencePart};
