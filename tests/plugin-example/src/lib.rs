//! An out-of-core plugin crate: registers a transform and a hook without touching core.
