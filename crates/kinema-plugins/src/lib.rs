//! The one place that links every plugin crate into binaries and tests.
