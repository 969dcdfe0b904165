//! `AccMetric`: MMAction2's top-k accuracy and mean class accuracy.

use std::collections::BTreeMap;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};

use super::{EvalInfo, Metric, MetricKind, SampleResult};
use crate::hooks::Metrics;
use crate::EngineError;

/// Top-k accuracy and mean class accuracy, reported as `acc/top1`, `acc/top5`,
/// `acc/mean1` (fractions in [0, 1]).
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccMetricConfig {
    /// Which metrics: `top_k_accuracy`, `mean_class_accuracy`.
    #[serde(default = "default_list")]
    pub metric_list: Vec<String>,
    /// Per-metric options; `top_k_accuracy = { topk = [1, 5] }`.
    #[serde(default = "default_options")]
    pub metric_options: BTreeMap<String, MetricOptions>,
    /// Key prefix.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Accepted for MMEngine configs; results are always gathered on the CPU.
    #[serde(default)]
    pub collect_device: Option<String>,
}

/// Options of one metric.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricOptions {
    /// The k values of top-k accuracy.
    #[serde(default)]
    pub topk: Vec<usize>,
}

fn default_list() -> Vec<String> {
    vec!["top_k_accuracy".into(), "mean_class_accuracy".into()]
}
fn default_options() -> BTreeMap<String, MetricOptions> {
    BTreeMap::from([("top_k_accuracy".to_string(), MetricOptions { topk: vec![1, 5] })])
}
fn default_prefix() -> String {
    "acc".into()
}

/// The accuracy metric.
pub struct AccMetric {
    config: AccMetricConfig,
}

impl Component<MetricKind> for AccMetric {
    type Config = AccMetricConfig;
    fn build(config: &AccMetricConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Metric>, BoxError> {
        for m in &config.metric_list {
            if m != "top_k_accuracy" && m != "mean_class_accuracy" {
                return Err(format!(
                    "unknown metric \"{m}\" in metric_list; expected top_k_accuracy or mean_class_accuracy"
                )
                .into());
            }
        }
        Ok(Box::new(AccMetric { config: config.clone() }))
    }
}
register!(MetricKind, "AccMetric", AccMetric);

impl Metric for AccMetric {
    fn compute(&self, results: &[SampleResult], _: &EvalInfo<'_>) -> Result<Metrics, EngineError> {
        if let Some((r, i)) = results.iter().find_map(|r| r.scores.iter().position(|s| !s.is_finite()).map(|i| (r, i)))
        {
            // NumPy would rank NaN above every score and count it as a prediction: refuse.
            return Err(EngineError::Evaluation {
                metric: "AccMetric".into(),
                message: format!(
                    "sample {}{} has a non-finite score ({} for class {i}); the model's outputs are broken \
                     (NaN or infinite weights or inputs), so no accuracy is reported",
                    r.index,
                    r.source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default(),
                    r.scores[i]
                ),
            });
        }
        let labelled: Vec<(&[f32], i64)> =
            results.iter().filter_map(|r| r.label.map(|l| (r.scores.as_slice(), l))).collect();
        let mut out = Metrics::new();
        if labelled.is_empty() {
            return Ok(out);
        }
        let prefix = &self.config.prefix;
        for name in &self.config.metric_list {
            match name.as_str() {
                "top_k_accuracy" => {
                    let ks = self.config.metric_options.get(name).map(|o| o.topk.clone()).unwrap_or_else(|| vec![1, 5]);
                    for k in ks {
                        out.insert(format!("{prefix}/top{k}"), top_k_accuracy(&labelled, k));
                    }
                }
                "mean_class_accuracy" => {
                    out.insert(format!("{prefix}/mean1"), mean_class_accuracy(&labelled));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// The index of the largest score (the first one on ties, as `np.argmax`).
fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// The fraction of samples whose label is among the `k` highest scores, ranked as
/// MMAction2's `np.argsort(scores)[-k:]` with a stable sort: among equal scores the class
/// with the higher index ranks higher (eight equal scores give top-1 to the last class
/// only, not to all eight). Scores must be finite.
pub fn top_k_accuracy(samples: &[(&[f32], i64)], k: usize) -> f64 {
    let hits = samples
        .iter()
        .filter(|(scores, label)| {
            let Ok(label) = usize::try_from(*label) else { return false };
            let Some(&own) = scores.get(label) else { return false };
            // Classes ranked above the label: higher scores, and equal scores at higher indices.
            let above = scores.iter().enumerate().filter(|&(i, &s)| s > own || (s == own && i > label)).count();
            above < k
        })
        .count();
    hits as f64 / samples.len() as f64
}

/// MMAction2's mean class accuracy: over the classes that occur as a label or a
/// prediction, the mean of per-class recall (0 for classes that only occur as
/// predictions).
pub fn mean_class_accuracy(samples: &[(&[f32], i64)]) -> f64 {
    let mut per_class: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for (scores, label) in samples {
        let pred = argmax(scores) as i64;
        let entry = per_class.entry(*label).or_default();
        entry.1 += 1;
        if pred == *label {
            entry.0 += 1;
        }
        per_class.entry(pred).or_default();
    }
    let sum: f64 = per_class.values().map(|&(hit, n)| if n > 0 { hit as f64 / n as f64 } else { 0.0 }).sum();
    sum / per_class.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_and_mean_class_by_hand() {
        let s: Vec<Vec<f32>> = vec![vec![0.1, 0.7, 0.2], vec![0.5, 0.3, 0.2], vec![0.2, 0.3, 0.5], vec![0.6, 0.3, 0.1]];
        let labels = [1, 1, 2, 2];
        let samples: Vec<(&[f32], i64)> = s.iter().map(|v| v.as_slice()).zip(labels).collect();
        assert_eq!(top_k_accuracy(&samples, 1), 0.5);
        assert_eq!(top_k_accuracy(&samples, 2), 0.75);
        // classes {0 (pred only), 1: 1/2, 2: 1/2} -> (0 + 0.5 + 0.5) / 3
        assert!((mean_class_accuracy(&samples) - 1.0 / 3.0).abs() < 1e-12);
    }

    /// Eight equal scores (e.g. eight identical class names): MMAction2's argsort puts the
    /// last class first, so only label 7 is a top-1 hit and labels 3..7 top-5 hits; its
    /// argmax (mean class accuracy) picks class 0.
    #[test]
    fn ties_rank_as_numpy_argsort() {
        let equal = vec![0.125f32; 8];
        let samples: Vec<(&[f32], i64)> = (0..8).map(|l| (equal.as_slice(), l)).collect();
        assert_eq!(top_k_accuracy(&samples, 1), 1.0 / 8.0);
        assert_eq!(top_k_accuracy(&samples, 5), 5.0 / 8.0);
        // predictions all 0: class 0 recall 1, classes 1..7 recall 0
        assert!((mean_class_accuracy(&samples) - 1.0 / 8.0).abs() < 1e-12);
        // a tie below the top: [0.5, 0.2, 0.2, 0.1] with label 1 is ranked third (class 2 first)
        let s = [0.5f32, 0.2, 0.2, 0.1];
        assert_eq!(top_k_accuracy(&[(&s, 1)], 2), 0.0);
        assert_eq!(top_k_accuracy(&[(&s, 2)], 2), 1.0);
    }

    #[test]
    fn non_finite_scores_are_refused() {
        let metric = AccMetric { config: serde_json::from_value(serde_json::json!({})).unwrap() };
        let results = vec![
            SampleResult { index: 0, scores: vec![0.1, 0.9], label: Some(1), source: None },
            SampleResult { index: 1, scores: vec![f32::NAN, 0.5], label: Some(0), source: Some("b.mp4".into()) },
        ];
        let err = metric.compute(&results, &EvalInfo::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            "AccMetric: sample 1 (b.mp4) has a non-finite score (NaN for class 0); the model's outputs are broken \
             (NaN or infinite weights or inputs), so no accuracy is reported"
        );
    }
}
