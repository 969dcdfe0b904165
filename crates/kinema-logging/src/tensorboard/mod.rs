//! TensorBoard event files without TensorFlow: TFRecord framing with masked CRC-32C around
//! `Event` protobufs (scalars as `simple_value`, text as the text plugin's string tensors).

pub mod proto;
pub mod reader;
pub mod record;
pub mod writer;

pub use reader::{read_events, scalars, texts, ScalarPoint, TextPoint};
pub use writer::{EventWriter, FlushPolicy, FILE_VERSION};
