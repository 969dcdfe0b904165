//! Datasets, MMAction2 transforms, samplers and a parallel deterministic data loader on
//! plain `u8` buffers.
//!
//! # Pieces
//!
//! * [`Sample`]: MMAction2's `results` dict as a struct; frames live in ONE contiguous
//!   NHWC buffer ([`FrameStack`]).
//! * [`Transform`] + [`TransformKind`] (registry name `transform`): the MMAction2
//!   transforms under their MMAction2 names and parameters, see [`transforms`].
//! * [`Dataset`](dataset::Dataset) + [`DatasetKind`](dataset::DatasetKind) (`dataset`):
//!   `VideoDataset`, `RawframeDataset`, with an `on_error = "raise" | "skip"` policy.
//! * [`Sampler`](sampler::Sampler) + [`SamplerKind`](sampler::SamplerKind)
//!   (`data_sampler`): `DefaultSampler` (MMEngine semantics) and `SequentialSampler`.
//! * [`DataLoader`]: worker threads, bounded prefetch, batches in sampler order,
//!   collated into [`Batch`]es.
//!
//! # Using the loader (engine side)
//!
//! ```no_run
//! use kinema_core::Config;
//! use kinema_data::{build_dataloader, LoaderContext};
//!
//! let cfg = Config::load("configs/recognition/tsn/my_experiment.toml", &[] as &[&str])?;
//! let ctx = LoaderContext { seed: 42, rank: 0, world_size: 1 };
//! let mut loader = build_dataloader(&cfg, "train_dataloader", &ctx)?;
//! println!("{} batches per epoch", loader.len());
//! for epoch in 0..2 {
//!     for batch in loader.epoch(epoch) {
//!         let batch = batch?; // Err: a sample failed (with on_error = "raise")
//!         // batch.inputs: Vec<u8> of shape batch.shape, e.g. [B, 8, 3, 224, 224]
//!         // batch.label_indices(): Option<Vec<i64>>; batch.metas: file names, ...
//!         let _ = (batch.inputs.len(), &batch.shape, batch.label_indices());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! * `loader.len()` is the number of batches per epoch (`ceil(num_samples /
//!   batch_size)`, `floor` with `drop_last`); `num_samples` is the sampler's per-rank
//!   count (`ceil(N / world_size)` for `DefaultSampler` with `round_up`).
//! * `epoch(e)` calls the sampler's `set_epoch(e)` (MMEngine's `DistSamplerSeedHook`)
//!   and yields `Result<Batch, DataError>` in sampler order; at most `num_workers *
//!   prefetch_factor` batches are loaded ahead.
//! * Sample `i` of epoch `e` always uses `kinema_core::rng::sample_rng(seed, e, i)`:
//!   the same seed gives byte-identical batches for any number of workers.
//! * With `on_error = "skip"`, skipped samples are counted; the iterator's
//!   [`report`](EpochIter::report) lists them and a warning is logged at epoch end.
//! * The batch is uint8: normalisation (`ActionDataPreprocessor`) happens on the device.
//!
//! # Adding a transform in another crate
//!
//! See `docs/data.md`: implement [`Transform`], give it a documented config struct and
//! `kinema_core::register!(TransformKind, "MyTransform", MyTransform)`.

pub mod alloc;
pub mod collate;
pub mod dataset;
pub mod error;
pub mod imgproc;
pub mod loader;
pub mod npy;
pub mod sample;
pub mod sampler;
pub mod tools;
pub mod transform;
pub mod transforms;

pub use collate::{collate, Batch};
pub use dataset::{Dataset, DatasetKind, OnError, Processed, SampleMeta};
pub use error::{DataError, TransformError};
pub use loader::{build_dataloader, build_dataloader_at, DataLoader, DataLoaderConfig, EpochIter, LoaderContext};
pub use sample::{FlipDirection, FrameStack, InputFormat, Label, Modality, Sample, U8Array};
pub use sampler::{DefaultSampler, Sampler, SamplerContext, SamplerKind, SequentialSampler};
pub use transform::{Pipeline, Transform, TransformKind};
