//! Loading named tensors into a model's variables, strictly or not, with every mismatch
//! (missing, unexpected and wrongly shaped keys) reported together.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use tch::{nn::VarStore, Tensor};

use super::error::{CheckpointError, Result};
use super::load::load_checkpoint;

/// How to treat a checkpoint that does not match the model exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Any missing, unexpected or wrongly shaped key is an error and nothing is copied
    /// (PyTorch's `load_state_dict(strict=True)`).
    Strict,
    /// Matching keys are copied; the mismatches are returned in the report and logged as
    /// warnings (MMEngine's default `strict=False`). Wrongly shaped keys are skipped.
    NonStrict,
}

/// A key whose shape differs between the model and the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The key.
    pub name: String,
    /// The model variable's shape.
    pub model: Vec<i64>,
    /// The checkpoint tensor's shape.
    pub checkpoint: Vec<i64>,
}

/// What loading found: which keys matched and every kind of mismatch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Where the tensors came from (a file path or a description), for messages.
    pub source: String,
    /// Number of variables copied (0 in strict mode when there is any mismatch).
    pub loaded: usize,
    /// Model variables absent from the checkpoint, with the model's shapes, sorted by name.
    pub missing: Vec<(String, Vec<i64>)>,
    /// Checkpoint tensors the model has no variable for, with their shapes, in file order.
    pub unexpected: Vec<(String, Vec<i64>)>,
    /// Keys present in both with different shapes, in file order.
    pub mismatched: Vec<ShapeMismatch>,
}

impl LoadReport {
    /// True when the checkpoint matched the model exactly.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the checkpoint does not match the model: {} missing, {} unexpected, {} with the wrong shape",
            self.source,
            self.missing.len(),
            self.unexpected.len(),
            self.mismatched.len()
        )?;
        if !self.missing.is_empty() {
            write!(f, "\n  missing (in the model, not in the checkpoint):")?;
            for (name, shape) in &self.missing {
                write!(f, "\n    {name} {shape:?}")?;
            }
        }
        if !self.unexpected.is_empty() {
            write!(f, "\n  unexpected (in the checkpoint, not in the model):")?;
            for (name, shape) in &self.unexpected {
                write!(f, "\n    {name} {shape:?}")?;
            }
        }
        if !self.mismatched.is_empty() {
            write!(f, "\n  wrong shape (model vs checkpoint):")?;
            for m in &self.mismatched {
                write!(f, "\n    {}: model {:?}, checkpoint {:?}", m.name, m.model, m.checkpoint)?;
            }
        }
        Ok(())
    }
}

/// Copies `source` tensors into the `targets` variables with the same names (converted to each
/// variable's dtype and device, e.g. fp16 file weights into fp32 variables). `source_name`
/// names the checkpoint in the report. See [`LoadMode`] for what happens on mismatches.
pub fn load_into_tensors<'a>(
    targets: impl IntoIterator<Item = (&'a str, &'a Tensor)>,
    source: &[(String, Tensor)],
    mode: LoadMode,
    source_name: &str,
) -> Result<LoadReport> {
    load_pairs(targets, source, mode, source_name, false)
}

fn load_pairs<'a>(
    targets: impl IntoIterator<Item = (&'a str, &'a Tensor)>,
    source: &[(String, Tensor)],
    mode: LoadMode,
    source_name: &str,
    share: bool,
) -> Result<LoadReport> {
    let by_name: HashMap<&str, &Tensor> = source.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut report = LoadReport { source: source_name.to_string(), ..LoadReport::default() };
    let mut pairs = Vec::new();
    let mut known = HashSet::new();
    for (name, var) in targets {
        known.insert(name);
        match by_name.get(name) {
            None => report.missing.push((name.to_string(), var.size())),
            Some(src) if src.size() != var.size() => report.mismatched.push(ShapeMismatch {
                name: name.to_string(),
                model: var.size(),
                checkpoint: src.size(),
            }),
            Some(src) => pairs.push((name, var, *src)),
        }
    }
    report.missing.sort();
    let order: HashMap<&str, usize> = source.iter().enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();
    report.mismatched.sort_by_key(|m| order.get(m.name.as_str()).copied());
    report.unexpected =
        source.iter().filter(|(n, _)| !known.contains(n.as_str())).map(|(n, t)| (n.clone(), t.size())).collect();

    if mode == LoadMode::Strict && !report.is_clean() {
        return Err(CheckpointError::Mismatch(Box::new(report)));
    }
    let adoptable = if share { adoptable_sources(&pairs) } else { vec![false; pairs.len()] };
    tch::no_grad(|| -> Result<()> {
        for ((name, var, src), adopt) in pairs.iter().zip(adoptable) {
            let mut dst = var.shallow_clone();
            let done = if adopt { dst.f_set_data(src) } else { dst.f_copy_(src) };
            done.map_err(|e| {
                CheckpointError::content(source_name, format!("copying `{name}` into the model failed: {e}"))
            })?;
        }
        Ok(())
    })?;
    report.loaded = pairs.len();
    if !report.is_clean() {
        log::warn!("{report}");
    }
    Ok(report)
}

/// Which sources a variable can take over instead of copying (`set_data`: no second copy
/// of the weights in memory, no time spent copying): those already in the variable's
/// dtype, on the CPU like it, contiguous, and not overlapping another source's memory (two
/// variables must never share storage). The others are copied.
fn adoptable_sources(pairs: &[(&str, &Tensor, &Tensor)]) -> Vec<bool> {
    let span = |t: &Tensor| {
        let start = t.data_ptr() as usize;
        (start, start + t.numel() * t.kind().elt_size_in_bytes())
    };
    let mut spans: Vec<(usize, usize)> = pairs.iter().map(|(_, _, src)| span(src)).collect();
    spans.sort_unstable();
    let overlaps = |s: (usize, usize)| {
        let i = spans.partition_point(|x| *x < s);
        let before = i > 0 && spans[i - 1].1 > s.0;
        let after = spans.get(i + 1).is_some_and(|x| x.0 < s.1);
        before || after
    };
    pairs
        .iter()
        .map(|(_, var, src)| {
            let cpu = var.device() == tch::Device::Cpu && src.device() == tch::Device::Cpu;
            cpu && var.kind() == src.kind()
                && src.is_contiguous()
                && var.is_contiguous()
                && src.numel() > 0
                && !overlaps(span(src))
        })
        .collect()
}

/// Loads `source` into the variables of `vs` (names are the `.`-joined VarStore paths, which
/// match PyTorch state-dict keys). See [`load_into_tensors`].
pub fn load_into_varstore(
    vs: &VarStore,
    source: &[(String, Tensor)],
    mode: LoadMode,
    source_name: &str,
) -> Result<LoadReport> {
    let vars = vs.variables();
    load_pairs(vars.iter().map(|(n, t)| (n.as_str(), t)), source, mode, source_name, false)
}

/// [`load_into_varstore`] where a variable takes over its source tensor's memory instead
/// of copying it, whenever it can (same dtype, CPU, contiguous, overlapping no other
/// source): loading a 600 MB checkpoint then writes nothing. Afterwards the variables
/// share memory with `source`: for a checkpoint read to be loaded once, not for tensors
/// the caller goes on using or loads into a second model.
pub fn load_into_varstore_sharing(
    vs: &VarStore,
    source: &[(String, Tensor)],
    mode: LoadMode,
    name: &str,
) -> Result<LoadReport> {
    load_pairs(vs.variables().iter().map(|(n, t)| (n.as_str(), t)), source, mode, name, true)
}

/// Reads the checkpoint at `path` (any supported format) and loads it into `vs`.
pub fn load_file_into_varstore(vs: &VarStore, path: impl AsRef<Path>, mode: LoadMode) -> Result<LoadReport> {
    let path = path.as_ref();
    let ckpt = load_checkpoint(path)?;
    load_into_varstore(vs, &ckpt.tensors, mode, &path.display().to_string())
}
