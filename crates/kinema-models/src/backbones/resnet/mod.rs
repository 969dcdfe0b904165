//! `type = "ResNet"`: MMAction2's ResNet backbone (depth 18/34/50/101/152) with its
//! parameter names (`conv1.conv.weight`, `layer1.0.conv1.bn.running_var`), its
//! `frozen_stages`, `norm_eval` and `partial_bn` training behaviour, and `pretrained`
//! weights read through MMAction2's torchvision key mapping.

mod blocks;
pub(crate) mod config;
mod pretrained;

pub use blocks::{make_res_layer, BlockType, ResidualBlock, ShiftPlacement, StageGeometry};
pub(crate) use config::resnet_config;
pub use config::{ActCfg, ConvCfg, NormCfg, ResNetConfig};
pub use pretrained::torchvision_name;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::{register, Component};
use tch::{nn, Tensor};

use super::temporal_shift::{temporal_pool, ShiftPlace, TemporalLayout};
use super::{Backbone, BackboneKind, BackboneSpec};
use crate::layers::{torch_err, ConvGeometry, ConvModule};
use crate::recognizer::ModelError;

/// A built ResNet: the stem (`conv1` + max-pool) and its stages (`layer1`...).
#[derive(Debug)]
pub struct ResNet {
    stem: ConvModule,
    stages: Vec<Vec<ResidualBlock>>,
    /// Per stage: TSM's temporal max-pool before it (`temporal_pool`), with the frames per clip.
    pools: Vec<Option<i64>>,
    config: ResNetConfig,
    layout: PretrainedLayout,
    out_channels: i64,
}

/// How `pretrained` files name their tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PretrainedLayout {
    /// torchvision's names (renamed as MMAction2 does); false: the backbone's own.
    pub torchvision: bool,
    /// Copy `num_batches_tracked` when the file has it (ResNet does, TSM never).
    pub copy_counters: bool,
}

impl ResNet {
    /// Sets how `pretrained` files are read (TSM: `pretrained2d`, no counters).
    pub fn set_pretrained_layout(&mut self, layout: PretrainedLayout) {
        self.layout = layout;
    }

    /// Creates a ResNet under `p`; `temporal` adds TSM's temporal shifts and pooling.
    pub fn new(p: &nn::Path<'_>, config: &ResNetConfig, temporal: Option<&TemporalLayout>) -> Result<Self, ModelError> {
        let (block, stage_blocks) = config.arch()?;
        let init = |e| ModelError::part("backbone", e);
        let stem_geometry = ConvGeometry {
            in_channels: config.in_channels,
            out_channels: 64,
            kernel: 7,
            stride: 2,
            padding: 3,
            dilation: 1,
        };
        let stem = ConvModule::new(&(p / "conv1"), stem_geometry, true, false).map_err(init)?;
        // TSM's `blockres` shifts every other block of very deep nets (layer3 >= 23 blocks).
        let shift_every = match temporal.and_then(|t| t.shift) {
            Some((ShiftPlace::BlockRes, _)) if stage_blocks.get(2).is_some_and(|&n| n >= 23) => 2,
            _ => 1,
        };
        let mut inplanes = 64;
        let mut stages = Vec::with_capacity(stage_blocks.len());
        let mut pools = Vec::with_capacity(stage_blocks.len());
        for (i, &blocks) in stage_blocks.iter().enumerate() {
            let planes = 64 << i;
            let geometry = StageGeometry {
                block,
                inplanes,
                planes,
                blocks,
                stride: config.strides[i],
                dilation: config.dilations[i],
                pytorch_style: config.style == "pytorch",
            };
            let pooled = temporal.is_some_and(|t| t.temporal_pool) && i == 1;
            let lp = if pooled { p / format!("layer{}", i + 1) / "net" } else { p / format!("layer{}", i + 1) };
            let shift = temporal.and_then(|t| t.placement(i));
            stages.push(make_res_layer(&lp, &geometry, shift, shift_every).map_err(init)?);
            pools.push(temporal.filter(|_| pooled).map(|t| t.num_segments));
            inplanes = planes * block.expansion();
        }
        let out_channels = block.expansion() * (64 << (stage_blocks.len() - 1));
        let layout = PretrainedLayout { torchvision: config.torchvision_pretrain, copy_counters: true };
        let net = ResNet { stem, stages, pools, config: config.clone(), layout, out_channels };
        net.freeze();
        Ok(net)
    }

    /// The config it was built from.
    pub fn config(&self) -> &ResNetConfig {
        &self.config
    }

    /// Every conv module in `named_modules()` order, with its path relative to the backbone.
    fn conv_modules(&self) -> impl Iterator<Item = (usize, &ConvModule)> {
        let stage_modules = self.stages.iter().enumerate().flat_map(|(i, stage)| {
            stage.iter().flat_map(move |b| b.convs().iter().chain(b.downsample()).map(move |c| (i + 1, c)))
        });
        std::iter::once((0, &self.stem)).chain(stage_modules)
    }

    /// MMAction2's `_freeze_stages`, `partial_bn` and `norm_cfg.requires_grad`: parameters
    /// that never train stop requiring gradients.
    fn freeze(&self) {
        let c = &self.config;
        for (index, (stage, module)) in self.conv_modules().enumerate() {
            let frozen = c.frozen_stages >= stage as i64;
            if frozen {
                let _ = module.weight.shallow_clone().set_requires_grad(false);
            }
            let bn_trains = !frozen && c.norm_cfg.requires_grad && !(c.partial_bn && index > 0);
            module.bn.set_trainable(bn_trains);
        }
    }

    /// Whether the batch norms of `stage` (0: the stem) use batch statistics when the model
    /// trains (not frozen, not `norm_eval`, not `partial_bn` beyond the first).
    fn bn_trains(&self, stage: usize, train: bool) -> bool {
        let c = &self.config;
        train && !c.norm_eval && c.frozen_stages < stage as i64 && (stage == 0 || !c.partial_bn)
    }
}

impl Backbone for ResNet {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>, ModelError> {
        let size = x.size();
        if size.len() != 4 || size[1] != self.config.in_channels {
            return Err(ModelError::Input {
                module: "backbone".into(),
                message: format!("expected images [N, {}, H, W], got {size:?}", self.config.in_channels),
            });
        }
        let y = self.stem.forward(x, self.bn_trains(0, train))?;
        let mut y = y.f_max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false).map_err(torch_err("backbone.maxpool"))?;
        let mut outs = Vec::with_capacity(self.config.out_indices.len());
        for (i, stage) in self.stages.iter().enumerate() {
            let bn_train = self.bn_trains(i + 1, train);
            if let Some(t) = self.pools[i] {
                y = temporal_pool(&y, t)?;
            }
            for block in stage {
                y = block.forward(&y, bn_train)?;
            }
            if self.config.out_indices.contains(&i) {
                outs.push(y.shallow_clone());
            }
        }
        Ok(outs)
    }

    fn out_channels(&self) -> i64 {
        self.out_channels
    }

    fn init_weights(&self, vs: &nn::VarStore, prefix: &str) -> Result<(), ModelError> {
        match &self.config.pretrained {
            Some(spec) => pretrained::load(self, spec, vs, prefix),
            None => Ok(()),
        }
    }
}

impl BackboneSpec for ResNetConfig {
    fn instantiate(&self, p: &nn::Path<'_>) -> Result<Box<dyn Backbone>, ModelError> {
        Ok(Box::new(ResNet::new(p, self, None)?))
    }
}

impl Component<BackboneKind> for ResNet {
    type Config = ResNetConfig;
    fn build(config: &ResNetConfig, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn BackboneSpec>, BoxError> {
        config.arch()?;
        Ok(Box::new(config.clone()))
    }
}

register!(BackboneKind, "ResNet", ResNet);
