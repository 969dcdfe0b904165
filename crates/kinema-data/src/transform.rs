//! The [`Transform`] trait, its registry kind and [`Pipeline`], a built list of them.

use std::time::{Duration, Instant};

use kinema_core::registry::{build_list, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Kind;
use serde_json::Value;

use crate::error::{DataError, TransformError};
use crate::sample::Sample;

/// One step of a data pipeline (MMAction2's `BaseTransform`). Implementations are shared
/// by every worker thread, so they hold only their config; every random choice comes
/// from the `rng` handed in, which is derived from (seed, epoch, sample index).
pub trait Transform: Send + Sync {
    /// Applies the transform to `sample` in place.
    fn apply(&self, sample: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError>;
    /// True for the step that decodes the chosen frames into `imgs` (`DecordDecode`):
    /// tools that decode frames themselves (a long video's timeline) run only the steps
    /// after it (see [`Pipeline::split_at_decoding`]).
    fn decodes_frames(&self) -> bool {
        false
    }
}

/// The registry kind of transforms: config tables `{type = "Resize", scale = [-1, 256]}`.
pub struct TransformKind;

impl Kind for TransformKind {
    const NAME: &'static str = "transform";
    type Context = ();
    type Output = dyn Transform;
}

/// A built pipeline: transforms with their registered names and resolved configs.
pub struct Pipeline {
    steps: Vec<Step>,
}

struct Step {
    name: &'static str,
    config: Value,
    transform: Box<dyn Transform>,
}

impl Pipeline {
    /// Builds the list of transform tables at `site` (`train_dataloader.dataset.pipeline`).
    pub fn build(value: &Value, site: &BuildSite<'_>) -> Result<Self, DataError> {
        let built = build_list::<TransformKind>(value, site, &())?;
        let steps = built
            .into_iter()
            .map(|b| Step { name: b.type_name, config: b.resolved_config(), transform: b.into_inner() })
            .collect();
        Ok(Pipeline { steps })
    }

    /// A pipeline from already built transforms (tests, programmatic use).
    pub fn from_transforms(transforms: Vec<(&'static str, Box<dyn Transform>)>) -> Self {
        let steps =
            transforms.into_iter().map(|(name, transform)| Step { name, config: Value::Null, transform }).collect();
        Pipeline { steps }
    }

    /// Splits the pipeline into the steps up to and including the one that decodes
    /// frames, and the steps after it; `None` when no step decodes frames.
    pub fn split_at_decoding(mut self) -> Option<(Pipeline, Pipeline)> {
        let at = self.steps.iter().position(|s| s.transform.decodes_frames())?;
        let after = self.steps.split_off(at + 1);
        Some((self, Pipeline { steps: after }))
    }

    /// Number of transforms.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when the pipeline has no transforms.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The registered names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.name).collect()
    }

    /// The resolved config of every transform (defaults filled in), in order.
    pub fn resolved_configs(&self) -> Vec<Value> {
        self.steps.iter().map(|s| s.config.clone()).collect()
    }

    /// Runs every transform on `sample`.
    pub fn run(&self, sample: &mut Sample, rng: &mut SampleRng) -> Result<(), DataError> {
        self.run_observed(sample, rng, |_, _, _| {})
    }

    /// Runs every transform, calling `observe(name, sample, elapsed)` after each one
    /// (used by `tools/inspect_pipeline` to print shapes and timings).
    pub fn run_observed(
        &self,
        sample: &mut Sample,
        rng: &mut SampleRng,
        mut observe: impl FnMut(&str, &Sample, Duration),
    ) -> Result<(), DataError> {
        for step in &self.steps {
            let start = Instant::now();
            step.transform.apply(sample, rng).map_err(|source| DataError::Transform {
                file: sample.source_name(),
                index: sample.index,
                transform: step.name.to_string(),
                source: Box::new(source),
            })?;
            observe(step.name, sample, start.elapsed());
        }
        Ok(())
    }
}
