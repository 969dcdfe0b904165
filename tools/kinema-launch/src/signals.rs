//! Catching the signals the launcher forwards to its children.
//!
//! The handler only records the signal in an atomic bit set; the supervision loop picks
//! the recorded signals up with [`take_pending`] and does the real work.

use std::sync::atomic::{AtomicU64, Ordering};

/// The signals the launcher catches and forwards: SIGINT, SIGTERM, SIGHUP and SIGQUIT.
pub const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

static PENDING: AtomicU64 = AtomicU64::new(0);

extern "C" fn record(sig: libc::c_int) {
    if (1..64).contains(&sig) {
        // Lock-free atomics are async-signal-safe.
        PENDING.fetch_or(1 << sig, Ordering::SeqCst);
    }
}

/// Installs the recording handler for every signal in [`FORWARDED`]. Children still start
/// with the default dispositions: `exec` resets caught signals.
pub fn install() -> anyhow::Result<()> {
    for sig in FORWARDED {
        // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask" value; the handler
        // only touches an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            anyhow::bail!("cannot install a handler for {}: {err}", crate::describe_signal(sig));
        }
    }
    Ok(())
}

/// The signals received since the last call, in increasing signal number.
pub fn take_pending() -> Vec<i32> {
    let bits = PENDING.swap(0, Ordering::SeqCst);
    (1..64).filter(|sig| bits & (1 << sig) != 0).collect()
}
