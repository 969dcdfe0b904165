//! `RawframeDataset`: folders of extracted frames, `frame_dir total_frames label`.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{Component, ComponentSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::{blame_field, join_root, label_map_path, ActionDataset, CommonConfig, DataPrefix};
use super::annotations::parse_rawframe_list;
use super::{Dataset, DatasetKind, ErrorPolicy, OnError};
use crate::sample::Modality;
use crate::transform::{Pipeline, TransformKind};
use crate::transforms::template::FrameTemplate;

/// Frame folders listed one per line as `frame_dir total_frames label...` (MMAction2
/// `RawframeDataset`), or `frame_dir offset total_frames label...` with `with_offset`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawframeDatasetConfig {
    /// The annotation list (relative to `data_root` when that is set).
    pub ann_file: String,
    /// The transforms, in order (`[{type = "SampleFrames", ...}, {type = "RawFrameDecode"}, ...]`).
    pub pipeline: Vec<ComponentSpec<TransformKind>>,
    /// `{img = "folder"}` joined before every listed folder.
    #[serde(default)]
    pub data_prefix: DataPrefix,
    /// Folder that relative `ann_file` and `data_prefix` are under.
    #[serde(default)]
    pub data_root: Option<String>,
    /// Frame file name template, Python format style (`{}_{:05d}.jpg` for flow).
    #[serde(default = "tmpl")]
    pub filename_tmpl: String,
    /// Lines carry the clip's first frame before the frame count.
    #[serde(default)]
    pub with_offset: bool,
    /// Several labels per line, as one-hot vectors.
    #[serde(default)]
    pub multi_class: bool,
    /// Number of classes (needed with `multi_class`; checks labels when given).
    #[serde(default)]
    pub num_classes: Option<usize>,
    /// Index of the first frame file (1 for `img_00001.jpg`).
    #[serde(default = "one")]
    pub start_index: i64,
    /// `RGB` or `Flow`.
    #[serde(default)]
    pub modality: Modality,
    /// Validation/test dataset.
    #[serde(default)]
    pub test_mode: bool,
    /// Class names, one per line (Kinema addition; labels are checked against it).
    #[serde(default)]
    pub label_map: Option<String>,
    /// `raise` or `skip` for unreadable samples (Kinema addition).
    #[serde(default)]
    pub on_error: OnError,
    /// With `skip`: substitutes to try before giving up (MMEngine's `max_refetch`).
    #[serde(default = "refetch")]
    pub max_refetch: usize,
}

fn tmpl() -> String {
    "img_{:05}.jpg".into()
}
fn one() -> i64 {
    1
}
fn refetch() -> usize {
    1000
}

/// Marker type registered as `RawframeDataset`.
pub struct RawframeDataset;

impl Component<DatasetKind> for RawframeDataset {
    type Config = RawframeDatasetConfig;
    fn build(c: &Self::Config, _: &(), site: &BuildSite<'_>) -> Result<Box<dyn Dataset>, BoxError> {
        let t = FrameTemplate::parse(&c.filename_tmpl)?;
        let want = if c.modality == Modality::Flow { 2 } else { 1 };
        if t.fields() != want {
            return Err(format!(
                "filename_tmpl \"{}\" has {} fields; {:?} frames need {want}",
                c.filename_tmpl,
                t.fields(),
                c.modality
            )
            .into());
        }
        let root = c.data_root.as_deref();
        let common = CommonConfig {
            type_name: "RawframeDataset",
            ann_file: join_root(root, &c.ann_file),
            prefix: join_root(root, c.data_prefix.img.as_deref().unwrap_or("")),
            test_mode: c.test_mode,
            multi_class: c.multi_class,
            num_classes: c.num_classes,
            start_index: c.start_index,
            modality: c.modality,
            filename_tmpl: Some(c.filename_tmpl.clone()),
            label_map: c.label_map.as_deref().map(|p| label_map_path(root, p, site)),
            policy: ErrorPolicy { on_error: c.on_error, max_refetch: c.max_refetch },
        };
        let pipeline = Pipeline::build(
            &Value::Array(c.pipeline.iter().map(|t| t.value.clone()).collect()),
            &site.key("pipeline"),
        )?;
        let records = parse_rawframe_list(&common.ann_file, c.with_offset, c.multi_class).map_err(blame_field)?;
        Ok(Box::new(ActionDataset::new(common, records, pipeline).map_err(blame_field)?))
    }
}

kinema_core::register!(DatasetKind, "RawframeDataset", RawframeDataset);
