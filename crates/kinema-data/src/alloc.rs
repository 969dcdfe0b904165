//! Allocator tuning: large freed blocks are kept for reuse instead of going back to the
//! kernel at every free. One setting for the whole process, used by the loader and by every
//! tool at start-up.
//!
//! glibc serves blocks above its mmap threshold (at most 32 MiB) with a fresh `mmap` and
//! returns them with `munmap`, so each such buffer costs page faults and zeroed pages:
//! - the loader's 1-3 MB frame buffers (decoded, resized, cropped, formatted copies, freed a
//!   moment later): 200k faults and 3x the CPU time for 200 test-pipeline clips;
//! - libtorch's CPU tensors, allocated with the C allocator: on the TSN-R50 25x10 test
//!   (250 views, 2 cores) 47 % of the samples were in the kernel, and keeping freed blocks
//!   cut the run from 56 s to 37 s (docs/benchmarks.md).
//!
//! PyTorch users get the same with `MALLOC_MMAP_MAX_=0` / `MALLOC_MMAP_THRESHOLD_`; when
//! either is set in the environment it is respected and nothing is changed.

/// The most freed memory the allocator keeps at the top of its heap before giving it back.
pub const KEPT_FREE_BYTES: i32 = 1 << 30;

/// Makes glibc serve large blocks from its heap (`M_MMAP_MAX` = 0) and keep up to
/// [`KEPT_FREE_BYTES`] freed (`M_TRIM_THRESHOLD`), once per process, unless
/// `MALLOC_MMAP_MAX_` or `MALLOC_MMAP_THRESHOLD_` is set. Changes no result. Does nothing
/// on other C libraries. Called by every tool at start-up and by
/// [`DataLoader::new`](crate::DataLoader::new).
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() || std::env::var_os("MALLOC_MMAP_MAX_").is_some() {
            return;
        }
        set_parameters();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_parameters() {
    // SAFETY: mallopt only changes allocator parameters; it is thread-safe in glibc and
    // takes plain integers.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_FREE_BYTES) == 1
    };
    if !ok {
        log::debug!("mallopt refused the allocator parameters");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_parameters() {}
