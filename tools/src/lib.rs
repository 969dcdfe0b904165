//! Kinema's stock tools: every command of `kinema-cli`, with the in-tree projects linked in.
//!
//! The projects are this package's dependencies under `../projects` in `Cargo.toml`;
//! `build.rs` turns that list into the `use` lines below, which keep each project's
//! registered components in the binaries (the linker drops a crate nothing names).
//! A user's own crate gets the same tools with its own binaries: see
//! `docs/new_component.md`.

include!(concat!(env!("OUT_DIR"), "/linked_crates.rs"));

/// Keeps the linked projects in the binary; each tool calls it first.
pub fn link_projects() {}
