//! `VideoDataset`: a list of `relative/path.mp4 label` lines.

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::{Component, ComponentSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::{blame_field, join_root, label_map_path, ActionDataset, CommonConfig, DataPrefix};
use super::annotations::parse_video_list;
use super::{Dataset, DatasetKind, ErrorPolicy, OnError};
use crate::sample::Modality;
use crate::transform::{Pipeline, TransformKind};

/// Videos listed one per line as `path label` (MMAction2 `VideoDataset`); a line with
/// only a path gets label -1; with `multi_class` every field after the path is a label
/// and the label becomes a one-hot vector of `num_classes`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoDatasetConfig {
    /// The annotation list (relative to `data_root` when that is set).
    pub ann_file: String,
    /// The transforms, in order (`[{type = "DecordInit"}, ...]`).
    pub pipeline: Vec<ComponentSpec<TransformKind>>,
    /// `{video = "folder"}` joined before every listed path.
    #[serde(default)]
    pub data_prefix: DataPrefix,
    /// Folder that relative `ann_file` and `data_prefix` are under.
    #[serde(default)]
    pub data_root: Option<String>,
    /// Several labels per line, as one-hot vectors.
    #[serde(default)]
    pub multi_class: bool,
    /// Number of classes (needed with `multi_class`; checks labels when given).
    #[serde(default)]
    pub num_classes: Option<usize>,
    /// Index of the first frame (0 for videos).
    #[serde(default)]
    pub start_index: i64,
    /// `RGB` or `Flow`.
    #[serde(default)]
    pub modality: Modality,
    /// Validation/test dataset.
    #[serde(default)]
    pub test_mode: bool,
    /// Field separator of the list (a single space also accepts runs of whitespace).
    #[serde(default = "space")]
    pub delimiter: String,
    /// Class names, one per line (Kinema addition; labels are checked against it).
    #[serde(default)]
    pub label_map: Option<String>,
    /// `raise` or `skip` for unreadable videos (Kinema addition).
    #[serde(default)]
    pub on_error: OnError,
    /// With `skip`: substitutes to try before giving up (MMEngine's `max_refetch`).
    #[serde(default = "refetch")]
    pub max_refetch: usize,
}

fn space() -> String {
    " ".into()
}
fn refetch() -> usize {
    1000
}

/// Marker type registered as `VideoDataset`.
pub struct VideoDataset;

impl Component<DatasetKind> for VideoDataset {
    type Config = VideoDatasetConfig;
    fn build(c: &Self::Config, _: &(), site: &BuildSite<'_>) -> Result<Box<dyn Dataset>, BoxError> {
        if c.delimiter.is_empty() {
            return Err(FieldError::new("delimiter", "delimiter must not be empty").into());
        }
        let root = c.data_root.as_deref();
        let common = CommonConfig {
            type_name: "VideoDataset",
            ann_file: join_root(root, &c.ann_file),
            prefix: join_root(root, c.data_prefix.video.as_deref().unwrap_or("")),
            test_mode: c.test_mode,
            multi_class: c.multi_class,
            num_classes: c.num_classes,
            start_index: c.start_index,
            modality: c.modality,
            filename_tmpl: None,
            label_map: c.label_map.as_deref().map(|p| label_map_path(root, p, site)),
            policy: ErrorPolicy { on_error: c.on_error, max_refetch: c.max_refetch },
        };
        let pipeline = Pipeline::build(
            &Value::Array(c.pipeline.iter().map(|t| t.value.clone()).collect()),
            &site.key("pipeline"),
        )?;
        let records = parse_video_list(&common.ann_file, &c.delimiter, c.multi_class).map_err(blame_field)?;
        Ok(Box::new(ActionDataset::new(common, records, pipeline).map_err(blame_field)?))
    }
}

kinema_core::register!(DatasetKind, "VideoDataset", VideoDataset);
