//! `DumpResults`: writes every sample's scores to a JSON file (`tools/test --dump`).

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use serde::{Deserialize, Serialize};

use super::{Metric, MetricKind, SampleResult};
use crate::hooks::Metrics;
use crate::EngineError;

/// Dumps per-sample scores and labels (sorted by dataset index) as JSON.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DumpResultsConfig {
    /// The output file (`.json`).
    pub out_file_path: String,
}

/// The dumping "metric" (it reports no values).
pub struct DumpResults {
    path: std::path::PathBuf,
}

impl Component<MetricKind> for DumpResults {
    type Config = DumpResultsConfig;
    fn build(config: &DumpResultsConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Metric>, BoxError> {
        if !config.out_file_path.ends_with(".json") {
            return Err(format!("out_file_path \"{}\" must end with .json", config.out_file_path).into());
        }
        Ok(Box::new(DumpResults { path: config.out_file_path.clone().into() }))
    }
}
register!(MetricKind, "DumpResults", DumpResults);

impl Metric for DumpResults {
    fn compute(&self, results: &[SampleResult]) -> Result<Metrics, EngineError> {
        let text = serde_json::to_vec(results).map_err(|e| EngineError::Invalid(e.to_string()))?;
        crate::checkpoint::write_atomic(&self.path, &text)?;
        log::info!("wrote {} results to {}", results.len(), self.path.display());
        Ok(Metrics::new())
    }
}
