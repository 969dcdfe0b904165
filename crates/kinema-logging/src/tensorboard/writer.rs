//! `EventWriter`: appends scalar and text summaries to a TensorBoard event file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use super::proto::{
    event, summary, summary_metadata, tensor_shape_proto, Event, Summary, SummaryMetadata, TensorProto,
    TensorShapeProto, DT_STRING,
};
use super::record::write_record;
use crate::error::{LoggingError, Result};

/// The `file_version` of the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// When buffered events reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// After every event: a killed process loses nothing (the default).
    #[default]
    EveryEvent,
    /// After every `n` events, and on [`EventWriter::flush`], `close` and drop.
    EveryN(usize),
}

static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Seconds since the Unix epoch, as event wall times are stored.
fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Writes one TensorBoard event file, `events.out.tfevents.<secs>.<hostname>.<pid>.<n>`
/// (TensorBoard finds any file name containing `tfevents`; the pid and per-process counter
/// keep two writers started in the same second apart).
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
    policy: FlushPolicy,
    unflushed: usize,
}

impl EventWriter {
    /// Creates a new event file in `dir` (and `dir` itself), flushing after every event.
    pub fn create(dir: &Path) -> Result<Self> {
        Self::create_with_policy(dir, FlushPolicy::EveryEvent)
    }

    /// Creates a new event file in `dir` with the given flush policy, and writes the
    /// `file_version` event.
    pub fn create_with_policy(dir: &Path, policy: FlushPolicy) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| LoggingError::io("create directory", dir, e))?;
        let wall_time = now_secs();
        let host = gethostname::gethostname().to_string_lossy().replace(['/', '\\'], "_");
        let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("events.out.tfevents.{}.{host}.{}.{n}", wall_time as u64, std::process::id());
        let path = dir.join(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| LoggingError::io("create event file", &path, e))?;
        let mut writer = Self { path, out: BufWriter::new(file), policy, unflushed: 0 };
        writer.write_event(&Event {
            wall_time,
            step: 0,
            what: Some(event::What::FileVersion(FILE_VERSION.to_string())),
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs a scalar (stored as `f32` `simple_value`, as TensorBoard does) at `step`.
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<()> {
        let value = summary::Value {
            tag: tag.to_string(),
            metadata: None,
            value: Some(summary::value::Value::SimpleValue(value as f32)),
        };
        self.add_summary_value(value, step)
    }

    /// Logs text for TensorBoard's text plugin (Markdown) under `tag` exactly as given
    /// (PyTorch's `add_text` appends `/text_summary` to the tag; callers wanting the same
    /// tag pass it whole).
    pub fn add_text(&mut self, tag: &str, text: &str, step: i64) -> Result<()> {
        let tensor = TensorProto {
            dtype: DT_STRING,
            tensor_shape: Some(TensorShapeProto { dim: vec![tensor_shape_proto::Dim { size: 1 }] }),
            string_val: vec![text.as_bytes().to_vec()],
        };
        let metadata = SummaryMetadata {
            plugin_data: Some(summary_metadata::PluginData { plugin_name: "text".to_string(), content: Vec::new() }),
            display_name: String::new(),
            summary_description: String::new(),
        };
        let value = summary::Value {
            tag: tag.to_string(),
            metadata: Some(metadata),
            value: Some(summary::value::Value::Tensor(tensor)),
        };
        self.add_summary_value(value, step)
    }

    fn add_summary_value(&mut self, value: summary::Value, step: i64) -> Result<()> {
        let event =
            Event { wall_time: now_secs(), step, what: Some(event::What::Summary(Summary { value: vec![value] })) };
        self.write_event(&event)
    }

    /// Appends any event, then flushes according to the policy.
    pub fn write_event(&mut self, event: &Event) -> Result<()> {
        write_record(&mut self.out, &event.encode_to_vec()).map_err(|e| LoggingError::io("write", &self.path, e))?;
        self.unflushed += 1;
        let due = match self.policy {
            FlushPolicy::EveryEvent => true,
            FlushPolicy::EveryN(n) => self.unflushed >= n.max(1),
        };
        if due {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands buffered events to the operating system.
    pub fn flush(&mut self) -> Result<()> {
        self.unflushed = 0;
        self.out.flush().map_err(|e| LoggingError::io("flush", &self.path, e))
    }

    /// Flushes and closes the file, reporting a failing final write.
    pub fn close(mut self) -> Result<()> {
        self.flush()
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
