//! Stacking processed samples into one contiguous batch buffer.

use crate::dataset::{Processed, SampleMeta};
use crate::error::DataError;
use crate::sample::Label;

/// One batch: every sample's input stacked into ONE contiguous `u8` buffer, ready to
/// become a `[B, ...]` tensor without another copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `shape.iter().product()` bytes, samples one after the other.
    pub inputs: Vec<u8>,
    /// `[B, ...sample shape]`, e.g. `[B, T, 3, 224, 224]` for NCHW pipelines.
    pub shape: Vec<usize>,
    /// One label per sample.
    pub labels: Vec<Label>,
    /// Dataset index of each sample (the substitute's when a sample was skipped).
    pub indices: Vec<usize>,
    /// Meta information of each sample (file, frame indices, shapes, flip, ...).
    pub metas: Vec<SampleMeta>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The shape of one sample (`shape` without the batch axis).
    pub fn sample_shape(&self) -> &[usize] {
        self.shape.get(1..).unwrap_or(&[])
    }

    /// Class indices, when every label is a single index (`gt_label`, int64).
    pub fn label_indices(&self) -> Option<Vec<i64>> {
        self.labels
            .iter()
            .map(|l| match l {
                Label::Index(i) => Some(*i),
                Label::MultiHot(_) => None,
            })
            .collect()
    }

    /// `[B, num_classes]` one-hot labels, when every label is multi-hot of one length.
    pub fn multi_hot(&self) -> Option<(Vec<f32>, usize)> {
        let mut out = Vec::new();
        let mut width = None;
        for l in &self.labels {
            let Label::MultiHot(v) = l else { return None };
            if *width.get_or_insert(v.len()) != v.len() {
                return None;
            }
            out.extend_from_slice(v);
        }
        Some((out, width.unwrap_or(0)))
    }
}

/// Stacks `samples` (all of one input shape) into a [`Batch`].
pub fn collate(samples: Vec<Processed>) -> Result<Batch, DataError> {
    let Some(first) = samples.first() else {
        return Err(DataError::Collate("no samples".into()));
    };
    let sample_shape = first.inputs.shape.clone();
    let each: usize = sample_shape.iter().product();
    let mut inputs = Vec::with_capacity(each * samples.len());
    let mut labels = Vec::with_capacity(samples.len());
    let mut indices = Vec::with_capacity(samples.len());
    let mut metas = Vec::with_capacity(samples.len());
    for p in samples {
        if p.inputs.shape != sample_shape || p.inputs.data.len() != each {
            return Err(DataError::Collate(format!(
                "{} has input shape {:?} but {} has {:?}; add a crop or resize so all samples match",
                p.meta.source,
                p.inputs.shape,
                metas.first().map(|m: &SampleMeta| m.source.as_str()).unwrap_or("the first sample"),
                sample_shape
            )));
        }
        inputs.extend_from_slice(&p.inputs.data);
        labels.push(p.label);
        indices.push(p.meta.index);
        metas.push(p.meta);
    }
    let mut shape = vec![labels.len()];
    shape.extend_from_slice(&sample_shape);
    Ok(Batch { inputs, shape, labels, indices, metas })
}
