//! Runs every sample of a split through its pipeline and lists the unreadable ones.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use kinema_core::registry::{build, BuildSite};
use kinema_core::rng::sample_rng;
use kinema_core::Config;
use serde::Serialize;

use super::dataset_table;
use crate::dataset::{Dataset, DatasetKind};
use crate::error::DataError;

/// One unreadable sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadSample {
    /// Dataset index.
    pub index: usize,
    /// Its video file or frame folder.
    pub file: String,
    /// Why it failed.
    pub reason: String,
}

/// The result of checking a split.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Samples checked.
    pub total: usize,
    /// The unreadable ones, by index.
    pub bad: Vec<BadSample>,
}

/// Loads every sample of the `split` dataset of `cfg` with `workers` threads.
pub fn check_split(cfg: &Config, split: &str, workers: usize, seed: u64) -> Result<CheckReport, DataError> {
    let (table, path) = dataset_table(cfg, split)?;
    let dataset = build::<DatasetKind>(table, &BuildSite::root(cfg).at(path), &())?.into_inner();
    Ok(check_dataset(dataset.as_ref(), workers, seed))
}

/// Loads every sample of `dataset` (pipeline included) and collects the failures.
pub fn check_dataset(dataset: &dyn Dataset, workers: usize, seed: u64) -> CheckReport {
    let next = AtomicUsize::new(0);
    let bad = Mutex::new(Vec::new());
    let n = dataset.len();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if let Err(e) = dataset.get(i, &mut sample_rng(seed, 0, i as u64)) {
                    let item = BadSample { index: i, file: dataset.source(i), reason: e.to_string() };
                    if let Ok(mut b) = bad.lock() {
                        b.push(item);
                    }
                }
                if (i + 1).is_multiple_of(1000) {
                    log::info!("checked {} / {n}", i + 1);
                }
            });
        }
    });
    let mut bad = bad.into_inner().unwrap_or_default();
    bad.sort_by_key(|b| b.index);
    CheckReport { total: n, bad }
}
