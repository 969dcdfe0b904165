//! The registration records collected by `inventory`, and look-up by kind and name.

use std::any::Any;

use serde_json::Value;

use super::build::{build_typed, resolve_typed, BuildSite, Built};
use super::{BuildError, Component, Kind};

/// The signature of a typed build function: the config table (without `type`), where it
/// is, the kind's context, and the registered name.
pub(crate) type BuildFn<K> =
    fn(Value, &BuildSite<'_>, &<K as Kind>::Context, &'static str) -> Result<Built<<K as Kind>::Output>, BuildError>;

/// The typed build function of one component, stored type-erased in a [`Registration`].
pub struct Factory<K: Kind> {
    pub(crate) build: BuildFn<K>,
}

impl<K: Kind> Factory<K> {
    /// The factory of component `C`.
    pub const fn of<C: Component<K>>() -> Self {
        Factory { build: build_typed::<K, C> }
    }
}

/// The signature of a resolve function: the config table (without `type`), where it is,
/// the kind's name and the registered name -> the table with every default filled in,
/// `type` first.
pub(crate) type ResolveFn = fn(Value, &BuildSite<'_>, &'static str, &'static str) -> Result<Value, BuildError>;

/// One registered component: what `register!` submits.
pub struct Registration {
    /// The kind's name (`Kind::NAME`).
    pub kind: &'static str,
    /// The name used as `type` in configs.
    pub name: &'static str,
    /// The Rust module that registered it.
    pub module: &'static str,
    /// The JSON schema of its config (fields, types, defaults, docs).
    pub schema: fn() -> schemars::Schema,
    pub(crate) resolve: ResolveFn,
    factory: &'static (dyn Any + Send + Sync),
}

impl Registration {
    /// Used by [`register!`](crate::register).
    pub const fn new<K: Kind, C: Component<K>>(
        name: &'static str,
        module: &'static str,
        factory: &'static Factory<K>,
    ) -> Self {
        Registration {
            kind: K::NAME,
            name,
            module,
            schema: schema_of::<C::Config>,
            resolve: resolve_typed::<C::Config>,
            factory,
        }
    }

    /// The typed factory, if this registration belongs to kind `K`.
    pub(crate) fn factory<K: Kind>(&self) -> Option<&'static Factory<K>> {
        self.factory.downcast_ref::<Factory<K>>()
    }
}

fn schema_of<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

inventory::collect!(Registration);

/// Every registration in the program, sorted by kind and name.
pub fn entries() -> Vec<&'static Registration> {
    let mut all: Vec<&'static Registration> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by(|a, b| (a.kind, a.name, a.module).cmp(&(b.kind, b.name, b.module)));
    all
}

/// The registrations of kind `K`, sorted by name.
pub fn entries_of<K: Kind>() -> Vec<&'static Registration> {
    entries().into_iter().filter(|r| r.kind == K::NAME && r.factory::<K>().is_some()).collect()
}

/// The registrations of the kind named `kind` (`Kind::NAME`), sorted by name.
pub fn entries_named(kind: &str) -> Vec<&'static Registration> {
    entries().into_iter().filter(|r| r.kind == kind).collect()
}

/// Every kind name that has at least one registration, sorted.
pub fn kind_names() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = entries().into_iter().map(|r| r.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}
