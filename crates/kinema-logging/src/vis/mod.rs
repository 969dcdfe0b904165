//! The visualizer: fans scalars and the config out to the enabled backends
//! (`vis_backends = [{type = "LocalVisBackend"}, {type = "TensorboardVisBackend"}]`).
//! Building backends from config names is left to the engine's registry: it calls the
//! plain constructors [`LocalVisBackend::new`] and [`TensorboardVisBackend::new`] with
//! [`crate::RunPaths::vis_dir`].

mod local;
mod tensorboard;

pub use local::{write_test_metrics, LocalVisBackend};
pub use tensorboard::TensorboardVisBackend;

use crate::error::Result;
use crate::scalars::ScalarDict;

/// A destination for scalars and the config (MMEngine's `BaseVisBackend`).
pub trait VisBackend: Send + std::fmt::Debug {
    /// The registry name (`"LocalVisBackend"`, ...).
    fn name(&self) -> &'static str;
    /// Records the run's config text.
    fn add_config(&mut self, text: &str) -> Result<()>;
    /// Records scalars at `step` (train: iteration + 1; val: epoch).
    fn add_scalars(&mut self, scalars: &ScalarDict, step: u64) -> Result<()>;
    /// Hands buffered data to the operating system.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// Flushes and releases files; later calls may reopen them.
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

/// Sends everything to each backend in turn. A failing backend does not stop the others;
/// the first error is returned after all were tried.
#[derive(Debug, Default)]
pub struct Visualizer {
    backends: Vec<Box<dyn VisBackend>>,
}

impl Visualizer {
    /// A visualizer without backends (everything is dropped).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a backend.
    pub fn add_backend(&mut self, backend: Box<dyn VisBackend>) {
        self.backends.push(backend);
    }

    /// Adds a backend, builder style.
    pub fn with_backend(mut self, backend: impl VisBackend + 'static) -> Self {
        self.backends.push(Box::new(backend));
        self
    }

    /// The backends' names, in order.
    pub fn backend_names(&self) -> Vec<&'static str> {
        self.backends.iter().map(|b| b.name()).collect()
    }

    /// Records the config text in every backend.
    pub fn add_config(&mut self, text: &str) -> Result<()> {
        self.each(|b| b.add_config(text))
    }

    /// Records scalars at `step` in every backend.
    pub fn add_scalars(&mut self, scalars: &ScalarDict, step: u64) -> Result<()> {
        self.each(|b| b.add_scalars(scalars, step))
    }

    /// Flushes every backend.
    pub fn flush(&mut self) -> Result<()> {
        self.each(|b| b.flush())
    }

    /// Closes every backend.
    pub fn close(&mut self) -> Result<()> {
        self.each(|b| b.close())
    }

    fn each(&mut self, mut f: impl FnMut(&mut dyn VisBackend) -> Result<()>) -> Result<()> {
        let mut first_error = None;
        for backend in &mut self.backends {
            if let Err(e) = f(backend.as_mut()) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
