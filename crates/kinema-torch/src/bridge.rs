//! Raw declarations of the C++ bridge (`cpp/bridge.cpp`). Use the safe wrappers in
//! [`crate::dist`] and [`crate::autocast`].

use std::ffi::{c_char, c_int, c_longlong, c_void};

/// Size of the error buffers passed to the bridge.
pub(crate) const ERR_LEN: usize = 4096;

extern "C" {
    pub(crate) fn kinema_pg_new(
        backend: *const c_char,
        master_addr: *const c_char,
        port: c_int,
        rank: c_int,
        world_size: c_int,
        timeout_ms: c_longlong,
        connect_timeout_ms: c_longlong,
        use_hash_store: c_int,
        err: *mut c_char,
        err_len: usize,
    ) -> *mut c_void;
    pub(crate) fn kinema_pg_free(pg: *mut c_void);
    pub(crate) fn kinema_pg_allreduce(
        pg: *mut c_void,
        tensors: *mut *mut c_void,
        n: c_int,
        op: c_int,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    pub(crate) fn kinema_pg_broadcast(
        pg: *mut c_void,
        tensors: *mut *mut c_void,
        n: c_int,
        root: c_int,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    pub(crate) fn kinema_pg_allgather(
        pg: *mut c_void,
        input: *mut c_void,
        outputs: *mut *mut c_void,
        world_size: c_int,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    pub(crate) fn kinema_pg_barrier(pg: *mut c_void, err: *mut c_char, err_len: usize) -> c_int;
    pub(crate) fn kinema_store_clone(pg: *mut c_void, err: *mut c_char, err_len: usize) -> *mut c_void;
    pub(crate) fn kinema_store_free(store: *mut c_void);
    pub(crate) fn kinema_store_set(
        store: *mut c_void,
        key: *const c_char,
        value: *const u8,
        len: usize,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    pub(crate) fn kinema_store_try_get(
        store: *mut c_void,
        key: *const c_char,
        out: *mut u8,
        cap: usize,
        len: *mut usize,
        found: *mut c_int,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    pub(crate) fn kinema_autocast_enter(device: c_int, dtype: c_int, err: *mut c_char, err_len: usize) -> c_int;
    pub(crate) fn kinema_autocast_exit(device: c_int, was_enabled: c_int, err: *mut c_char, err_len: usize) -> c_int;
    pub(crate) fn kinema_autocast_is_enabled(device: c_int) -> c_int;
}

/// Calls `f` with an error buffer; turns a non-zero return into the buffer's text.
pub(crate) fn call(f: impl FnOnce(*mut c_char, usize) -> c_int) -> Result<(), String> {
    let mut buf = vec![0u8; ERR_LEN];
    let rc = f(buf.as_mut_ptr() as *mut c_char, ERR_LEN);
    if rc == 0 {
        return Ok(());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Err(String::from_utf8_lossy(&buf[..end]).into_owned())
}
