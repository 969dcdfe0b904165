//! Mixed precision: `--amp` switches the optimizer wrapper to `AmpOptimWrapper`, and on
//! the CPU the autocast dtype is bfloat16: float16 has no fast CPU kernels (a training step
//! runs about 28x slower than in float32), so asking for it there is an error.

use kinema_core::Config;
use serde_json::Value;
use tch::Device;

use crate::EngineError;

/// Applies `--amp` (`requested`) and the CPU rule to `cfg`'s `optim_wrapper`.
pub fn apply_amp(cfg: &mut Config, requested: bool, device: Device) -> Result<(), EngineError> {
    let current = cfg.get("optim_wrapper.type").and_then(Value::as_str).unwrap_or("OptimWrapper").to_string();
    if requested {
        if current != "OptimWrapper" && current != "AmpOptimWrapper" {
            return Err(EngineError::setting(
                cfg,
                "optim_wrapper.type",
                format!("--amp works with OptimWrapper or AmpOptimWrapper, not {current}"),
            ));
        }
        cfg.set("optim_wrapper.type", Value::String("AmpOptimWrapper".into()))?;
    }
    let amp = requested || current == "AmpOptimWrapper";
    if !amp || device != Device::Cpu {
        return Ok(());
    }
    match cfg.get("optim_wrapper.dtype").and_then(Value::as_str) {
        None => {
            log::info!("mixed precision on the CPU runs in bfloat16 (float16 has no fast CPU kernels)");
            cfg.set("optim_wrapper.dtype", Value::String("bfloat16".into()))?;
            Ok(())
        }
        Some("float16") => Err(EngineError::setting(
            cfg,
            "optim_wrapper.dtype",
            "float16 on the CPU runs about 28x slower than float32 (no fast kernels): use \"bfloat16\", or train on \
             CUDA, or drop --amp",
        )),
        Some(_) => Ok(()),
    }
}
