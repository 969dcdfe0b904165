//! Random generators derived from (seed, epoch, sample index), so every random choice
//! in the data pipeline is the same whichever worker makes it and however many workers
//! there are.

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;

/// The generator type used for per-sample randomness.
pub type SampleRng = ChaCha12Rng;

/// SplitMix64's finaliser: a bijective 64-bit mix.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Folds any number of integers into one 64-bit seed.
pub fn derive_seed(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix64(seed), |acc, &p| mix64(acc ^ mix64(p)))
}

/// The generator for sample `index` of `epoch` under the run's `seed`.
pub fn sample_rng(seed: u64, epoch: u64, index: u64) -> SampleRng {
    SampleRng::seed_from_u64(derive_seed(seed, &[epoch, index]))
}

/// A generator for an arbitrary purpose (`stream` tells purposes apart).
pub fn stream_rng(seed: u64, stream: u64, parts: &[u64]) -> SampleRng {
    let mut all = vec![stream];
    all.extend_from_slice(parts);
    SampleRng::seed_from_u64(derive_seed(seed, &all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_inputs_same_stream_different_inputs_differ() {
        let a: u64 = sample_rng(1, 2, 3).random();
        let b: u64 = sample_rng(1, 2, 3).random();
        let c: u64 = sample_rng(1, 2, 4).random();
        let d: u64 = sample_rng(1, 3, 2).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(c, d);
    }
}
