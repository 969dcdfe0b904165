//! Grid frames for a timeline, decoded on a thread of their own while the model works:
//! from a file (every grid frame, in chunks, nothing dropped) or from a live input
//! (frames dropped and counted when the model falls behind).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use kinema_data::sample::FrameStack;
use kinema_video::{FrameStream, ReaderOptions, VideoInfo, VideoReader};

use super::windows::WindowGrid;

/// Grid frames in order: their grid positions, video frame indices and RGB pixels.
pub struct Chunk {
    /// Grid positions (consecutive within a window).
    pub positions: Vec<usize>,
    /// Frame indices in the video.
    pub frame_inds: Vec<usize>,
    /// The frames.
    pub frames: FrameStack,
}

/// A running decoder thread and what it sends.
pub struct FrameFeed {
    /// Chunks in order; an error ends the feed.
    pub chunks: Receiver<anyhow::Result<Chunk>>,
    /// Grid frames dropped because the model fell behind (live input only).
    pub dropped: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FrameFeed {
    fn drop(&mut self) {
        // Closing the receiver first makes a blocked sender fail and the thread end.
        let (_, closed) = sync_channel(1);
        drop(std::mem::replace(&mut self.chunks, closed));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens `path` and reports its metadata (the grid depends on its frame rate).
pub fn open_file(path: &Path, threads: usize) -> anyhow::Result<VideoReader> {
    kinema_core::fs::check_regular_file(path, "video file")?;
    Ok(VideoReader::open_with(path, &ReaderOptions::with_threads(threads))?)
}

/// Decodes the grid frames windows `0..windows` of `grid` use from `reader`, `chunk` at a
/// time, on a thread; at most two chunks wait for the model.
pub fn file_feed(mut reader: VideoReader, grid: WindowGrid, windows: usize, chunk: usize) -> anyhow::Result<FrameFeed> {
    let (tx, rx) = sync_channel(2);
    let positions = grid.used_positions(windows);
    let thread = std::thread::Builder::new()
        .name("timeline-decode".into())
        .spawn(move || {
            let info: VideoInfo = reader.info().clone();
            for part in positions.chunks(chunk.max(1)) {
                let frame_inds: Vec<usize> = part.iter().map(|p| p * grid.frame_interval).collect();
                let read = reader
                    .read_frames(&frame_inds)
                    .map(FrameStack::from)
                    .with_context(|| format!("cannot decode frames {:?}..", frame_inds.first()));
                let failed = read.is_err();
                let item = read.map(|frames| Chunk { positions: part.to_vec(), frame_inds, frames });
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
            log::debug!("decoded {} grid frames of {}x{}", positions.len(), info.width, info.height);
        })
        .context("cannot start the decoding thread")?;
    Ok(FrameFeed { chunks: rx, dropped: Arc::new(AtomicUsize::new(0)), thread: Some(thread) })
}

/// Decodes `stream` as its frames arrive and sends every grid frame (every
/// `grid.frame_interval`-th) the windows use, one per chunk; when `window` frames already
/// wait for the model, the new one is dropped and counted. Grid positions count the
/// frames sent, so a window is always `T` consecutive frames that reached the model.
pub fn live_feed(mut stream: FrameStream, grid: WindowGrid) -> anyhow::Result<FrameFeed> {
    let (tx, rx) = sync_channel(grid.window.max(2));
    let dropped = Arc::new(AtomicUsize::new(0));
    let dropped_in = Arc::clone(&dropped);
    let (width, height) = stream.size();
    let thread = std::thread::Builder::new()
        .name("live-decode".into())
        .spawn(move || {
            let mut position = 0usize;
            loop {
                let grid_frame = stream.next_index().is_multiple_of(grid.frame_interval);
                let wanted = grid_frame && grid.is_used(position);
                let mut rgb = Vec::new();
                // Every frame is decoded (the codec needs it); only wanted ones are converted.
                let index = match stream.next_frame(wanted.then_some(&mut rgb)) {
                    Ok(Some(i)) => i,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                };
                if !grid_frame {
                    continue;
                }
                if !wanted {
                    position += 1;
                    continue;
                }
                let frames = FrameStack { data: rgb, count: 1, height, width, channels: 3 };
                let chunk = Chunk { positions: vec![position], frame_inds: vec![index], frames };
                match tx.try_send(Ok(chunk)) {
                    Ok(()) => position += 1,
                    Err(TrySendError::Full(_)) => {
                        dropped_in.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
        })
        .context("cannot start the decoding thread")?;
    Ok(FrameFeed { chunks: rx, dropped, thread: Some(thread) })
}
