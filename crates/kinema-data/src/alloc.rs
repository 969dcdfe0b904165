//! Allocator tuning for the loader's large, short-lived frame buffers.
//!
//! Each sample allocates several 1-3 MB buffers (decoded frames, resized, cropped and
//! formatted copies) and frees them a moment later. glibc serves blocks of that size with
//! fresh `mmap`s, so every buffer costs hundreds of page faults (measured: 200k faults and
//! 3x the CPU time for 200 test-pipeline clips). Raising glibc's mmap threshold makes
//! them come from the reusable heap instead. PyTorch users get the same effect from
//! `MALLOC_MMAP_THRESHOLD_`; an explicitly set `MALLOC_MMAP_THRESHOLD_` is respected.

/// Raises glibc's `M_MMAP_THRESHOLD` to 64 MiB and `M_TRIM_THRESHOLD` to 256 MiB, once
/// per process, unless `MALLOC_MMAP_THRESHOLD_` is set. Does nothing on other C
/// libraries. Called by [`DataLoader::new`](crate::DataLoader::new).
pub fn tune_for_frame_buffers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
            return;
        }
        set_thresholds();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds() {
    // SAFETY: mallopt only changes allocator parameters; it is thread-safe in glibc and
    // takes plain integers.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20) == 1
    };
    if !ok {
        log::debug!("mallopt refused the frame-buffer thresholds");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() {}
