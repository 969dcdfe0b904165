//! The few TensorFlow protobuf messages an event file needs, declared by hand for `prost`
//! (field numbers from TensorFlow's `event.proto`, `summary.proto`, `tensor.proto`,
//! `tensor_shape.proto`). Fields that Kinema never writes are left out; `prost` skips them
//! when decoding files written by other tools.

/// `DataType::DT_STRING` in `types.proto`.
pub const DT_STRING: i32 = 7;

/// `tensorflow.Event`: one record of an event file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event carries.
    #[prost(oneof = "event::What", tags = "3, 5")]
    pub what: Option<event::What>,
}

/// Nested types of [`Event`].
pub mod event {
    /// `Event.what`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum What {
        /// The first event of a file: `"brain.Event:2"`.
        #[prost(string, tag = "3")]
        FileVersion(String),
        /// Summary values (scalars, text).
        #[prost(message, tag = "5")]
        Summary(super::Summary),
    }
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<summary::Value>,
}

/// Nested types of [`Summary`].
pub mod summary {
    /// `Summary.Value`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Value {
        /// Tag shown by TensorBoard (`loss`, `config/text_summary`).
        #[prost(string, tag = "1")]
        pub tag: String,
        /// Which plugin reads the value.
        #[prost(message, optional, tag = "9")]
        pub metadata: Option<super::SummaryMetadata>,
        /// The value.
        #[prost(oneof = "value::Value", tags = "2, 8")]
        pub value: Option<value::Value>,
    }

    /// Nested types of [`Value`].
    pub mod value {
        /// `Summary.Value.value`.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A scalar (TensorBoard's scalars dashboard).
            #[prost(float, tag = "2")]
            SimpleValue(f32),
            /// A tensor (text summaries are string tensors).
            #[prost(message, tag = "8")]
            Tensor(crate::tensorboard::proto::TensorProto),
        }
    }
}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin that owns the value.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<summary_metadata::PluginData>,
    /// Display name.
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// Markdown description.
    #[prost(string, tag = "3")]
    pub summary_description: String,
}

/// Nested types of [`SummaryMetadata`].
pub mod summary_metadata {
    /// `SummaryMetadata.PluginData`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PluginData {
        /// `"text"`, `"scalars"`, ...
        #[prost(string, tag = "1")]
        pub plugin_name: String,
        /// Plugin-specific serialized data (empty for the text plugin's version 0).
        #[prost(bytes = "vec", tag = "2")]
        pub content: Vec<u8>,
    }
}

/// `tensorflow.TensorProto` (string tensors only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// `DataType` enum value ([`DT_STRING`]).
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// Shape.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// The strings, row-major.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// Dimensions, outermost first.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<tensor_shape_proto::Dim>,
}

/// Nested types of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// `TensorShapeProto.Dim`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dim {
        /// Size of the dimension.
        #[prost(int64, tag = "1")]
        pub size: i64,
    }
}
