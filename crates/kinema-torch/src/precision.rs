//! The precision a model runs in at inference (`--precision`, `val_cfg`/`test_cfg`'s
//! `precision`): fp32, or autocast in bf16 / fp16 (matrix products and convolutions in the
//! half type, normalisations and softmax in fp32), as PyTorch's `torch.autocast`.

use tch::{Device, Kind};

use crate::autocast::{with_autocast, AutocastError};

/// Inference precision. fp32 is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Full precision.
    #[default]
    Fp32,
    /// bfloat16 autocast (CPU and CUDA).
    Bf16,
    /// float16 autocast (CUDA; PyTorch's CPU fp16 kernels are slow).
    Fp16,
}

impl Precision {
    /// The autocast dtype (`None` for fp32).
    pub fn autocast_kind(self) -> Option<Kind> {
        match self {
            Precision::Fp32 => None,
            Precision::Bf16 => Some(Kind::BFloat16),
            Precision::Fp16 => Some(Kind::Half),
        }
    }

    /// MMEngine's `fp16 = True` of a loop: the device's half type under autocast (bf16 on a
    /// CPU, fp16 on CUDA), as `mmengine.runner.amp.autocast`.
    pub fn half_for(device: Device) -> Precision {
        if device.is_cuda() {
            Precision::Fp16
        } else {
            Precision::Bf16
        }
    }

    /// The name as written in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fp32" | "float32" => Ok(Precision::Fp32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "fp16" | "float16" => Ok(Precision::Fp16),
            other => Err(format!("unknown precision {other:?}; expected fp32, bf16 or fp16")),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The precision of a `val_cfg` / `test_cfg` table: its `precision` ("fp32", "bf16",
/// "fp16"), else MMEngine's `fp16 = true` (the device's half type), else fp32. Giving both
/// is an error (it names `fp16`, the key to drop).
pub fn loop_precision(
    precision: Option<&str>,
    fp16: bool,
    device: Device,
) -> Result<Precision, (&'static str, String)> {
    match (precision, fp16) {
        (Some(_), true) => Err(("fp16", "is set together with `precision`: give one of them".to_string())),
        (Some(p), false) => p.parse().map_err(|e| ("precision", e)),
        (None, true) => Ok(Precision::half_for(device)),
        (None, false) => Ok(Precision::Fp32),
    }
}

/// Runs `f` in `precision` on `device`: as it is for fp32, under autocast otherwise.
pub fn with_precision<T>(device: Device, precision: Precision, f: impl FnOnce() -> T) -> Result<T, AutocastError> {
    match precision.autocast_kind() {
        None => Ok(f()),
        Some(kind) => with_autocast(device, kind, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;

    #[test]
    fn names_parse_and_bf16_runs_products_in_bf16() {
        assert_eq!("bf16".parse::<Precision>(), Ok(Precision::Bf16));
        assert_eq!("bfloat16".parse::<Precision>(), Ok(Precision::Bf16));
        assert_eq!("fp32".parse::<Precision>().map(|p| p.autocast_kind()), Ok(None));
        assert_eq!("int8".parse::<Precision>(), Err("unknown precision \"int8\"; expected fp32, bf16 or fp16".into()));
        assert_eq!(Precision::half_for(Device::Cpu), Precision::Bf16);
        assert_eq!(loop_precision(None, true, Device::Cpu), Ok(Precision::Bf16));
        assert_eq!(loop_precision(Some("fp16"), false, Device::Cpu), Ok(Precision::Fp16));
        assert_eq!(loop_precision(None, false, Device::Cpu), Ok(Precision::Fp32));
        assert_eq!(loop_precision(Some("bf16"), true, Device::Cpu).map_err(|e| e.0), Err("fp16"));
        let a = Tensor::ones([2, 2], (Kind::Float, Device::Cpu));
        let kind = |p| with_precision(Device::Cpu, p, || a.matmul(&a).kind()).unwrap();
        assert_eq!(kind(Precision::Bf16), Kind::BFloat16);
        assert_eq!(kind(Precision::Fp32), Kind::Float);
    }
}
