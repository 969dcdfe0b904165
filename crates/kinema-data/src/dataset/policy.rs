//! The `raise` / `skip` policy for unreadable samples.
//!
//! With `skip`, a sample whose pipeline fails is replaced by another one chosen from
//! (seed, epoch, index, attempt), so the substitute is the same for any number of
//! workers. Each bad file is warned about once; the count is reported at epoch end.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use kinema_core::rng::{sample_rng, stream_rng};
use rand::Rng;
use serde::Serialize;

use super::{Dataset, OnError, Processed};
use crate::error::DataError;

/// Stream id of the RNG that picks substitutes.
const SUBSTITUTE_STREAM: u64 = 0x0005_0B57_1707;

/// Unreadable samples met during one epoch (shared by the workers).
#[derive(Debug, Default)]
pub struct SkipLog {
    skipped: AtomicUsize,
    warned: Mutex<HashSet<String>>,
    files: Mutex<BTreeMap<String, String>>,
}

/// What [`SkipLog`] collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkipReport {
    /// Number of loads that failed and were replaced.
    pub skipped: usize,
    /// Every unreadable file with its first error, sorted by file.
    pub files: Vec<(String, String)>,
}

impl SkipLog {
    fn record(&self, file: String, err: &DataError) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        let first = self.warned.lock().map(|mut w| w.insert(file.clone())).unwrap_or(false);
        if first {
            log::warn!("skipping unreadable sample: {err}");
            if let Ok(mut f) = self.files.lock() {
                f.insert(file, err.to_string());
            }
        }
    }

    /// The counts so far.
    pub fn report(&self) -> SkipReport {
        SkipReport {
            skipped: self.skipped.load(Ordering::Relaxed),
            files: self
                .files
                .lock()
                .map(|f| f.iter().map(|(a, b)| (a.clone(), b.clone())).collect())
                .unwrap_or_default(),
        }
    }
}

fn is_sample_error(e: &DataError) -> bool {
    matches!(e, DataError::Transform { .. } | DataError::Io { .. })
}

/// Loads sample `index` of `epoch` with the RNG of (seed, epoch, index), applying the
/// dataset's policy when it fails.
pub fn fetch(ds: &dyn Dataset, index: usize, seed: u64, epoch: u64, log: &SkipLog) -> Result<Processed, DataError> {
    let mut rng = sample_rng(seed, epoch, index as u64);
    let err = match ds.get(index, &mut rng) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    let policy = ds.policy();
    if policy.on_error == OnError::Raise || !is_sample_error(&err) {
        return Err(err);
    }
    log.record(ds.source(index), &err);
    let mut last = err;
    for attempt in 0..policy.max_refetch {
        let mut pick = stream_rng(seed, SUBSTITUTE_STREAM, &[epoch, index as u64, attempt as u64]);
        let other = pick.random_range(0..ds.len());
        match ds.get(other, &mut pick) {
            Ok(mut p) => {
                p.meta.substitute_for = Some(index);
                return Ok(p);
            }
            Err(e) if is_sample_error(&e) => {
                log.record(ds.source(other), &e);
                last = e;
            }
            Err(e) => return Err(e),
        }
    }
    Err(DataError::SkipExhausted { index, file: ds.source(index), attempts: policy.max_refetch, last: Box::new(last) })
}
