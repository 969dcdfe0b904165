//! Mixed-precision autocast for any device and dtype (tch only has fp16 on CUDA):
//! bf16 on CPU, fp16 or bf16 on CUDA, through the C++ bridge.

use std::ffi::c_char;

use tch::{Device, Kind};

use crate::bridge;

/// Why autocast could not be switched.
#[derive(Debug, thiserror::Error)]
pub enum AutocastError {
    /// The dtype is not an autocast dtype.
    #[error("autocast dtype must be float16 or bfloat16, got {0:?}")]
    BadDtype(Kind),
    /// libtorch refused.
    #[error("autocast: {0}")]
    Torch(String),
}

fn codes(device: Device, dtype: Kind) -> Result<(i32, i32), AutocastError> {
    let dev = if device.is_cuda() { 1 } else { 0 };
    let dt = match dtype {
        Kind::Half => 0,
        Kind::BFloat16 => 1,
        other => return Err(AutocastError::BadDtype(other)),
    };
    Ok((dev, dt))
}

/// Runs `f` with autocast enabled for `device` in `dtype`, restoring the previous state
/// afterwards (also when `f` panics).
pub fn with_autocast<T>(device: Device, dtype: Kind, f: impl FnOnce() -> T) -> Result<T, AutocastError> {
    let (dev, dt) = codes(device, dtype)?;
    // SAFETY: plain calls into libtorch's thread-local autocast state.
    let was_enabled = unsafe { bridge::kinema_autocast_is_enabled(dev) };
    bridge::call(|e: *mut c_char, n| unsafe { bridge::kinema_autocast_enter(dev, dt, e, n) })
        .map_err(AutocastError::Torch)?;
    struct Restore(i32, i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let (dev, was) = (self.0, self.1);
            // SAFETY: as above; errors here cannot be reported from a destructor.
            let _ = bridge::call(|e, n| unsafe { bridge::kinema_autocast_exit(dev, was, e, n) });
        }
    }
    let _restore = Restore(dev, was_enabled);
    Ok(f())
}

/// True when autocast is on for `device` in this thread.
pub fn is_enabled(device: Device) -> bool {
    let dev = if device.is_cuda() { 1 } else { 0 };
    // SAFETY: reads libtorch's thread-local autocast flag.
    unsafe { bridge::kinema_autocast_is_enabled(dev) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;

    #[test]
    fn bf16_matmul_on_cpu_only_inside() {
        let a = Tensor::ones([4, 4], (Kind::Float, Device::Cpu));
        let inside = with_autocast(Device::Cpu, Kind::BFloat16, || {
            assert!(is_enabled(Device::Cpu));
            a.matmul(&a).kind()
        })
        .unwrap();
        assert_eq!(inside, Kind::BFloat16);
        assert!(!is_enabled(Device::Cpu));
        assert_eq!(a.matmul(&a).kind(), Kind::Float);
        assert!(matches!(with_autocast(Device::Cpu, Kind::Float, || ()), Err(AutocastError::BadDtype(Kind::Float))));
    }
}
