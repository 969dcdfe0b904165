//! `DumpResults`: every sample's prediction, written to a file (`tools/test --dump`):
//! JSON (`.json`), or a Python pickle (`.pkl` / `.pickle`) of the records MMAction2's
//! `DumpResults` writes, so its analysis tools read it.

use std::path::{Path, PathBuf};

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use kinema_torch::checkpoint::{PyObject, PyValue};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{EvalInfo, Metric, MetricKind, SampleResult};
use crate::hooks::Metrics;
use crate::EngineError;

/// Dumps per-sample predictions (sorted by dataset index): file, ground truth and
/// predicted class (index and name), and the scores.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DumpResultsConfig {
    /// The output file: `.json`, or `.pkl`/`.pickle` for MMAction2's analysis tools.
    pub out_file_path: String,
    /// Accepted for MMEngine configs; results are always gathered on the CPU.
    #[serde(default)]
    pub collect_device: Option<String>,
}

/// The dumping "metric" (it reports no values).
pub struct DumpResults {
    path: PathBuf,
    pickle: bool,
}

/// Fails now, before an evaluation pass, when `path` cannot be written: its folder is
/// made and a file created and removed beside it.
pub fn check_writable(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    if path.is_dir() {
        return Err(format!("{} is a folder, not a file", path.display()));
    }
    tempfile::Builder::new()
        .prefix(".kinema-write-check")
        .tempfile_in(&dir)
        .map(drop)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))
}

impl Component<MetricKind> for DumpResults {
    type Config = DumpResultsConfig;
    fn build(config: &DumpResultsConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Metric>, BoxError> {
        let path = PathBuf::from(&config.out_file_path);
        let pickle = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => false,
            Some("pkl" | "pickle") => true,
            _ => {
                return Err(
                    format!("out_file_path \"{}\" must end with .json, .pkl or .pickle", config.out_file_path).into()
                )
            }
        };
        check_writable(&path)?;
        Ok(Box::new(DumpResults { path, pickle }))
    }
}
register!(MetricKind, "DumpResults", DumpResults);

/// The first largest score's class (`np.argmax`); `None` for an empty row.
fn predicted(scores: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &s) in scores.iter().enumerate() {
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

/// One JSON record.
pub fn record(r: &SampleResult, class_names: Option<&[String]>) -> Value {
    let name = |c: Option<i64>| {
        c.and_then(|c| usize::try_from(c).ok()).and_then(|c| class_names.and_then(|n| n.get(c))).cloned()
    };
    let pred = predicted(&r.scores).map(|p| p as i64);
    json!({
        "index": r.index,
        "filename": r.source,
        "gt_label": r.label,
        "gt_class": name(r.label),
        "pred_label": pred,
        "pred_class": name(pred),
        "num_classes": r.scores.len(),
        "pred_score": r.scores,
    })
}

/// `torch.tensor(values)` as a pickle call (loads as a tensor in Python).
fn torch_tensor(values: PyValue) -> PyValue {
    PyValue::Object(PyObject::call("torch", "tensor", vec![values]))
}

/// MMAction2's record as Python data: tensors for `gt_label`, `pred_score`, `pred_label`.
fn pickle_record(r: &SampleResult, json: &Value) -> PyValue {
    let mut items = vec![
        ("gt_label".to_string(), torch_tensor(PyValue::List(vec![PyValue::Int(r.label.unwrap_or(-1))]))),
        (
            "pred_score".to_string(),
            torch_tensor(PyValue::List(r.scores.iter().map(|&s| PyValue::Float(s as f64)).collect())),
        ),
        (
            "pred_label".to_string(),
            torch_tensor(PyValue::List(vec![PyValue::Int(json["pred_label"].as_i64().unwrap_or(-1))])),
        ),
    ];
    for key in ["num_classes", "index", "filename", "gt_class", "pred_class"] {
        items.push((key.to_string(), PyValue::from_json(&json[key])));
    }
    PyValue::dict(items, false)
}

impl Metric for DumpResults {
    fn compute(&self, results: &[SampleResult], info: &EvalInfo<'_>) -> Result<Metrics, EngineError> {
        let records: Vec<Value> = results.iter().map(|r| record(r, info.class_names)).collect();
        if self.pickle {
            let list = PyValue::List(results.iter().zip(&records).map(|(r, j)| pickle_record(r, j)).collect());
            kinema_torch::checkpoint::save_pickle(&self.path, &list)
                .map_err(|e| EngineError::Checkpoint { path: self.path.clone(), source: Box::new(e) })?;
        } else {
            let text =
                serde_json::to_vec_pretty(&records).map_err(|e| EngineError::logging("dumping the results", e))?;
            crate::checkpoint::write_atomic(&self.path, &text)?;
        }
        log::info!("Results has been saved to {}.", self.path.display());
        Ok(Metrics::new())
    }
}
