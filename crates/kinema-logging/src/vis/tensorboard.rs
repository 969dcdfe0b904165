//! `TensorboardVisBackend`: scalars and the config into an event file in `vis_data`.

use std::path::PathBuf;

use super::VisBackend;
use crate::error::Result;
use crate::scalars::ScalarDict;
use crate::tensorboard::{EventWriter, FlushPolicy};

/// MMEngine's `TensorboardVisBackend`: each scalar becomes `add_scalar(key, value, step)`
/// with the key as tag (no `train/` prefix); the config becomes a text summary tagged
/// `config/text_summary` (what PyTorch's `add_text("config", ...)` writes). The event file
/// is created in `save_dir` on first use.
#[derive(Debug)]
pub struct TensorboardVisBackend {
    save_dir: PathBuf,
    policy: FlushPolicy,
    writer: Option<EventWriter>,
}

impl TensorboardVisBackend {
    /// Writes into `save_dir`, flushing after every event.
    pub fn new(save_dir: impl Into<PathBuf>) -> Self {
        Self::with_flush_policy(save_dir, FlushPolicy::EveryEvent)
    }

    /// Writes into `save_dir` with the given flush policy.
    pub fn with_flush_policy(save_dir: impl Into<PathBuf>, policy: FlushPolicy) -> Self {
        Self { save_dir: save_dir.into(), policy, writer: None }
    }

    /// The event file, once something was written.
    pub fn event_file(&self) -> Option<PathBuf> {
        self.writer.as_ref().map(|w| w.path().to_path_buf())
    }

    fn writer(&mut self) -> Result<&mut EventWriter> {
        let writer = match self.writer.take() {
            Some(w) => w,
            None => EventWriter::create_with_policy(&self.save_dir, self.policy)?,
        };
        Ok(self.writer.insert(writer))
    }
}

impl VisBackend for TensorboardVisBackend {
    fn name(&self) -> &'static str {
        "TensorboardVisBackend"
    }

    fn add_config(&mut self, text: &str) -> Result<()> {
        self.writer()?.add_text("config/text_summary", text, 0)
    }

    /// A `step` key in `scalars` is not a metric and is skipped (MMEngine rejects it).
    fn add_scalars(&mut self, scalars: &ScalarDict, step: u64) -> Result<()> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let writer = self.writer()?;
        for (key, value) in scalars.iter().filter(|(k, _)| *k != "step") {
            writer.add_scalar(key, value.as_f64(), step)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    fn close(&mut self) -> Result<()> {
        match self.writer.take() {
            Some(w) => w.close(),
            None => Ok(()),
        }
    }
}
