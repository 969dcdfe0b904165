//! Many videos in one run: decoding threads run the test pipeline ahead of the model,
//! the model scores each clip (text features once, held by the model), and records are
//! written in input order as they are ready. An unreadable video gets a record with the
//! reason and the run goes on.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use kinema_logging::progress::Progress;

use crate::report::one_line;

use super::records::{record_name, Outcome, RecordWriter};
use super::session::Session;
use super::video::run_pipeline;

/// What a many-video run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Videos scored.
    pub scored: usize,
    /// Videos that could not be read (recorded with their error).
    pub failed: usize,
    /// Videos an earlier run had recorded.
    pub skipped: usize,
}

/// Scores every video of `videos` not in `done`, writing records with `writer`;
/// `workers` threads decode ahead of the model (0: each video is decoded just before
/// its clip is scored).
pub fn run_many(
    session: &mut Session,
    videos: Vec<PathBuf>,
    done: &HashSet<String>,
    writer: &mut RecordWriter,
    workers: usize,
) -> anyhow::Result<Summary> {
    let start = Instant::now();
    let mut summary = Summary::default();
    let todo: Vec<PathBuf> = videos
        .into_iter()
        .filter(|v| {
            let seen = done.contains(&record_name(v));
            summary.skipped += usize::from(seen);
            !seen
        })
        .collect();
    let todo = Arc::new(todo);
    let pipeline = session.shared_pipeline()?;
    let next = Arc::new(AtomicUsize::new(0));
    let workers = workers.min(todo.len());
    let (tx, rx) = sync_channel(2 * workers.max(1));
    let mut threads = Vec::new();
    for w in 0..workers {
        let (todo, pipeline, next, tx) = (Arc::clone(&todo), Arc::clone(&pipeline), Arc::clone(&next), tx.clone());
        let thread = std::thread::Builder::new()
            .name(format!("infer-decode-{w}"))
            .spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(video) = todo.get(i) else { return };
                let inputs = run_pipeline(&pipeline, video).map_err(|e| one_line(&e));
                if tx.send((i, inputs)).is_err() {
                    return;
                }
            })
            .context("cannot start a decoding thread")?;
        threads.push(thread);
    }
    drop(tx);
    let mut progress = Progress::start(todo.len() as u64, "infer");
    let mut waiting = BTreeMap::new();
    let mut written = 0;
    let result = (|| -> anyhow::Result<()> {
        // With no decoding threads, each video is decoded here just before its clip is
        // scored (on a CPU the model uses every core; a thread beside it only slows it).
        let inline = (0..if workers == 0 { todo.len() } else { 0 })
            .map(|i| (i, run_pipeline(&pipeline, &todo[i]).map_err(|e| one_line(&e))));
        for (i, inputs) in inline.chain(rx.iter()) {
            waiting.insert(i, inputs);
            while let Some(inputs) = waiting.remove(&written) {
                let name = record_name(&todo[written]);
                let outcome = match inputs
                    .map_err(|e| e.to_string())
                    .and_then(|x| session.scores(&x).map_err(|e| format!("{name}: {}", one_line(&e))))
                {
                    Ok(scores) => Outcome::Scores(scores),
                    Err(e) => {
                        log::warn!("skipped: {e}");
                        Outcome::Failed(e)
                    }
                };
                match &outcome {
                    Outcome::Scores(_) => summary.scored += 1,
                    Outcome::Failed(_) => summary.failed += 1,
                }
                writer.write(&name, &outcome)?;
                written += 1;
                progress.inc(1);
            }
        }
        Ok(())
    })();
    drop(rx);
    for t in threads {
        let _ = t.join();
    }
    progress.finish();
    result?;
    let secs = start.elapsed().as_secs_f64();
    log::info!(
        "{} videos scored, {} unreadable, {} already recorded; {:.1} videos/s",
        summary.scored,
        summary.failed,
        summary.skipped,
        (summary.scored + summary.failed) as f64 / secs.max(1e-9)
    );
    Ok(summary)
}
