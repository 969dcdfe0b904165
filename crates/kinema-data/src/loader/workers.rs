//! Worker threads and the in-order epoch iterator.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::collate::{collate, Batch};
use crate::dataset::{fetch, Dataset, SkipLog, SkipReport};
use crate::error::DataError;

/// Everything a worker needs for one epoch.
pub(crate) struct EpochShared {
    pub dataset: Arc<dyn Dataset>,
    pub seed: u64,
    pub epoch: u64,
    pub log: SkipLog,
    pub cancelled: AtomicBool,
    pub results: Sender<(usize, Result<Batch, DataError>)>,
}

/// One batch to load: its position in the epoch and its dataset indices.
pub(crate) struct Job {
    pub shared: Arc<EpochShared>,
    pub position: usize,
    pub indices: Vec<usize>,
}

/// Loads and collates one batch; panics become errors.
pub(crate) fn load_batch(shared: &EpochShared, position: usize, indices: &[usize]) -> Result<Batch, DataError> {
    let work = || {
        let mut samples = Vec::with_capacity(indices.len());
        for &i in indices {
            samples.push(fetch(shared.dataset.as_ref(), i, shared.seed, shared.epoch, &shared.log)?);
        }
        collate(samples)
    };
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(r) => r,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(DataError::WorkerPanic { batch: position, message })
        }
    }
}

/// A pool of threads loading batches from a job queue.
pub(crate) struct WorkerPool {
    jobs: Option<Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    /// Starts `workers` threads; when the system refuses one, the started ones stop and
    /// the error says how many could start.
    pub fn new(workers: usize) -> Result<Self, DataError> {
        let (tx, rx) = unbounded::<Job>();
        let mut pool = WorkerPool { jobs: Some(tx), handles: Vec::with_capacity(workers) };
        for w in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("kinema-data-{w}")).spawn(move || worker_loop(rx));
            match spawned {
                Ok(handle) => pool.handles.push(handle),
                Err(source) => return Err(DataError::Workers { asked: workers, started: w, source }),
            }
        }
        Ok(pool)
    }

    pub fn submit(&self, job: Job) {
        if let Some(tx) = &self.jobs {
            // The workers only stop when the pool is dropped, so this cannot fail while
            // the pool is alive.
            let _ = tx.send(job);
        }
    }
}

fn worker_loop(rx: Receiver<Job>) {
    while let Ok(job) = rx.recv() {
        if job.shared.cancelled.load(Ordering::Relaxed) {
            continue;
        }
        let result = load_batch(&job.shared, job.position, &job.indices);
        let _ = job.shared.results.send((job.position, result));
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.jobs = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Where an epoch's batches come from.
pub(crate) enum Source<'a> {
    /// Loaded in the calling thread (`num_workers = 0`).
    Inline,
    /// Loaded by a pool; `prefetch` batches in flight at most.
    Pool { pool: &'a WorkerPool, prefetch: usize, results: Receiver<(usize, Result<Batch, DataError>)> },
    /// The workers could not start: the first item is this error, then the epoch ends.
    Failed(Option<DataError>),
}

/// Iterator over one epoch's batches, in sampler order. Yields `Err` for a batch that
/// failed and goes on with the next one.
pub struct EpochIter<'a> {
    pub(crate) shared: Arc<EpochShared>,
    pub(crate) batches: Vec<Vec<usize>>,
    pub(crate) next: usize,
    pub(crate) dispatched: usize,
    pub(crate) pending: BTreeMap<usize, Result<Batch, DataError>>,
    pub(crate) source: Source<'a>,
    pub(crate) reported: bool,
}

impl<'a> EpochIter<'a> {
    pub(crate) fn new(shared: EpochShared, batches: Vec<Vec<usize>>, source: Source<'a>) -> Self {
        let mut it = EpochIter {
            shared: Arc::new(shared),
            batches,
            next: 0,
            dispatched: 0,
            pending: BTreeMap::new(),
            source,
            reported: false,
        };
        it.fill();
        it
    }

    fn fill(&mut self) {
        if let Source::Pool { pool, prefetch, .. } = &self.source {
            while self.dispatched < self.batches.len() && self.dispatched < self.next + prefetch {
                let position = self.dispatched;
                pool.submit(Job { shared: self.shared.clone(), position, indices: self.batches[position].clone() });
                self.dispatched += 1;
            }
        }
    }

    /// Number of batches in this epoch.
    pub fn total(&self) -> usize {
        self.batches.len()
    }

    /// Unreadable samples skipped so far in this epoch.
    pub fn report(&self) -> SkipReport {
        self.shared.log.report()
    }

    fn finish(&mut self) {
        if self.reported {
            return;
        }
        self.reported = true;
        let r = self.report();
        if r.skipped > 0 {
            log::warn!(
                "epoch {}: {} samples were unreadable and replaced ({} files): {}",
                self.shared.epoch,
                r.skipped,
                r.files.len(),
                r.files.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
    }
}

impl Iterator for EpochIter<'_> {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.batches.len() {
            self.finish();
            return None;
        }
        let position = self.next;
        let item = match &mut self.source {
            Source::Failed(error) => {
                self.next = self.batches.len();
                return error.take().map(Err);
            }
            Source::Inline => load_batch(&self.shared, position, &self.batches[position]),
            Source::Pool { results, .. } => loop {
                if let Some(r) = self.pending.remove(&position) {
                    break r;
                }
                match results.recv() {
                    Ok((p, r)) => {
                        self.pending.insert(p, r);
                    }
                    Err(_) => {
                        break Err(DataError::WorkerPanic {
                            batch: position,
                            message: "the worker threads stopped".into(),
                        })
                    }
                }
            },
        };
        self.next += 1;
        self.fill();
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batches.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for EpochIter<'_> {}

impl Drop for EpochIter<'_> {
    /// Stops the workers' remaining jobs; the skipped-samples summary is logged here when
    /// the epoch ends early (an iteration-based loop's last epoch, a stop, an error), so no
    /// epoch goes unreported.
    fn drop(&mut self) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
        self.finish();
    }
}
