//! The one place that links every component crate into Kinema's binaries.
//!
//! Components register themselves with `inventory`, which places each registration in a
//! static constructor. The linker drops a crate that no code references, and with it
//! every registration, even with LTO. So each crate that registers components must be
//! named somewhere in the final binary. The rule: **a crate that registers components is
//! listed here** (and binaries depend on `kinema-plugins`, calling [`link`] once), so no
//! binary has to know which crates exist. A user plugin crate is added to this list, or
//! named in the user's own binary with `use my_plugin as _;` (see `docs/new_component.md`).

use actionclip as _;
use kinema_data as _;
use kinema_engine as _;
use kinema_models as _;
use kinema_optim as _;

/// Makes sure every listed crate, and so every registered component, is linked.
/// Call it at the start of `main` (it does nothing at run time).
pub fn link() {}

/// The crates listed here, for `tools/list_registry` and tests.
pub const LINKED_CRATES: [&str; 5] = ["actionclip", "kinema_data", "kinema_engine", "kinema_models", "kinema_optim"];
