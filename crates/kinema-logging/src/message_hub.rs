//! `MessageHub`: the run's scalar histories by key (`train/loss`, `val/acc/top1`, ...).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{LoggingError, Result};
use crate::history::{HistoryBuffer, DEFAULT_MAX_LENGTH};

/// Scalar histories keyed like MMEngine's message hub (`train/lr`, `train/loss`,
/// `train/time`, `val/acc/top1`, ...), in the order keys were first logged. Serializable so
/// the engine can keep it in checkpoints (MMEngine saves the hub when resuming).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageHub {
    scalars: IndexMap<String, HistoryBuffer>,
    max_length: usize,
}

impl Default for MessageHub {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageHub {
    /// An empty hub whose buffers keep MMEngine's default 1,000,000 values each.
    pub fn new() -> Self {
        Self::with_max_length(DEFAULT_MAX_LENGTH)
    }

    /// An empty hub whose buffers keep at most `max_length` values each.
    pub fn with_max_length(max_length: usize) -> Self {
        Self { scalars: IndexMap::new(), max_length }
    }

    /// Logs `value` under `key` with count 1.
    pub fn update_scalar(&mut self, key: &str, value: f64) {
        self.update_scalar_with_count(key, value, 1);
    }

    /// Logs `value` under `key` with an accumulation count (used by windowed means).
    pub fn update_scalar_with_count(&mut self, key: &str, value: f64, count: u64) {
        let max_length = self.max_length;
        self.scalars.entry(key.to_string()).or_insert_with(|| HistoryBuffer::new(max_length)).update(value, count);
    }

    /// Logs every `(key, value)` pair, in order.
    pub fn update_scalars<'a>(&mut self, values: impl IntoIterator<Item = (&'a str, f64)>) {
        for (key, value) in values {
            self.update_scalar(key, value);
        }
    }

    /// The history of `key`.
    pub fn get_scalar(&self, key: &str) -> Option<&HistoryBuffer> {
        self.scalars.get(key)
    }

    /// All histories, in first-logged order.
    pub fn scalars(&self) -> impl Iterator<Item = (&str, &HistoryBuffer)> {
        self.scalars.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The hub as JSON, for checkpoints (`meta.message_hub`).
    pub fn state_dict(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Replaces the hub's content with a [`MessageHub::state_dict`] read back from a
    /// checkpoint.
    pub fn load_state_dict(&mut self, state: &serde_json::Value) -> Result<()> {
        *self = serde_json::from_value(state.clone()).map_err(|e| LoggingError::InvalidSetting {
            name: "message_hub state",
            reason: format!("expected the JSON of MessageHub::state_dict: {e}"),
        })?;
        Ok(())
    }

    /// Forgets every key starting with `prefix` (e.g. `"val/"` before a new validation).
    pub fn clear_prefix(&mut self, prefix: &str) {
        self.scalars.retain(|k, _| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_logged_order_and_histories() {
        let mut hub = MessageHub::new();
        hub.update_scalars([("train/lr", 0.1), ("train/loss", 2.0)]);
        hub.update_scalar("train/loss", 4.0);
        hub.update_scalar("val/acc/top1", 0.5);
        let keys: Vec<_> = hub.scalars().map(|(k, _)| k).collect();
        assert_eq!(keys, ["train/lr", "train/loss", "val/acc/top1"]);
        assert_eq!(hub.get_scalar("train/loss").and_then(|h| h.mean(20)), Some(3.0));
        hub.clear_prefix("val/");
        assert!(hub.get_scalar("val/acc/top1").is_none());
        let mut back = MessageHub::new();
        back.load_state_dict(&hub.state_dict()).expect("state dict");
        assert_eq!(back, hub);
        let err = back.load_state_dict(&serde_json::json!({"scalars": 3})).expect_err("bad state");
        assert!(err.to_string().contains("message_hub state"), "{err}");
    }
}
