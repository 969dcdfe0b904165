//! The logic behind `tools/inspect_pipeline` and `tools/check_videos`.

pub mod check;
pub mod inspect;

use kinema_core::{Config, KeyPath};
use serde_json::Value;

use crate::error::DataError;

/// The dataloader key of a split name (`train`, `val`, `test`).
pub fn split_key(split: &str) -> Result<String, DataError> {
    match split {
        "train" | "val" | "test" => Ok(format!("{split}_dataloader")),
        other => Err(DataError::Config {
            source_of: "command line".into(),
            key: "--split".into(),
            message: format!("unknown split \"{other}\"; expected train, val or test"),
        }),
    }
}

/// The dataset table of a split (`<split>_dataloader.dataset`).
pub fn dataset_table<'a>(cfg: &'a Config, split: &str) -> Result<(&'a Value, KeyPath), DataError> {
    let path = KeyPath::parse(&format!("{}.dataset", split_key(split)?));
    let v = cfg.get_path(&path).ok_or_else(|| DataError::Config {
        source_of: cfg.source_of(&path.parent()).to_string(),
        key: path.to_string(),
        message: "missing; expected a dataset table with a pipeline".into(),
    })?;
    Ok((v, path))
}
