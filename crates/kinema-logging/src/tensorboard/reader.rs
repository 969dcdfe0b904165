//! Reading event files back (tests, tools): every record's checksums are verified.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use prost::Message;

use super::proto::{event, summary, Event, DT_STRING};
use super::record::{read_record, RecordError};
use crate::error::{LoggingError, Result};

/// Reads every event of `path`, failing on the first bad checksum, truncated record or
/// undecodable protobuf (the error names the file and the record's byte offset).
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let file = File::open(path).map_err(|e| LoggingError::io("open event file", path, e))?;
    let mut input = BufReader::new(file);
    let mut events = Vec::new();
    let mut offset = 0u64;
    loop {
        let data = match read_record(&mut input) {
            Ok(Some(data)) => data,
            Ok(None) => return Ok(events),
            Err(err) => return Err(record_error(path, offset, err)),
        };
        let event = Event::decode(data.as_slice()).map_err(|error| LoggingError::EventDecode {
            path: path.to_path_buf(),
            offset,
            error,
        })?;
        offset += data.len() as u64 + 16;
        events.push(event);
    }
}

fn record_error(path: &Path, offset: u64, err: RecordError) -> LoggingError {
    let path: PathBuf = path.to_path_buf();
    match err {
        RecordError::Truncated(expected) => LoggingError::TruncatedRecord { path, offset, expected },
        RecordError::Checksum(part, stored, computed) => {
            LoggingError::RecordChecksum { path, offset, part, stored, computed }
        }
        RecordError::Io(error) => LoggingError::Io { action: "read", path, error },
    }
}

/// A scalar found in an event file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarPoint {
    /// Tag.
    pub tag: String,
    /// Step.
    pub step: i64,
    /// Value (`f32` in the file).
    pub value: f32,
    /// Wall time in seconds.
    pub wall_time: f64,
}

/// A text summary found in an event file.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPoint {
    /// Tag.
    pub tag: String,
    /// Step.
    pub step: i64,
    /// The text (first string of the tensor).
    pub text: String,
}

fn summary_values(events: &[Event]) -> impl Iterator<Item = (&Event, &summary::Value)> {
    events.iter().flat_map(|e| match &e.what {
        Some(event::What::Summary(s)) => s.value.iter().map(move |v| (e, v)).collect::<Vec<_>>(),
        _ => Vec::new(),
    })
}

/// The `simple_value` scalars of `events`, in file order.
pub fn scalars(events: &[Event]) -> Vec<ScalarPoint> {
    summary_values(events)
        .filter_map(|(e, v)| match v.value {
            Some(summary::value::Value::SimpleValue(value)) => {
                Some(ScalarPoint { tag: v.tag.clone(), step: e.step, value, wall_time: e.wall_time })
            }
            _ => None,
        })
        .collect()
}

/// The string-tensor (text plugin) summaries of `events`, in file order.
pub fn texts(events: &[Event]) -> Vec<TextPoint> {
    summary_values(events)
        .filter_map(|(e, v)| match &v.value {
            Some(summary::value::Value::Tensor(t)) if t.dtype == DT_STRING => t.string_val.first().map(|s| TextPoint {
                tag: v.tag.clone(),
                step: e.step,
                text: String::from_utf8_lossy(s).into_owned(),
            }),
            _ => None,
        })
        .collect()
}
