//! Liveness of the ranks, so a failed collective can say WHICH rank died or stopped:
//! every rank writes a heartbeat (milliseconds since the epoch) into the group's store
//! from a background thread; on a failure the survivors read them back.

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bridge;

/// A connection of its own to a process group's store.
pub(crate) struct StoreConn {
    ptr: NonNull<c_void>,
}

// SAFETY: a store connection is used by one thread at a time (it moves into the heartbeat
// thread, or sits behind a mutex).
unsafe impl Send for StoreConn {}

impl StoreConn {
    /// Opens a new connection to the store of the group `pg` (a raw handle).
    pub(crate) fn open(pg: *mut c_void) -> Result<StoreConn, String> {
        let mut ptr = std::ptr::null_mut();
        bridge::call(|e, n| {
            // SAFETY: `pg` is a live group handle.
            ptr = unsafe { bridge::kinema_store_clone(pg, e, n) };
            i32::from(ptr.is_null())
        })?;
        NonNull::new(ptr).map(|ptr| StoreConn { ptr }).ok_or_else(|| "no store handle".to_string())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        let key = CString::new(key).map_err(|e| e.to_string())?;
        bridge::call(|e, n| unsafe {
            // SAFETY: key and value outlive the call.
            bridge::kinema_store_set(self.ptr.as_ptr(), key.as_ptr(), value.as_ptr(), value.len(), e, n)
        })
    }

    fn try_get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let key = CString::new(key).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 64];
        let (mut len, mut found) = (0usize, 0i32);
        bridge::call(|e, n| unsafe {
            // SAFETY: the buffers outlive the call; at most `buf.len()` bytes are written.
            bridge::kinema_store_try_get(
                self.ptr.as_ptr(),
                key.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
                &mut found,
                e,
                n,
            )
        })?;
        if found == 0 {
            return Ok(None);
        }
        buf.truncate(len.min(64));
        Ok(Some(buf))
    }
}

impl Drop for StoreConn {
    fn drop(&mut self) {
        // SAFETY: created by kinema_store_clone, freed once.
        unsafe { bridge::kinema_store_free(self.ptr.as_ptr()) }
    }
}

fn key(rank: usize) -> String {
    format!("kinema/heartbeat/{rank}")
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Watching the other ranks: one whose heartbeat is older than `silent_after` (a frozen
/// or stopped process, a hung machine) is reported through `on_silent`, so a job does not
/// wait for the collective timeout (30 minutes with Gloo).
pub struct Watchdog {
    /// How old another rank's heartbeat may get.
    pub silent_after: Duration,
    /// Called once, from the heartbeat thread, with a message naming the silent rank.
    pub on_silent: Box<dyn Fn(String) + Send>,
}

/// The background threads writing this rank's heartbeat (and, when watching, checking
/// that the store answers); stop when dropped.
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

/// `rank 3 on host-b`, or `rank 3` before the hosts are known.
fn describe_rank(names: &Mutex<Vec<String>>, rank: usize) -> String {
    let names = names.lock().map(|n| n.clone()).unwrap_or_default();
    names.get(rank).map(|n| format!("rank {rank} on {n}")).unwrap_or(format!("rank {rank}"))
}

/// The watchdog's callback, taken by whichever thread fires first.
pub(crate) type Alarm = Arc<Mutex<Option<Box<dyn Fn(String) + Send>>>>;

fn fire(alarm: &Alarm, message: String) {
    let callback = alarm.lock().ok().and_then(|mut slot| slot.take());
    if let Some(callback) = callback {
        callback(message);
    }
}

/// What the heartbeat thread needs to watch the others.
pub(crate) struct Watch {
    pub world_size: usize,
    pub names: Arc<Mutex<Vec<String>>>,
    /// How old another rank's heartbeat (or the store's last answer) may get.
    pub silent_after: Duration,
    /// The watchdog's callback, shared by the heartbeat and store-watch threads.
    pub alarm: Alarm,
}

impl Watch {
    /// Watches `world_size` ranks named by `names` with `watchdog`.
    pub(crate) fn new(world_size: usize, names: Arc<Mutex<Vec<String>>>, watchdog: Watchdog) -> Watch {
        let alarm = Arc::new(Mutex::new(Some(watchdog.on_silent)));
        Watch { world_size, names, silent_after: watchdog.silent_after, alarm }
    }
}

impl Watch {
    /// `rank 3 on host-b`, or `rank 3` before the hosts are known.
    fn who(&self, rank: usize) -> String {
        describe_rank(&self.names, rank)
    }

    /// The first rank whose heartbeat is older than the limit, described.
    fn silent(&self, conn: &StoreConn, own_rank: usize) -> Option<String> {
        let limit = self.silent_after.as_millis() as u64;
        let now = now_ms();
        for rank in (0..self.world_size).filter(|&r| r != own_rank) {
            let Ok(Some(bytes)) = conn.try_get(&key(rank)) else { continue };
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8.min(bytes.len())]);
            let age = now.saturating_sub(u64::from_le_bytes(b));
            if age > limit {
                return Some(format!(
                    "{} stopped responding: no heartbeat for {:.1} s (limit {:.0} s)",
                    self.who(rank),
                    age as f64 / 1000.0,
                    self.silent_after.as_secs_f64()
                ));
            }
        }
        None
    }
}

impl Heartbeat {
    /// Writes a heartbeat for `rank` every `interval` through `conn`, and with `watch`
    /// checks the other ranks' heartbeats as often. A second thread checks that the store
    /// keeps answering: the store lives in rank 0, so a frozen rank 0 shows as a store
    /// that stops replying (the heartbeat thread then blocks inside the store call).
    pub(crate) fn start(conn: StoreConn, rank: usize, interval: Duration, watch: Option<Watch>) -> Heartbeat {
        // The first beat is written before returning, so even a rank that dies at once
        // has left one behind.
        let _ = conn.set(&key(rank), &now_ms().to_le_bytes());
        let stop = Arc::new(AtomicBool::new(false));
        let last_answer = Arc::new(AtomicU64::new(now_ms()));
        let mut handles = Vec::new();
        if let Some(w) = &watch {
            let (flag, last, alarm) = (Arc::clone(&stop), Arc::clone(&last_answer), Arc::clone(&w.alarm));
            let limit = w.silent_after;
            let names = Arc::clone(&w.names);
            let monitor = move || {
                while !pause(&flag, interval) {
                    let quiet = now_ms().saturating_sub(last.load(Ordering::Relaxed));
                    if quiet > limit.as_millis() as u64 {
                        let message = format!(
                            "the store on {} stopped answering: no reply for {:.1} s (limit {:.0} s); \
                             rank 0 is frozen or its machine hung",
                            describe_rank(&names, 0),
                            quiet as f64 / 1000.0,
                            limit.as_secs_f64()
                        );
                        fire(&alarm, message);
                        return;
                    }
                }
            };
            if rank != 0 {
                handles
                    .extend(std::thread::Builder::new().name(format!("kinema-store-watch-{rank}")).spawn(monitor).ok());
            }
        }
        let (flag, last) = (Arc::clone(&stop), Arc::clone(&last_answer));
        let beat = move || loop {
            if conn.set(&key(rank), &now_ms().to_le_bytes()).is_err() {
                // The store is gone (rank 0 ended); the collectives will report it, and
                // the store watch has nothing left to watch.
                last.store(u64::MAX, Ordering::Relaxed);
                return;
            }
            last.store(now_ms(), Ordering::Relaxed);
            if let Some(w) = &watch {
                if let Some(message) = w.silent(&conn, rank) {
                    fire(&w.alarm, message);
                    return;
                }
            }
            if pause(&flag, interval) {
                return;
            }
        };
        handles.extend(std::thread::Builder::new().name(format!("kinema-heartbeat-{rank}")).spawn(beat).ok());
        Heartbeat { stop, handles }
    }
}

/// Sleeps `interval` in short steps; true when `stop` was set meanwhile.
fn pause(stop: &AtomicBool, interval: Duration) -> bool {
    let mut slept = Duration::ZERO;
    while slept < interval {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
        slept += Duration::from_millis(50);
    }
    stop.load(Ordering::Relaxed)
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Says which ranks look dead (or that the store, which rank 0 hosts, is gone), waiting up
/// to `stale_after` for a rank that just died to become visibly stale.
pub(crate) fn diagnose(
    conn: &StoreConn,
    names: &[String],
    world_size: usize,
    own_rank: usize,
    stale_after: Duration,
) -> String {
    let deadline = std::time::Instant::now() + stale_after + Duration::from_millis(500);
    loop {
        let (found, text) = diagnose_once(conn, names, world_size, own_rank, stale_after);
        if found || std::time::Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn diagnose_once(
    conn: &StoreConn,
    names: &[String],
    world_size: usize,
    own_rank: usize,
    stale_after: Duration,
) -> (bool, String) {
    let now = now_ms();
    let who = |rank: usize| match names.get(rank) {
        Some(node) => format!("rank {rank} on {node}"),
        None => format!("rank {rank}"),
    };
    let mut stale = Vec::new();
    for rank in (0..world_size).filter(|&r| r != own_rank) {
        match conn.try_get(&key(rank)) {
            Err(_) => {
                return (
                    true,
                    format!("the rendezvous store of {} is unreachable: that rank has probably exited", who(0)),
                )
            }
            Ok(None) => stale.push(format!("{} (no heartbeat yet)", who(rank))),
            Ok(Some(bytes)) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes[..8.min(bytes.len())]);
                let age = now.saturating_sub(u64::from_le_bytes(b));
                if age > stale_after.as_millis() as u64 {
                    stale.push(format!("{} (last heartbeat {:.1} s ago)", who(rank), age as f64 / 1000.0));
                }
            }
        }
    }
    if stale.is_empty() {
        (false, "every other rank is alive, so one did not reach this collective in time (a hang, or ranks running different code)".into())
    } else {
        (true, format!("stopped responding: {}", stale.join(", ")))
    }
}
