//! `IterTimer`: MMEngine's `IterTimerHook` — `data_time`, `time` and the ETA.

use std::time::Instant;

use crate::log_processor::Mode;
use crate::message_hub::MessageHub;

/// Measures `data_time` (batch wait) and `time` (whole iteration) and estimates the time left
/// from the mean iteration time, exactly like MMEngine's `IterTimerHook`:
/// train ETA = mean time since the train loop (re)started × iterations left;
/// val/test ETA = mean time in this epoch × batches left.
#[derive(Debug, Clone)]
pub struct IterTimer {
    last: Instant,
    train_time_total: f64,
    eval_time_total: f64,
    start_iter: usize,
}

impl Default for IterTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl IterTimer {
    /// A timer whose clock starts now.
    pub fn new() -> Self {
        Self { last: Instant::now(), train_time_total: 0.0, eval_time_total: 0.0, start_iter: 0 }
    }

    /// Before training: `start_iter` is `runner.iter` (non-zero after resuming).
    pub fn before_train(&mut self, start_iter: usize) {
        self.start_iter = start_iter;
    }

    /// Before every epoch (train, val or test): restarts the clock.
    pub fn before_epoch(&mut self) {
        self.last = Instant::now();
    }

    /// After every val or test epoch: resets the evaluation mean.
    pub fn after_eval_epoch(&mut self) {
        self.eval_time_total = 0.0;
    }

    /// Before an iteration: logs and returns `{mode}/data_time` (seconds since the last iteration ended).
    pub fn before_iter(&mut self, hub: &mut MessageHub, mode: Mode) -> f64 {
        let data_time = self.last.elapsed().as_secs_f64();
        hub.update_scalar(&format!("{}/data_time", mode.as_str()), data_time);
        data_time
    }

    /// After a train iteration: logs `train/time` and returns the ETA in seconds.
    /// `iter` is `runner.iter` (0-based index of the iteration that just ran).
    pub fn after_train_iter(&mut self, hub: &mut MessageHub, iter: usize, max_iters: usize) -> f64 {
        let time = self.lap();
        hub.update_scalar("train/time", time);
        self.record_train(time, iter, max_iters)
    }

    /// After a val or test iteration: logs `{mode}/time` and returns the ETA in seconds.
    pub fn after_eval_iter(
        &mut self,
        hub: &mut MessageHub,
        mode: Mode,
        batch_idx: usize,
        dataloader_len: usize,
    ) -> f64 {
        let time = self.lap();
        hub.update_scalar(&format!("{}/time", mode.as_str()), time);
        self.record_eval(time, batch_idx, dataloader_len)
    }

    /// Adds one train iteration of `time` seconds and returns the ETA (no clock involved).
    pub fn record_train(&mut self, time: f64, iter: usize, max_iters: usize) -> f64 {
        self.train_time_total += time;
        let done = (iter + 1).saturating_sub(self.start_iter).max(1);
        let left = max_iters.saturating_sub(iter + 1);
        self.train_time_total / done as f64 * left as f64
    }

    /// Adds one val/test iteration of `time` seconds and returns the ETA (no clock involved).
    pub fn record_eval(&mut self, time: f64, batch_idx: usize, dataloader_len: usize) -> f64 {
        self.eval_time_total += time;
        let left = dataloader_len.saturating_sub(batch_idx + 1);
        self.eval_time_total / (batch_idx + 1) as f64 * left as f64
    }

    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let time = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        time
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_mean_time_times_iterations_left() {
        let mut t = IterTimer::new();
        assert_eq!(t.record_train(2.0, 0, 10), 18.0);
        assert_eq!(t.record_train(4.0, 1, 10), 24.0); // mean 3 × 8 left
                                                      // Resumed at iteration 100: only iterations since then count.
        let mut r = IterTimer::new();
        r.before_train(100);
        assert_eq!(r.record_train(1.0, 100, 110), 9.0);
        assert_eq!(r.record_eval(0.5, 0, 5), 2.0);
        assert_eq!(r.record_eval(1.5, 1, 5), 3.0);
        r.after_eval_epoch();
        assert_eq!(r.record_eval(1.0, 0, 3), 2.0);
    }

    #[test]
    fn hub_keys_follow_mode() {
        let mut t = IterTimer::new();
        let mut hub = MessageHub::new();
        t.before_epoch();
        t.before_iter(&mut hub, Mode::Val);
        t.after_eval_iter(&mut hub, Mode::Val, 0, 4);
        t.before_iter(&mut hub, Mode::Train);
        t.after_train_iter(&mut hub, 0, 4);
        let keys: Vec<_> = hub.scalars().map(|(k, _)| k).collect();
        assert_eq!(keys, ["val/data_time", "val/time", "train/data_time", "train/time"]);
    }
}
