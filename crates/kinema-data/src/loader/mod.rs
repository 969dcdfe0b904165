//! The data loader: a sampler, a dataset and worker threads producing collated batches
//! in sampler order.
//!
//! Determinism: sample `i` of epoch `e` is always processed with
//! `kinema_core::rng::sample_rng(seed, e, i)`, whatever thread loads it, so the same
//! config and seed give byte-identical batches for any `num_workers`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use kinema_core::registry::{build, BuildSite};
use kinema_core::{ComponentSpec, Config, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dataset::{Dataset, DatasetKind, SkipLog};
use crate::error::DataError;
use crate::sampler::{Sampler, SamplerContext, SamplerKind};

mod workers;

pub use workers::EpochIter;
use workers::{EpochShared, Source, WorkerPool};

/// The most worker threads a loader may start (PyTorch users run a few per core; each
/// thread holds `prefetch_factor` batches).
pub const MAX_NUM_WORKERS: usize = 256;

/// An MMEngine-style dataloader table (`train_dataloader = {...}`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataLoaderConfig {
    /// Samples per batch (per process).
    pub batch_size: usize,
    /// Worker threads; 0 loads in the calling thread.
    #[serde(default)]
    pub num_workers: usize,
    /// Keep the worker threads between epochs.
    #[serde(default)]
    pub persistent_workers: bool,
    /// Drop the last incomplete batch.
    #[serde(default)]
    pub drop_last: bool,
    /// Batches loaded ahead per worker (PyTorch's `prefetch_factor`).
    #[serde(default = "two")]
    pub prefetch_factor: usize,
    /// Accepted for compatibility; host memory is not pinned here.
    #[serde(default)]
    pub pin_memory: bool,
    /// Accepted for compatibility (`pseudo_collate` / `default_collate`); samples are
    /// always stacked into one buffer.
    #[serde(default)]
    pub collate_fn: Option<Value>,
    /// The sampler table (`{type = "DefaultSampler", shuffle = true}`).
    pub sampler: ComponentSpec<SamplerKind>,
    /// The dataset table (`{type = "VideoDataset", ...}`).
    pub dataset: ComponentSpec<DatasetKind>,
}

fn two() -> usize {
    2
}

/// What the runner supplies besides the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderContext {
    /// The run's seed (sampler shuffling and every per-sample random choice).
    pub seed: u64,
    /// This process's rank.
    pub rank: usize,
    /// Number of processes.
    pub world_size: usize,
}

impl Default for LoaderContext {
    fn default() -> Self {
        LoaderContext { seed: 0, rank: 0, world_size: 1 }
    }
}

/// Batches of a dataset, epoch after epoch. See the crate docs for an example.
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    sampler: Box<dyn Sampler>,
    batch_size: usize,
    num_workers: usize,
    persistent_workers: bool,
    drop_last: bool,
    prefetch_factor: usize,
    seed: u64,
    pool: Option<WorkerPool>,
}

impl DataLoader {
    /// A loader over `dataset` in the order of `sampler`. Keeps freed memory for reuse
    /// (see [`crate::alloc`]).
    pub fn new(
        dataset: Arc<dyn Dataset>,
        sampler: Box<dyn Sampler>,
        batch_size: usize,
        num_workers: usize,
        seed: u64,
    ) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::Collate("batch_size must be at least 1".into()));
        }
        crate::alloc::keep_freed_memory();
        Ok(DataLoader {
            dataset,
            sampler,
            batch_size,
            num_workers,
            persistent_workers: false,
            drop_last: false,
            prefetch_factor: 2,
            seed,
            pool: None,
        })
    }

    /// Drops the last incomplete batch.
    pub fn with_drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Keeps worker threads alive between epochs.
    pub fn with_persistent_workers(mut self, persistent: bool) -> Self {
        self.persistent_workers = persistent;
        self
    }

    /// Batches loaded ahead per worker (at least 1).
    pub fn with_prefetch_factor(mut self, factor: usize) -> Self {
        self.prefetch_factor = factor.max(1);
        self
    }

    /// Batches per epoch: `ceil(n / batch_size)`, or `floor` with `drop_last`.
    pub fn len(&self) -> usize {
        let n = self.sampler.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// True when an epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The dataset (class names, length, ...).
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// The sampler's indices per epoch (this rank).
    pub fn num_samples(&self) -> usize {
        self.sampler.len()
    }

    /// The batches of `epoch` (0-based): sets the sampler's epoch, then loads batches
    /// with the workers, at most `num_workers * prefetch_factor` ahead, and yields them
    /// in sampler order.
    pub fn epoch(&mut self, epoch: u64) -> EpochIter<'_> {
        self.epoch_from(epoch, 0)
    }

    /// Like [`DataLoader::epoch`], starting at batch `start` (a run resumed mid-epoch):
    /// the skipped batches are neither loaded nor decoded, and the rest are exactly the
    /// batches `epoch(epoch)` would yield from position `start` on.
    pub fn epoch_from(&mut self, epoch: u64, start: usize) -> EpochIter<'_> {
        self.sampler.set_epoch(epoch);
        let indices = self.sampler.indices();
        let mut batches: Vec<Vec<usize>> = indices.chunks(self.batch_size).map(<[usize]>::to_vec).collect();
        if self.drop_last && batches.last().is_some_and(|b| b.len() < self.batch_size) {
            batches.pop();
        }
        batches.drain(..start.min(batches.len()));
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = EpochShared {
            dataset: self.dataset.clone(),
            seed: self.seed,
            epoch,
            log: SkipLog::default(),
            cancelled: AtomicBool::new(false),
            results: tx,
        };
        if self.num_workers == 0 {
            return EpochIter::new(shared, batches, Source::Inline);
        }
        if !self.persistent_workers || self.pool.is_none() {
            self.pool = None;
            match WorkerPool::new(self.num_workers) {
                Ok(pool) => self.pool = Some(pool),
                Err(e) => return EpochIter::new(shared, batches, Source::Failed(Some(e))),
            }
        }
        let prefetch = self.num_workers * self.prefetch_factor;
        match self.pool.as_ref() {
            Some(pool) => EpochIter::new(shared, batches, Source::Pool { pool, prefetch, results: rx }),
            None => EpochIter::new(shared, batches, Source::Failed(None)),
        }
    }
}

/// Builds the loader described by the table at `key` of `cfg` (`train_dataloader`,
/// `val_dataloader`, `test_dataloader`).
pub fn build_dataloader(cfg: &Config, key: &str, ctx: &LoaderContext) -> Result<DataLoader, DataError> {
    let path = KeyPath::parse(key);
    let value = cfg.get_path(&path).ok_or_else(|| DataError::Config {
        source_of: cfg.source_of(&path.parent()).to_string(),
        key: key.to_string(),
        message: "missing; expected a dataloader table with batch_size, sampler and dataset".into(),
    })?;
    build_dataloader_at(value, &BuildSite::root(cfg).at(path), ctx)
}

/// Builds a loader from a dataloader table found at `site`.
pub fn build_dataloader_at(value: &Value, site: &BuildSite<'_>, ctx: &LoaderContext) -> Result<DataLoader, DataError> {
    let cfg: DataLoaderConfig = parse_loader_table(value, site.path()).map_err(|(key, message)| DataError::Config {
        source_of: site.source_of(&key).to_string(),
        key: key.to_string(),
        message,
    })?;
    if ctx.world_size == 0 || ctx.rank >= ctx.world_size {
        return Err(DataError::Config {
            source_of: "runner".into(),
            key: site.path().to_string(),
            message: format!("rank {} is not below world size {}", ctx.rank, ctx.world_size),
        });
    }
    if cfg.num_workers > MAX_NUM_WORKERS {
        return Err(DataError::Config {
            source_of: site.source_of(&site.path().key("num_workers")).to_string(),
            key: site.path().key("num_workers").to_string(),
            message: format!("{} worker threads asked for; at most {MAX_NUM_WORKERS}", cfg.num_workers),
        });
    }
    if cfg.batch_size == 0 {
        return Err(DataError::Config {
            source_of: site.source_of(&site.path().key("batch_size")).to_string(),
            key: site.path().key("batch_size").to_string(),
            message: "must be at least 1".into(),
        });
    }
    let dataset: Arc<dyn Dataset> =
        Arc::from(build::<DatasetKind>(&cfg.dataset.value, &site.key("dataset"), &())?.into_inner());
    let sctx =
        SamplerContext { dataset_len: dataset.len(), seed: ctx.seed, rank: ctx.rank, world_size: ctx.world_size };
    let sampler = build::<SamplerKind>(&cfg.sampler.value, &site.key("sampler"), &sctx)?.into_inner();
    if cfg.pin_memory {
        log::debug!("pin_memory is accepted and ignored");
    }
    Ok(DataLoader::new(dataset, sampler, cfg.batch_size, cfg.num_workers, ctx.seed)?
        .with_drop_last(cfg.drop_last)
        .with_persistent_workers(cfg.persistent_workers)
        .with_prefetch_factor(cfg.prefetch_factor))
}

/// Deserializes the loader table; an error names the offending key (below `at`) and,
/// for a misspelt key, the closest known one.
fn parse_loader_table(value: &Value, at: &KeyPath) -> Result<DataLoaderConfig, (KeyPath, String)> {
    let Value::Object(map) = value else {
        return Err((
            at.clone(),
            format!("expected a dataloader table, found {}", kinema_core::config::type_name(value)),
        ));
    };
    let known = [
        "batch_size",
        "num_workers",
        "persistent_workers",
        "drop_last",
        "prefetch_factor",
        "pin_memory",
        "collate_fn",
        "sampler",
        "dataset",
    ];
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let hint = kinema_core::registry::closest_name(key, &known)
                .map(|best| format!(" (did you mean `{best}`?)"))
                .unwrap_or_default();
            return Err((at.key(key), format!("unknown key `{key}`; expected one of: {}{hint}", known.join(", "))));
        }
    }
    for key in ["batch_size", "sampler", "dataset"] {
        if !map.contains_key(key) {
            return Err((at.key(key), format!("missing required key `{key}`")));
        }
    }
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." { at.clone() } else { at.join_dotted(&inner.replace('?', "")) };
        kinema_core::registry::describe_serde_problem(&e.inner().to_string(), &path)
    })
}
