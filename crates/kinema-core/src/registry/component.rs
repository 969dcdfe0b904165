//! The two traits a component author implements.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::BuildSite;

/// The error a component's build function may return; the registry adds the file, the
/// key and the type name around it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
