//! Visualizer backends as registered components (`visualizer.vis_backends`): each backend
//! is built from its table by `type`, so a user's crate can add one (MLflow, W&B, ...)
//! without touching the engine.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component, Kind};
use kinema_logging::{LocalVisBackend, RunPaths, TensorboardVisBackend, VisBackend};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The registry kind of visualizer backends (NAME `"vis_backend"`); built with the run's
/// paths.
pub struct VisBackendKind;

impl Kind for VisBackendKind {
    const NAME: &'static str = "vis_backend";
    type Context = RunPaths;
    type Output = dyn VisBackend;
}

/// MMEngine's `LocalVisBackend`: scalars as JSON lines in `<timestamp>/vis_data/scalars.json`
/// (and the LoggerHook's `<timestamp>.json`), the config beside them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalVisBackendConfig {
    /// Accepted for MMEngine configs; files go to the run's `vis_data` folder.
    #[serde(default)]
    pub save_dir: Option<String>,
}

/// Marker type registered as `LocalVisBackend`.
pub struct LocalBackend;

impl Component<VisBackendKind> for LocalBackend {
    type Config = LocalVisBackendConfig;
    fn build(_: &Self::Config, paths: &RunPaths, _: &BuildSite<'_>) -> Result<Box<dyn VisBackend>, BoxError> {
        Ok(Box::new(LocalVisBackend::new(paths.vis_dir()).with_json_log(paths.json_log_name())))
    }
}
register!(VisBackendKind, "LocalVisBackend", LocalBackend);

/// MMEngine's `TensorboardVisBackend`: TensorBoard event files in the run's `vis_data`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TensorboardVisBackendConfig {
    /// Accepted for MMEngine configs; files go to the run's `vis_data` folder.
    #[serde(default)]
    pub save_dir: Option<String>,
}

/// Marker type registered as `TensorboardVisBackend`.
pub struct TensorboardBackend;

impl Component<VisBackendKind> for TensorboardBackend {
    type Config = TensorboardVisBackendConfig;
    fn build(_: &Self::Config, paths: &RunPaths, _: &BuildSite<'_>) -> Result<Box<dyn VisBackend>, BoxError> {
        Ok(Box::new(TensorboardVisBackend::new(paths.vis_dir())))
    }
}
register!(VisBackendKind, "TensorboardVisBackend", TensorboardBackend);
