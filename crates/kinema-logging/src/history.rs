//! `HistoryBuffer`: the values (and counts) logged under one key, with windowed statistics.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// MMEngine's default maximum number of values kept per key.
pub const DEFAULT_MAX_LENGTH: usize = 1_000_000;

/// The history of one scalar, like MMEngine's `HistoryBuffer`: every update stores a value
/// and a count; `mean(w)` is `sum(values[-w:]) / sum(counts[-w:])`. The oldest entries are
/// dropped beyond `max_length`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryBuffer {
    values: VecDeque<f64>,
    counts: VecDeque<u64>,
    max_length: usize,
}

impl Default for HistoryBuffer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LENGTH)
    }
}

impl HistoryBuffer {
    /// An empty buffer keeping at most `max_length` entries (at least one).
    pub fn new(max_length: usize) -> Self {
        Self { values: VecDeque::new(), counts: VecDeque::new(), max_length: max_length.max(1) }
    }

    /// Appends `value` with accumulation `count` (1 for a plain value).
    pub fn update(&mut self, value: f64, count: u64) {
        self.values.push_back(value);
        self.counts.push_back(count);
        while self.values.len() > self.max_length {
            self.values.pop_front();
            self.counts.pop_front();
        }
    }

    /// The latest value.
    pub fn current(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// `sum(values[-window:]) / sum(counts[-window:])`; `None` when empty. A window of 0
    /// or one larger than the history uses the whole history.
    pub fn mean(&self, window: usize) -> Option<f64> {
        let n = self.window_len(window)?;
        let start = self.values.len() - n;
        let window: Vec<f64> = self.values.range(start..).copied().collect();
        let count: u64 = self.counts.range(start..).sum();
        Some(numpy_sum(&window) / count as f64)
    }

    /// The mean over the whole history.
    pub fn global_mean(&self) -> Option<f64> {
        self.mean(0)
    }

    /// The largest of the last `window` values (0: all).
    pub fn max(&self, window: usize) -> Option<f64> {
        let n = self.window_len(window)?;
        self.values.range(self.values.len() - n..).copied().reduce(f64::max)
    }

    /// The smallest of the last `window` values (0: all).
    pub fn min(&self, window: usize) -> Option<f64> {
        let n = self.window_len(window)?;
        self.values.range(self.values.len() - n..).copied().reduce(f64::min)
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The stored values, oldest first.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied()
    }

    /// The stored counts, oldest first.
    pub fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.iter().copied()
    }

    fn window_len(&self, window: usize) -> Option<usize> {
        if self.values.is_empty() {
            return None;
        }
        Some(if window == 0 { self.values.len() } else { window.min(self.values.len()) })
    }
}

/// Sums like NumPy's `ndarray.sum()` on a contiguous `float64` array (pairwise summation
/// with eight accumulators, blocks of 128), so means are bit-identical to MMEngine's and
/// the JSON files carry the same digits.
pub fn numpy_sum(values: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        values.iter().fold(0.0, |acc, v| acc + v)
    } else if n <= BLOCK {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for chunk in values[8..whole].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(chunk) {
                *acc += v;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[whole..] {
            res += v;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        numpy_sum(&values[..half]) + numpy_sum(&values[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_over_windows() {
        let mut h = HistoryBuffer::default();
        assert_eq!(h.mean(20), None);
        assert_eq!(h.current(), None);
        for v in 1..=30 {
            h.update(f64::from(v), 1);
        }
        assert_eq!(h.current(), Some(30.0));
        // mean of 11..=30
        assert_eq!(h.mean(20), Some(20.5));
        assert_eq!(h.mean(100), Some(15.5));
        assert_eq!(h.global_mean(), Some(15.5));
        assert_eq!(h.max(5), Some(30.0));
        assert_eq!(h.min(5), Some(26.0));
        assert_eq!(h.min(0), Some(1.0));
    }

    #[test]
    fn numpy_sum_matches_numpy_bits() {
        // NumPy 2.4.6: np.array([1.0 / (i + 3) for i in range(n)]).sum(); a plain left-to-right
        // sum gives 2.1908132502172744 and 4.789297397713856 for n = 20 and 300.
        let values: Vec<f64> = (0..300).map(|i| 1.0 / f64::from(i + 3)).collect();
        assert_eq!(numpy_sum(&values[..5]), 1.0928571428571427);
        assert_eq!(numpy_sum(&values[..20]), 2.190813250217275);
        assert_eq!(numpy_sum(&values), 4.789297397713862);
    }

    #[test]
    fn counts_weight_the_mean_and_max_length_drops_oldest() {
        let mut h = HistoryBuffer::new(3);
        h.update(10.0, 2); // dropped below
        h.update(4.0, 2);
        h.update(6.0, 3);
        h.update(2.0, 1);
        assert_eq!(h.len(), 3);
        assert_eq!(h.values().collect::<Vec<_>>(), [4.0, 6.0, 2.0]);
        // (4 + 6 + 2) / (2 + 3 + 1)
        assert_eq!(h.mean(10), Some(2.0));
    }
}
