//! The residual blocks of MMAction2's ResNet (`BasicBlock`, `Bottleneck`) and
//! `make_res_layer`, with an optional temporal shift before a block's first convolution
//! (TSM's `blockres`) or before the whole block (`block`).

use tch::{nn, Tensor};

use crate::backbones::temporal_shift::TemporalShift;
use crate::layers::init::InitError;
use crate::layers::torch_err;
use crate::layers::{ConvGeometry, ConvModule};
use crate::recognizer::ModelError;

/// The two block designs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    /// Two 3x3 convolutions (ResNet-18/34), expansion 1.
    Basic,
    /// 1x1, 3x3, 1x1 convolutions (ResNet-50/101/152), expansion 4.
    Bottleneck,
}

impl BlockType {
    /// Output channels per `planes`.
    pub fn expansion(self) -> i64 {
        match self {
            BlockType::Basic => 1,
            BlockType::Bottleneck => 4,
        }
    }
}

/// Where a stage's blocks shift channels in time (TSM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftPlacement {
    /// Before the first convolution of the residual branch (`blockres`): keys become
    /// `layerL.B.conv1.conv.net.weight`.
    Residual(TemporalShift),
    /// Before the whole block (`block`): keys become `layerL.B.net.*`.
    Block(TemporalShift),
}

/// How one stage is built.
#[derive(Debug, Clone, Copy)]
pub struct StageGeometry {
    /// Block design.
    pub block: BlockType,
    /// Input channels of the stage.
    pub inplanes: i64,
    /// Width of the stage (`64 * 2^i`).
    pub planes: i64,
    /// Number of blocks.
    pub blocks: usize,
    /// Stride of the first block.
    pub stride: i64,
    /// Dilation of the 3x3 convolutions.
    pub dilation: i64,
    /// `pytorch` (stride on the 3x3 convolution) or not (`caffe`: on the first 1x1).
    pub pytorch_style: bool,
}

/// One residual block.
#[derive(Debug)]
pub struct ResidualBlock {
    convs: Vec<ConvModule>,
    downsample: Option<ConvModule>,
    shift: Option<ShiftPlacement>,
    path: String,
}

impl ResidualBlock {
    /// The block's `conv1`, `conv2` (and `conv3`) modules, in order.
    pub fn convs(&self) -> &[ConvModule] {
        &self.convs
    }

    /// The projection of the identity path, when the block has one.
    pub fn downsample(&self) -> Option<&ConvModule> {
        self.downsample.as_ref()
    }

    /// `relu(residual(x) + identity(x))`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let shifted;
        let x = match self.shift {
            Some(ShiftPlacement::Block(s)) => {
                shifted = s.apply(x)?;
                &shifted
            }
            _ => x,
        };
        let mut out = match self.shift {
            Some(ShiftPlacement::Residual(s)) => self.convs[0].forward(&s.apply(x)?, train)?,
            _ => self.convs[0].forward(x, train)?,
        };
        for conv in &self.convs[1..] {
            out = conv.forward(&out, train)?;
        }
        let identity = match &self.downsample {
            Some(d) => d.forward(x, train)?,
            None => x.shallow_clone(),
        };
        let _ = out.f_add_(&identity).map_err(torch_err(&self.path))?;
        let _ = out.f_relu_().map_err(torch_err(&self.path))?;
        Ok(out)
    }
}

/// MMAction2's `make_res_layer`: block 0 takes the stride and, when the stride or the
/// width changes, a 1x1 `downsample` projection; the others keep the shape. `shift`
/// applies to the blocks `shift_every` selects (TSM's `n_round`).
pub fn make_res_layer(
    p: &nn::Path<'_>,
    g: &StageGeometry,
    shift: Option<ShiftPlacement>,
    shift_every: usize,
) -> Result<Vec<ResidualBlock>, InitError> {
    let expansion = g.block.expansion();
    let mut blocks = Vec::with_capacity(g.blocks);
    for i in 0..g.blocks {
        let (inplanes, stride) = if i == 0 { (g.inplanes, g.stride) } else { (g.planes * expansion, 1) };
        let block_shift = shift.filter(|_| i % shift_every.max(1) == 0);
        let bp = match block_shift {
            Some(ShiftPlacement::Block(_)) => p / i / "net",
            _ => p / i,
        };
        let wrapped_conv1 = matches!(block_shift, Some(ShiftPlacement::Residual(_)));
        let convs = block_convs(&bp, g, inplanes, stride, wrapped_conv1)?;
        let downsample = if i == 0 && (g.stride != 1 || g.inplanes != g.planes * expansion) {
            let geometry = conv(g.inplanes, g.planes * expansion, 1, g.stride, 0, 1);
            Some(ConvModule::new(&(&bp / "downsample"), geometry, false, false)?)
        } else {
            None
        };
        let path = bp.components().collect::<Vec<_>>().join(".");
        blocks.push(ResidualBlock { convs, downsample, shift: block_shift, path });
    }
    Ok(blocks)
}

fn conv(in_channels: i64, out_channels: i64, kernel: i64, stride: i64, padding: i64, dilation: i64) -> ConvGeometry {
    ConvGeometry { in_channels, out_channels, kernel, stride, padding, dilation }
}

fn block_convs(
    p: &nn::Path<'_>,
    g: &StageGeometry,
    inplanes: i64,
    stride: i64,
    wrapped_conv1: bool,
) -> Result<Vec<ConvModule>, InitError> {
    let (planes, d) = (g.planes, g.dilation);
    match g.block {
        BlockType::Basic => Ok(vec![
            ConvModule::new(&(p / "conv1"), conv(inplanes, planes, 3, stride, d, d), true, wrapped_conv1)?,
            ConvModule::new(&(p / "conv2"), conv(planes, planes, 3, 1, 1, 1), false, false)?,
        ]),
        BlockType::Bottleneck => {
            let (s1, s2) = if g.pytorch_style { (1, stride) } else { (stride, 1) };
            Ok(vec![
                ConvModule::new(&(p / "conv1"), conv(inplanes, planes, 1, s1, 0, 1), true, wrapped_conv1)?,
                ConvModule::new(&(p / "conv2"), conv(planes, planes, 3, s2, d, d), true, false)?,
                ConvModule::new(&(p / "conv3"), conv(planes, planes * 4, 1, 1, 0, 1), false, false)?,
            ])
        }
    }
}
