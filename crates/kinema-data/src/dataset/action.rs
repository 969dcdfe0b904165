//! The machinery VideoDataset and RawframeDataset share (MMAction2's
//! `BaseActionDataset` on MMEngine's `BaseDataset`).

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use kinema_core::registry::{BuildSite, FieldError};

use super::annotations::{read_label_map, Record};
use super::{Dataset, ErrorPolicy};
use crate::error::DataError;
use crate::sample::{Label, Modality, Sample};
use crate::transform::Pipeline;

/// MMEngine's `data_prefix` table: the folder joined before each list entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPrefix {
    /// Folder of the videos (VideoDataset).
    #[serde(default)]
    pub video: Option<String>,
    /// Folder of the frame folders (RawframeDataset).
    #[serde(default)]
    pub img: Option<String>,
}

/// Settings common to the action datasets, already checked.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// Registered name, for messages.
    pub type_name: &'static str,
    /// The annotation list (after `data_root`).
    pub ann_file: PathBuf,
    /// The prefix joined to every entry (after `data_root`).
    pub prefix: PathBuf,
    /// Validation/test dataset.
    pub test_mode: bool,
    /// Multi-label samples as one-hot vectors.
    pub multi_class: bool,
    /// Number of classes (needed with `multi_class`).
    pub num_classes: Option<usize>,
    /// Index of the first frame.
    pub start_index: i64,
    /// RGB or Flow.
    pub modality: Modality,
    /// Frame file template (rawframes).
    pub filename_tmpl: Option<String>,
    /// Class-name file.
    pub label_map: Option<PathBuf>,
    /// Unreadable-sample policy.
    pub policy: ErrorPolicy,
}

/// Joins `path` below `root` unless it is absolute or `root` is empty (MMEngine's
/// `data_root` rule).
pub fn join_root(root: Option<&str>, path: &str) -> PathBuf {
    match root {
        Some(r) if !r.is_empty() && !Path::new(path).is_absolute() => Path::new(r).join(path),
        _ => PathBuf::from(path),
    }
}

/// The label map file of a dataset table: `path` under `data_root` (or as written) when
/// that exists, else beside the config file that set `label_map`, as the inference tools
/// look it up.
pub fn label_map_path(root: Option<&str>, path: &str, site: &BuildSite<'_>) -> PathBuf {
    let joined = join_root(root, path);
    if joined.exists() || Path::new(path).is_absolute() {
        return joined;
    }
    let source = site.source_of(site.key("label_map").path());
    match source.file().and_then(Path::parent).map(|d| d.join(path)) {
        Some(beside) if beside.exists() => beside,
        _ => joined,
    }
}

/// A dataset's file error reported at the key that named the file: `label_map` for the
/// label map, `ann_file` for everything read from the annotation list.
pub fn blame_field(e: DataError) -> FieldError {
    let field = match &e {
        DataError::LabelMap { .. } => "label_map",
        _ => "ann_file",
    };
    FieldError::new(field, kinema_core::registry::chain_text(&e))
}

/// A list-based action dataset (the implementation behind `VideoDataset` and
/// `RawframeDataset`).
pub struct ActionDataset {
    common: CommonConfig,
    records: Vec<Record>,
    pipeline: Pipeline,
    class_names: Option<Vec<String>>,
}

impl ActionDataset {
    /// Checks the records against the settings and wraps them.
    pub fn new(common: CommonConfig, records: Vec<Record>, pipeline: Pipeline) -> Result<Self, DataError> {
        let class_names = match &common.label_map {
            Some(p) => Some(read_label_map(p).map_err(|e| DataError::LabelMap { source: Box::new(e) })?),
            None => None,
        };
        let limit = common.num_classes.or(class_names.as_ref().map(Vec::len));
        if common.multi_class && common.num_classes.is_none() {
            return Err(DataError::Annotation {
                path: common.ann_file.clone(),
                line: 0,
                message: "multi_class = true needs num_classes".into(),
            });
        }
        if let Some(limit) = limit {
            for r in &records {
                if let Some(&bad) =
                    r.labels.iter().find(|&&l| l >= limit as i64 || l < -1 || (common.multi_class && l < 0))
                {
                    return Err(DataError::Annotation {
                        path: common.ann_file.clone(),
                        line: r.line,
                        message: format!("label {bad} is outside 0..{limit}"),
                    });
                }
            }
        }
        log::info!("{}: {} samples from {}", common.type_name, records.len(), common.ann_file.display());
        Ok(ActionDataset { common, records, pipeline, class_names })
    }

    /// The parsed annotation records.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The checked settings.
    pub fn settings(&self) -> &CommonConfig {
        &self.common
    }

    fn path_of(&self, r: &Record) -> PathBuf {
        if self.common.prefix.as_os_str().is_empty() {
            PathBuf::from(&r.path)
        } else {
            self.common.prefix.join(&r.path)
        }
    }
}

impl Dataset for ActionDataset {
    fn len(&self) -> usize {
        self.records.len()
    }

    fn source(&self, index: usize) -> String {
        self.records
            .get(index)
            .map(|r| self.path_of(r).display().to_string())
            .unwrap_or_else(|| format!("sample {index}"))
    }

    fn sample(&self, index: usize) -> Result<Sample, DataError> {
        let r = self.records.get(index).ok_or(DataError::IndexOutOfRange { index, len: self.records.len() })?;
        let label = if self.common.multi_class {
            let n = self.common.num_classes.unwrap_or(0);
            let mut hot = vec![0.0f32; n];
            for &l in &r.labels {
                if let Some(v) = usize::try_from(l).ok().and_then(|l| hot.get_mut(l)) {
                    *v = 1.0;
                }
            }
            Label::MultiHot(hot)
        } else {
            Label::Index(r.labels.first().copied().unwrap_or(-1))
        };
        let path = self.path_of(r);
        let (filename, frame_dir) =
            if self.common.filename_tmpl.is_some() { (None, Some(path)) } else { (Some(path), None) };
        Ok(Sample {
            index,
            filename,
            frame_dir,
            filename_tmpl: self.common.filename_tmpl.clone(),
            offset: r.offset,
            label,
            start_index: self.common.start_index,
            modality: self.common.modality,
            total_frames: r.total_frames,
            ..Sample::default()
        })
    }

    fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn policy(&self) -> ErrorPolicy {
        self.common.policy
    }

    fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    fn test_mode(&self) -> bool {
        self.common.test_mode
    }
}
