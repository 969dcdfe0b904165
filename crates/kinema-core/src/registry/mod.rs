//! The component registry.
//!
//! A *kind* ([`Kind`]) is a family of interchangeable components (transforms, datasets,
//! models, hooks, ...) producing one trait object type. A component is a type with a
//! typed, documented config struct ([`Component::Config`]) and a build function. It
//! registers itself, next to its definition and in any crate, with [`register!`]:
//!
//! ```ignore
//! kinema_core::register!(TransformKind, "SampleFrames", SampleFrames);
//! ```
//!
//! and is built from a config table by its `type` key with [`build`]. Registration uses
//! `inventory`, so the linker must see the registering crate: binaries and tests link
//! plugin crates through `kinema-plugins` (see `docs/new_component.md`).

mod build;
mod component;
mod describe;
mod errors;
mod registration;
mod resolve;

pub use build::{build, build_at, build_list, BuildSite, Built};
pub use component::{BoxError, Component, FieldError, Kind};
pub use describe::{describe_all, ComponentInfo, FieldInfo};
pub use errors::{chain_text, closest as closest_name, describe_serde_problem, BuildError};
pub use registration::{entries, entries_named, entries_of, kind_names, Factory, Registration};
pub use resolve::{resolve_tree, schema_for, ComponentSpec, KIND_KEYWORD};

/// Registers component type `$component` under `$name` for kind `$kind`.
///
/// Call it at module level next to the component. The same type may be registered
/// under several names (aliases such as `DecordInit` / `PyAVInit`).
#[macro_export]
macro_rules! register {
    ($kind:ty, $name:literal, $component:ty) => {
        const _: () = {
            static FACTORY: $crate::registry::Factory<$kind> = $crate::registry::Factory::<$kind>::of::<$component>();
            $crate::__inventory::submit! {
                $crate::registry::Registration::new::<$kind, $component>($name, module_path!(), &FACTORY)
            }
        };
    };
}
