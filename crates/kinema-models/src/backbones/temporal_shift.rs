//! TSM's temporal shift (MMAction2's `TemporalShift.shift`): within every group of
//! `num_segments` consecutive images of the batch, the first `C / shift_div` channels
//! take the next frame's values, the next `C / shift_div` the previous frame's, and the
//! rest stay; frames shifted in from outside the clip are zeros.

use tch::{IndexOp, Tensor};

use crate::recognizer::ModelError;

/// The shift's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemporalShift {
    /// Frames per clip T (consecutive batch rows form one clip).
    pub num_segments: i64,
    /// One `C / shift_div` channels shift each way.
    pub shift_div: i64,
}

impl TemporalShift {
    /// Shifts `x` [N*T, C, H, W]. Fails when the batch is not a multiple of T.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        let err = |source| ModelError::Torch { module: "temporal_shift".into(), source };
        let size = x.size();
        let (n, c) = match size.as_slice() {
            [n, c, _, _] if self.num_segments > 0 && n % self.num_segments == 0 => (*n, *c),
            _ => {
                return Err(ModelError::Input {
                    module: "temporal_shift".into(),
                    message: format!(
                        "expected [N*T, C, H, W] with N*T a multiple of num_segments = {}, got {size:?}",
                        self.num_segments
                    ),
                })
            }
        };
        let t = self.num_segments;
        let fold = c / self.shift_div;
        let x5 = x.f_view([n / t, t, c, -1]).map_err(err)?;
        let out = x5.f_zeros_like().map_err(err)?;
        if fold > 0 && t > 1 {
            // Channels [0, fold): frame t takes frame t + 1 (the last frame gets zeros).
            out.i((.., ..t - 1, ..fold)).f_copy_(&x5.i((.., 1.., ..fold))).map_err(err)?;
            // Channels [fold, 2 fold): frame t takes frame t - 1 (the first gets zeros).
            out.i((.., 1.., fold..2 * fold)).f_copy_(&x5.i((.., ..t - 1, fold..2 * fold))).map_err(err)?;
        }
        out.i((.., .., (2 * fold).min(c)..)).f_copy_(&x5.i((.., .., (2 * fold).min(c)..))).map_err(err)?;
        out.f_view(size.as_slice()).map_err(err)
    }
}

/// Where TSM shifts: MMAction2's `shift_place`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftPlace {
    /// `"block"`: before every whole block.
    Block,
    /// `"blockres"`: before the first convolution of the residual branches.
    BlockRes,
}

/// TSM's changes to a ResNet: temporal shifts and, with `temporal_pool`, a temporal
/// max-pool before the second stage halving the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemporalLayout {
    /// Frames per clip T.
    pub num_segments: i64,
    /// Where and how much to shift (`is_shift`); none: no shift.
    pub shift: Option<(ShiftPlace, i64)>,
    /// Halve T before `layer2` (stages after the first then shift with T / 2).
    pub temporal_pool: bool,
}

impl TemporalLayout {
    /// The shift of stage `i` (0-based), if any.
    pub fn placement(&self, stage: usize) -> Option<crate::backbones::resnet::ShiftPlacement> {
        use crate::backbones::resnet::ShiftPlacement;
        let (place, shift_div) = self.shift?;
        let num_segments = if self.temporal_pool && stage > 0 { self.num_segments / 2 } else { self.num_segments };
        let shift = TemporalShift { num_segments, shift_div };
        Some(match place {
            ShiftPlace::Block => ShiftPlacement::Block(shift),
            ShiftPlace::BlockRes => ShiftPlacement::Residual(shift),
        })
    }
}

/// MMAction2's `TemporalPool`: `x` [N*T, C, H, W] max-pooled over time with kernel 3,
/// stride 2, padding 1 -> [N*T', C, H, W] with T' = ceil(T / 2).
pub fn temporal_pool(x: &Tensor, num_segments: i64) -> Result<Tensor, ModelError> {
    let err = |source| ModelError::Torch { module: "temporal_pool".into(), source };
    let size = x.size();
    let [n, c, h, w] = size[..] else {
        return Err(ModelError::Input {
            module: "temporal_pool".into(),
            message: format!("expected [N*T, C, H, W], got {size:?}"),
        });
    };
    if num_segments < 1 || n % num_segments != 0 {
        return Err(ModelError::Input {
            module: "temporal_pool".into(),
            message: format!("batch {n} is not a multiple of num_segments = {num_segments}"),
        });
    }
    let x5 = x.f_view([n / num_segments, num_segments, c, h, w]).map_err(err)?.f_transpose(1, 2).map_err(err)?;
    let pooled = x5.f_max_pool3d([3, 1, 1], [2, 1, 1], [1, 0, 0], [1, 1, 1], false).map_err(err)?;
    pooled.f_transpose(1, 2).map_err(err)?.f_contiguous().map_err(err)?.f_view([-1, c, h, w]).map_err(err)
}
