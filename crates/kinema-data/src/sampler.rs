//! Samplers: which dataset indices a rank visits in an epoch, in which order.
//!
//! * `DefaultSampler` (MMEngine): optional shuffle seeded by (seed, epoch); with
//!   `round_up` the index list is repeated to `ceil(N / world) * world` entries and rank
//!   `r` takes entries `r, r + world, ...`, so every rank gets the same count.
//! * `SequentialSampler`: every index in order, not split across ranks.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::stream_rng;
use kinema_core::{Component, Kind};
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Decides the order of samples in each epoch.
pub trait Sampler: Send {
    /// Selects the epoch (MMEngine's `set_epoch`, called by the loader).
    fn set_epoch(&mut self, epoch: u64);
    /// This rank's dataset indices for the current epoch, in visiting order.
    fn indices(&self) -> Vec<usize>;
    /// Number of indices per epoch for this rank.
    fn len(&self) -> usize;
    /// True when the sampler yields nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a sampler is built with: the dataset size and the runner's seed and ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplerContext {
    /// Samples in the dataset.
    pub dataset_len: usize,
    /// The run's seed (used when the sampler's own `seed` is not set).
    pub seed: u64,
    /// This process's rank.
    pub rank: usize,
    /// Number of processes.
    pub world_size: usize,
}

/// The registry kind of samplers (`sampler = {type = "DefaultSampler", shuffle = true}`).
pub struct SamplerKind;

impl Kind for SamplerKind {
    const NAME: &'static str = "data_sampler";
    type Context = SamplerContext;
    type Output = dyn Sampler;
}

/// MMEngine's `DefaultSampler`: shuffled (or ordered) indices, split across ranks with
/// round-up padding. The permutation depends on (seed, epoch) only, so every rank sees
/// the same one.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultSamplerConfig {
    /// Shuffle every epoch.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Shuffle seed; the runner's seed when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Pad by repeating indices so that every rank gets `ceil(N / world)` samples.
    #[serde(default = "yes")]
    pub round_up: bool,
}

fn yes() -> bool {
    true
}

/// The built `DefaultSampler`.
#[derive(Debug, Clone)]
pub struct DefaultSampler {
    len: usize,
    shuffle: bool,
    seed: u64,
    round_up: bool,
    rank: usize,
    world: usize,
    epoch: u64,
}

/// Stream id of the shuffle RNG.
const SHUFFLE_STREAM: u64 = 0x0054_FF1E;

impl DefaultSampler {
    /// A sampler over `dataset_len` samples for `rank` of `world_size`.
    pub fn new(dataset_len: usize, shuffle: bool, seed: u64, round_up: bool, rank: usize, world_size: usize) -> Self {
        DefaultSampler { len: dataset_len, shuffle, seed, round_up, rank, world: world_size.max(1), epoch: 0 }
    }

    fn total_size(&self) -> usize {
        if self.round_up {
            self.len.div_ceil(self.world) * self.world
        } else {
            self.len
        }
    }
}

impl Component<SamplerKind> for DefaultSampler {
    type Config = DefaultSamplerConfig;
    fn build(c: &Self::Config, ctx: &SamplerContext, _: &BuildSite<'_>) -> Result<Box<dyn Sampler>, BoxError> {
        if ctx.world_size == 0 || ctx.rank >= ctx.world_size {
            return Err(format!("rank {} is not below world size {}", ctx.rank, ctx.world_size).into());
        }
        let seed = c.seed.unwrap_or(ctx.seed);
        Ok(Box::new(DefaultSampler::new(ctx.dataset_len, c.shuffle, seed, c.round_up, ctx.rank, ctx.world_size)))
    }
}
kinema_core::register!(SamplerKind, "DefaultSampler", DefaultSampler);

impl Sampler for DefaultSampler {
    fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    fn indices(&self) -> Vec<usize> {
        let mut all: Vec<usize> = (0..self.len).collect();
        if self.shuffle {
            let mut rng = stream_rng(self.seed, SHUFFLE_STREAM, &[self.epoch]);
            for i in (1..all.len()).rev() {
                let j = rng.random_range(0..=i);
                all.swap(i, j);
            }
        }
        if all.is_empty() {
            return all;
        }
        let total = self.total_size();
        if self.round_up {
            let mut padded = Vec::with_capacity(total);
            while padded.len() < total {
                let take = (total - padded.len()).min(all.len());
                padded.extend_from_slice(&all[..take]);
            }
            all = padded;
        }
        all.into_iter().skip(self.rank).step_by(self.world).collect()
    }

    fn len(&self) -> usize {
        if self.round_up {
            self.len.div_ceil(self.world)
        } else {
            (self.len.saturating_sub(self.rank)).div_ceil(self.world)
        }
    }
}

/// Every index in order; ignores ranks (each process sees the whole dataset).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SequentialSamplerConfig {}

/// The built `SequentialSampler`.
#[derive(Debug, Clone)]
pub struct SequentialSampler {
    len: usize,
}

impl Component<SamplerKind> for SequentialSampler {
    type Config = SequentialSamplerConfig;
    fn build(_: &Self::Config, ctx: &SamplerContext, _: &BuildSite<'_>) -> Result<Box<dyn Sampler>, BoxError> {
        if ctx.world_size > 1 {
            log::warn!(
                "SequentialSampler gives every rank the whole dataset; use DefaultSampler(shuffle = false) to split it"
            );
        }
        Ok(Box::new(SequentialSampler { len: ctx.dataset_len }))
    }
}
kinema_core::register!(SamplerKind, "SequentialSampler", SequentialSampler);

impl Sampler for SequentialSampler {
    fn set_epoch(&mut self, _: u64) {}
    fn indices(&self) -> Vec<usize> {
        (0..self.len).collect()
    }
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn round_up_pads_by_repeating_and_interleaves_ranks() {
        // N = 10, world = 4: num_samples = 3, total = 12, indices 0..10 then 0, 1.
        let per_rank: Vec<Vec<usize>> =
            (0..4).map(|r| DefaultSampler::new(10, false, 0, true, r, 4).indices()).collect();
        assert_eq!(per_rank, vec![vec![0, 4, 8], vec![1, 5, 9], vec![2, 6, 0], vec![3, 7, 1]]);
        assert!((0..4).all(|r| DefaultSampler::new(10, false, 0, true, r, 4).len() == 3));
        // N = 2, world = 5: the list repeats several times to reach 5.
        let tiny: Vec<Vec<usize>> = (0..5).map(|r| DefaultSampler::new(2, false, 0, true, r, 5).indices()).collect();
        assert_eq!(tiny, vec![vec![0], vec![1], vec![0], vec![1], vec![0]]);
    }

    #[test]
    fn without_round_up_ranks_split_the_tail() {
        let per_rank: Vec<Vec<usize>> =
            (0..4).map(|r| DefaultSampler::new(10, false, 0, false, r, 4).indices()).collect();
        assert_eq!(per_rank, vec![vec![0, 4, 8], vec![1, 5, 9], vec![2, 6], vec![3, 7]]);
        let lens: Vec<usize> = (0..4).map(|r| DefaultSampler::new(10, false, 0, false, r, 4).len()).collect();
        assert_eq!(lens, vec![3, 3, 2, 2]);
    }

    #[test]
    fn shuffle_is_a_permutation_shared_by_ranks_and_changes_with_epoch() {
        let mut s = DefaultSampler::new(50, true, 7, true, 0, 1);
        let e0 = s.indices();
        let mut sorted = e0.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        s.set_epoch(1);
        assert_ne!(s.indices(), e0);
        s.set_epoch(0);
        assert_eq!(s.indices(), e0);
        // two ranks of the same seed partition the same permutation
        let r0 = DefaultSampler::new(50, true, 7, true, 0, 2).indices();
        let r1 = DefaultSampler::new(50, true, 7, true, 1, 2).indices();
        let merged: Vec<usize> = r0.iter().zip(&r1).flat_map(|(a, b)| [*a, *b]).collect();
        assert_eq!(merged, e0);
    }
}
