//! `--prefix-output`: copies each child's stdout and stderr to the launcher's, line by
//! line, with a `[rank N] ` prefix.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The copying threads of all children; [`Relays::finish`] waits for them.
pub(crate) struct Relays {
    done_tx: Option<mpsc::Sender<()>>,
    done_rx: mpsc::Receiver<()>,
}

/// Which of the launcher's streams a pipe is copied to.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Relays {
    pub(crate) fn new() -> Self {
        let (done_tx, done_rx) = mpsc::channel();
        Relays { done_tx: Some(done_tx), done_rx }
    }

    /// Copies `pipe` to `stream` on a new thread, prefixing each line with the rank.
    pub(crate) fn spawn(&self, rank: usize, pipe: impl Read + Send + 'static, stream: Stream) {
        let Some(done) = self.done_tx.clone() else { return };
        let prefix = format!("[rank {rank}] ");
        let spawned = thread::Builder::new().name(format!("rank{rank}-output")).spawn(move || {
            copy_lines(&prefix, pipe, stream);
            drop(done);
        });
        if let Err(e) = spawned {
            eprintln!("launch: cannot start the output thread of rank {rank}: {e}; its output is lost");
        }
    }

    /// Waits until every pipe reached end-of-file, for at most `limit`: a grandchild that
    /// outlives its rank may keep a pipe open forever, and then its remaining output is
    /// dropped.
    pub(crate) fn finish(mut self, limit: Duration) {
        self.done_tx = None;
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done_rx.recv_timeout(left) {
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!("launch: some output pipes are still open (a process outlived its rank?); not waiting");
                    return;
                }
                Ok(()) => {}
            }
        }
    }
}

fn copy_lines(prefix: &str, pipe: impl Read, stream: Stream) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        line.extend_from_slice(prefix.as_bytes());
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                // One write per line under the lock, so lines of different ranks never mix.
                let written = match stream {
                    Stream::Stdout => std::io::stdout().lock().write_all(&line),
                    Stream::Stderr => std::io::stderr().lock().write_all(&line),
                };
                if written.is_err() {
                    // Our own output is gone (closed pipe); keep draining so the child does not block.
                    continue;
                }
            }
            // `read_until` already retries interrupted reads; anything else ends the copy.
            Err(_) => return,
        }
    }
}
