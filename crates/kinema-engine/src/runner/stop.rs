//! Stopping a training run cleanly on a signal (Slurm preemption, `scancel`, Ctrl-C):
//! SIGUSR1, SIGTERM or SIGINT asks the run to stop; the current iteration finishes, all
//! ranks agree on the same iteration, rank 0 writes a full checkpoint atomically, and the
//! trainer exits with [`EXIT_REQUEUE`] so a job script can requeue it; `--resume`
//! continues bit-exactly. A second SIGINT ends the process at once (the checkpoint being
//! written then is left out, never torn: files are renamed into place complete); further
//! SIGTERM / SIGUSR1 change nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::SigId;

use crate::EngineError;

/// The exit status of a trainer stopped by a signal after saving its state: sysexits'
/// `EX_TEMPFAIL` ("try again later"). Job scripts requeue on it (`tools/slurm_batch.sh`).
pub const EXIT_REQUEUE: u8 = 75;

/// How a training run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainEnd {
    /// The loop ran to its end.
    Completed,
    /// A signal stopped it after an iteration; its state was saved.
    Stopped(StopInfo),
}

/// Where a signal stopped a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopInfo {
    /// The signal that asked for the stop (the highest number any rank received).
    pub signal: i32,
    /// The last completed iteration.
    pub iter: u64,
    /// The checkpoint written (on rank 0; `None` on the other ranks).
    pub checkpoint: Option<PathBuf>,
}

/// The name of a signal number, for messages.
pub fn signal_name(signal: i32) -> String {
    match signal {
        SIGUSR1 => "SIGUSR1".into(),
        SIGTERM => "SIGTERM".into(),
        SIGINT => "SIGINT".into(),
        n => format!("signal {n}"),
    }
}

/// The stop request of this process: set by the signal handlers, read between iterations.
pub struct StopSignals {
    requested: Arc<AtomicUsize>,
    ids: Vec<SigId>,
}

impl StopSignals {
    /// Catches SIGUSR1, SIGTERM and SIGINT until dropped.
    pub fn install() -> Result<StopSignals, EngineError> {
        let requested = Arc::new(AtomicUsize::new(0));
        let interrupted = Arc::new(AtomicBool::new(false));
        let io = |e: std::io::Error| EngineError::Io { path: PathBuf::from("<signal handlers>"), source: e };
        let mut ids = Vec::new();
        // A second Ctrl-C exits at once: registered first, it sees the flag the first set.
        ids.push(signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&interrupted)).map_err(io)?);
        ids.push(signal_hook::flag::register(SIGINT, Arc::clone(&interrupted)).map_err(io)?);
        for sig in [SIGUSR1, SIGTERM, SIGINT] {
            ids.push(signal_hook::flag::register_usize(sig, Arc::clone(&requested), sig as usize).map_err(io)?);
        }
        Ok(StopSignals { requested, ids })
    }

    /// The signal received so far, if any.
    pub fn requested(&self) -> Option<i32> {
        match self.requested.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n as i32),
        }
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

impl super::Runner {
    /// Between iterations: when any rank received a stop signal (every rank asks every
    /// iteration, so all stop after the same one), rank 0 saves a full checkpoint
    /// `iter_<n>` (updating `last_checkpoint`) and the run ends with
    /// [`EngineError::Stopped`].
    pub(crate) fn stop_if_signalled(&mut self) -> Result<(), EngineError> {
        let Some(signals) = &self.stop_signals else { return Ok(()) };
        let local = signals.requested().unwrap_or(0) as i64;
        let signal = match &self.dist {
            Some(d) => {
                let t = tch::Tensor::from_slice(&[local]).to_device(self.env.device);
                d.group
                    .all_reduce(&[&t], kinema_torch::dist::ReduceOp::Max)
                    .map_err(|e| EngineError::dist("stop request", e))?;
                t.int64_value(&[0])
            }
            None => local,
        };
        if signal == 0 {
            return Ok(());
        }
        let iter = self.progress.iter;
        let name = signal_name(signal as i32);
        log::warn!("{name}: stopping after iteration {iter} to save the state (a second Ctrl-C exits at once)");
        let checkpoint = if self.env.is_main() {
            let format = self
                .cfg
                .get("default_hooks.checkpoint.save_format")
                .and_then(|f| serde_json::from_value::<crate::checkpoint::SaveFormat>(f.clone()).ok())
                .unwrap_or_default();
            let path = self.env.work_dir.join(format!("iter_{iter}.{}", format.extension()));
            let opts = super::SaveOptions { with_optimizer: true, update_last: true, format };
            self.save_checkpoint(&path, opts)?;
            log::warn!("{name}: saved {}; continue with --resume", path.display());
            Some(path)
        } else {
            None
        };
        if let Some(d) = &self.dist {
            d.group.barrier().map_err(|e| EngineError::dist("stop request", e))?;
        }
        Err(EngineError::Stopped(StopInfo { signal: signal as i32, iter, checkpoint }))
    }
}
