//! MMAction2's transforms, registered under their MMAction2 names with the same
//! parameters and defaults.
//!
//! | name | file |
//! |---|---|
//! | `SampleFrames` | [`sample_frames`] |
//! | `DecordInit`, `DecordDecode`, `PyAVInit`, `PyAVDecode`, `OpenCVInit`, `OpenCVDecode` | [`decode`] |
//! | `RawFrameDecode` | [`rawframe`] |
//! | `Resize` | [`resize`] |
//! | `RandomCrop`, `RandomResizedCrop`, `MultiScaleCrop`, `CenterCrop` | [`crops`] |
//! | `ThreeCrop`, `TenCrop` | [`multi_crop`] |
//! | `Flip` | [`flip`] |
//! | `FormatShape`, `PackActionInputs` | [`format`] |

pub mod crops;
pub mod decode;
pub mod flip;
pub mod format;
pub mod geometry;
pub mod multi_crop;
pub mod rawframe;
pub mod resize;
pub mod sample_frames;
pub mod template;

pub use crops::{CenterCrop, MultiScaleCrop, RandomCrop, RandomResizedCrop};
pub use decode::{VideoDecode, VideoInit};
pub use flip::Flip;
pub use format::{FormatShape, PackActionInputs};
pub use multi_crop::{TenCrop, ThreeCrop};
pub use rawframe::RawFrameDecode;
pub use resize::Resize;
pub use sample_frames::{sample_frame_indices, OutOfBound, SampleFrames, SampleFramesConfig};
