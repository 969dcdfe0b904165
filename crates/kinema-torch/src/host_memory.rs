//! Host memory for CPU tensors: reuse freed buffers instead of asking the kernel anew.
//!
//! libtorch allocates every CPU tensor with the C allocator. glibc serves blocks above its
//! mmap threshold (at most 32 MiB) with a fresh `mmap` and returns them with `munmap` on
//! free, so each large activation of every forward pass costs page faults and zeroed pages
//! from the kernel. Measured on the TSN-R50 25x10 test (250 views, 2 cores): 47% of the
//! samples were in the kernel (`clear_page_erms`, `exc_page_fault`, `munmap`), and keeping
//! freed blocks cut the run from 51 s to 35 s (docs/benchmarks.md).

/// The most freed memory the allocator keeps at the top of its heap before giving it back.
pub const KEPT_FREE_BYTES: i32 = 1 << 30;

/// Makes the C allocator serve large blocks from its heap (no per-block `mmap`) and keep up
/// to [`KEPT_FREE_BYTES`] of freed memory for reuse. Call once at start-up, before the big
/// allocations; it changes no result. Returns false where the allocator is not glibc's (the
/// settings are then left alone).
pub fn keep_freed_host_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes the allocator's parameters; it is safe to call at any
        // time, from any thread.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_FREE_BYTES) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
