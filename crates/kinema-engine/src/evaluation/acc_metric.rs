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

/// The fraction of samples whose label is among the `k` highest scores.
pub fn top_k_accuracy(samples: &[(&[f32], i64)], k: usize) -> f64 {
    let hits = samples
        .iter()
        .filter(|(scores, label)| {
            let Ok(label) = usize::try_from(*label) else { return false };
            let Some(&own) = scores.get(label) else { return false };
            // The label is in the top k when fewer than k classes score strictly higher.
            scores.iter().filter(|&&s| s > own).count() < k
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
}
