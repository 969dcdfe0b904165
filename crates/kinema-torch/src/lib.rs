//! The only low-level libtorch glue crate:
//!
//! * [`checkpoint`]: PyTorch `torch.save` files (a safe unpickler), TorchScript archives,
//!   safetensors with metadata, strict loading into a `VarStore`.
//! * [`dist`]: c10d process groups (TCPStore + Gloo/NCCL) and bucketed gradient averaging.
//! * [`autocast`]: mixed-precision autocast for CPU (bf16) and CUDA (fp16/bf16).
//! * [`precision`]: the inference precision (`--precision`) on top of it.
//!
//! [`dist`] and [`autocast`] go through a small C++ bridge (`cpp/bridge.cpp`) compiled
//! against the libtorch headers by `build.rs`.

pub mod autocast;
mod bridge;
pub mod checkpoint;
pub mod dist;
pub mod precision;
