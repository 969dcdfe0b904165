//! Evaluation: per-sample results collected during a val/test pass, and the metrics
//! computed from them (`val_evaluator` / `test_evaluator`: one metric table or a list).
//!
//! Results are keyed by dataset index, so the duplicates that a distributed sampler pads
//! in are dropped exactly, and metrics equal a single-process run.

mod acc_metric;
mod dump_results;

pub use acc_metric::{mean_class_accuracy, top_k_accuracy, AccMetric};
pub use dump_results::DumpResults;

use kinema_core::registry::{build, build_list, BuildSite};
use kinema_core::Kind;
use serde_json::Value;

use crate::hooks::Metrics;
use crate::EngineError;

/// The prediction for one sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SampleResult {
    /// Its index in the dataset.
    pub index: usize,
    /// Class scores (views already averaged).
    pub scores: Vec<f32>,
    /// The ground-truth class, when known.
    pub label: Option<i64>,
    /// The sample's file (video or frame folder), when the dataset has one.
    #[serde(default)]
    pub source: Option<String>,
}

/// What metrics know about the data besides the results.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalInfo<'a> {
    /// The class names (the dataset's label map), when known.
    pub class_names: Option<&'a [String]>,
}

/// A metric computed from all results of a pass.
pub trait Metric: Send {
    /// The metric values (MMEngine key names such as `acc/top1`, values in [0, 1]).
    fn compute(&self, results: &[SampleResult], info: &EvalInfo<'_>) -> Result<Metrics, EngineError>;
}

/// The registry kind of metrics (NAME `"metric"`).
pub struct MetricKind;

impl Kind for MetricKind {
    const NAME: &'static str = "metric";
    type Context = ();
    type Output = dyn Metric;
}

/// Collects results and computes every configured metric.
pub struct Evaluator {
    metrics: Vec<Box<dyn Metric>>,
    results: Vec<SampleResult>,
    class_names: Option<Vec<String>>,
}

impl Evaluator {
    /// Builds the metrics of a `*_evaluator` value (a table, or a list of tables).
    pub fn from_config(value: &Value, site: &BuildSite<'_>) -> Result<Evaluator, EngineError> {
        let metrics = match value {
            Value::Array(_) => {
                build_list::<MetricKind>(value, site, &())?.into_iter().map(|b| b.into_inner()).collect()
            }
            _ => vec![build::<MetricKind>(value, site, &())?.into_inner()],
        };
        Ok(Evaluator { metrics, results: Vec::new(), class_names: None })
    }

    /// An evaluator with the given metrics.
    pub fn new(metrics: Vec<Box<dyn Metric>>) -> Evaluator {
        Evaluator { metrics, results: Vec::new(), class_names: None }
    }

    /// The class names metrics may use (the dataset's label map).
    pub fn set_class_names(&mut self, names: Option<Vec<String>>) {
        self.class_names = names;
    }

    /// Forgets the results of the previous pass.
    pub fn reset(&mut self) {
        self.results.clear();
    }

    /// Adds one sample's result.
    pub fn add(&mut self, result: SampleResult) {
        self.results.push(result);
    }

    /// The results collected so far.
    pub fn results(&self) -> &[SampleResult] {
        &self.results
    }

    /// Replaces the results (after gathering them from every rank).
    pub fn set_results(&mut self, results: Vec<SampleResult>) {
        self.results = results;
    }

    /// Sorts results by dataset index, drops padding duplicates, checks that every one of
    /// the `dataset_len` samples is there, and computes the metrics.
    pub fn compute(&mut self, dataset_len: usize) -> Result<Metrics, EngineError> {
        self.results.sort_by_key(|r| r.index);
        self.results.dedup_by_key(|r| r.index);
        if self.results.len() != dataset_len {
            log::warn!("evaluated {} of {} samples", self.results.len(), dataset_len);
        }
        let mut all = Metrics::new();
        for metric in &self.metrics {
            let info = EvalInfo { class_names: self.class_names.as_deref() };
            all.extend(metric.compute(&self.results, &info)?);
        }
        Ok(all)
    }
}
