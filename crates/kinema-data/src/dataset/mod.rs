//! Datasets: annotation lists turned into [`Sample`]s that run through a [`Pipeline`].
//!
//! * [`VideoDataset`](video::VideoDataset): `relative/path.mp4 label` per line.
//! * [`RawframeDataset`](rawframe::RawframeDataset): `frame_dir total_frames label`.
//!
//! A dataset only turns index `i` into a [`Sample`]; [`Dataset::get`] runs the
//! pipeline and packs the result. Unreadable samples are handled by the loader with the
//! dataset's [`ErrorPolicy`] (see [`policy`]).

use kinema_core::rng::SampleRng;
use kinema_core::Kind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::sample::Sample;
use crate::transform::Pipeline;

mod action;
pub mod annotations;
mod meta;
pub mod policy;
pub mod rawframe;
pub mod video;

pub use action::{join_root, ActionDataset, CommonConfig, DataPrefix};
pub use meta::{Processed, SampleMeta};
pub use policy::{fetch, SkipLog, SkipReport};

/// What to do with a sample whose file cannot be read or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Fail with an error naming the file (MMAction2's behaviour for exceptions).
    #[default]
    Raise,
    /// Warn once per file and load a deterministically chosen other sample instead;
    /// counted and reported at the end of the epoch.
    Skip,
}

/// A dataset's policy for unreadable samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorPolicy {
    /// Raise or skip.
    pub on_error: OnError,
    /// With `skip`: how many substitutes to try before giving up (MMEngine's
    /// `max_refetch`).
    pub max_refetch: usize,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy { on_error: OnError::Raise, max_refetch: 1000 }
    }
}

/// An indexable collection of samples with a pipeline. Implement it (and register a
/// [`Component<DatasetKind>`](kinema_core::Component)) to add a dataset type.
pub trait Dataset: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file of sample `index` (video or frame folder), for messages and reports.
    fn source(&self, index: usize) -> String;

    /// Sample `index` as the dataset knows it (file, label, start index, ...), before
    /// any transform.
    fn sample(&self, index: usize) -> Result<Sample, DataError>;

    /// The transforms every sample goes through.
    fn pipeline(&self) -> &Pipeline;

    /// How unreadable samples are handled.
    fn policy(&self) -> ErrorPolicy {
        ErrorPolicy::default()
    }

    /// Class names from the label map, when one was given.
    fn class_names(&self) -> Option<&[String]> {
        None
    }

    /// Whether the dataset was built for validation/testing.
    fn test_mode(&self) -> bool {
        false
    }

    /// Loads sample `index`: builds it, runs the pipeline with `rng` and packs it.
    fn get(&self, index: usize, rng: &mut SampleRng) -> Result<Processed, DataError> {
        if index >= self.len() {
            return Err(DataError::IndexOutOfRange { index, len: self.len() });
        }
        let mut sample = self.sample(index)?;
        self.pipeline().run(&mut sample, rng)?;
        Processed::from_sample(sample)
    }
}

/// The registry kind of datasets (`dataset = {type = "VideoDataset", ...}`).
pub struct DatasetKind;

impl Kind for DatasetKind {
    const NAME: &'static str = "dataset";
    type Context = ();
    type Output = dyn Dataset;
}
