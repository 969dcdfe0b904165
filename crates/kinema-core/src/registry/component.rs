//! The two traits a component author implements.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::BuildSite;

/// The error a component's build function may return; the registry adds the file, the
/// key and the type name around it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A component's complaint about one of its own fields: the registry reports it at that
/// field's full key (`train_dataloader.dataset.pipeline.1.num_clips`) and names the file or
/// `--cfg-options` argument that wrote the field, not the one that wrote the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The field's name inside the component's table (dotted for nested fields).
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl FieldError {
    /// A complaint about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }

    /// `Err` naming the first of `fields` (name, value) whose value is 0.
    pub fn check_positive(fields: &[(&str, u64)]) -> Result<(), FieldError> {
        match fields.iter().find(|(_, v)| *v == 0) {
            Some((name, _)) => Err(FieldError::new(*name, format!("{name} must be at least 1"))),
            None => Ok(()),
        }
    }
}

/// A family of components that build into the same trait object.
pub trait Kind: 'static {
    /// Lower-case name used in messages and `list_registry --kind` (`"transform"`).
    const NAME: &'static str;
    /// What the build function receives besides its config (device, var store, ...).
    type Context: ?Sized + 'static;
    /// The built object, usually a trait object such as `dyn Transform`.
    type Output: ?Sized + 'static;
}

/// A buildable component of kind `K`.
pub trait Component<K: Kind>: 'static {
    /// The typed config: `#[derive(Deserialize, Serialize, JsonSchema)]` with
    /// `#[serde(deny_unknown_fields)]`, defaults, and a doc comment per field (the doc
    /// comment of the struct describes the component in `list_registry`).
    type Config: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static;

    /// Builds the component from its config.
    fn build(config: &Self::Config, ctx: &K::Context, site: &BuildSite<'_>) -> Result<Box<K::Output>, BoxError>;
}
