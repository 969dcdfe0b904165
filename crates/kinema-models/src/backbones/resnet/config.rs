//! The `ResNet` config table, with MMAction2's keys and defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BlockType;
use crate::recognizer::ModelError;

/// Defines a config struct with every `ResNet` key (MMAction2's defaults) plus the
/// given extra fields, and its `resnet()` view; `ResNet` and `ResNetTSM` share it.
macro_rules! resnet_config {
    ($(#[$meta:meta])* pub struct $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// 18 or 34 (basic blocks), 50, 101 or 152 (bottlenecks).
            pub depth: u32,
            /// Weights loaded when training starts (MMEngine's `init_weights`): a local file, a
            /// URL or `torchvision://resnet50` (downloaded once, see `kinema_hub`). None: Kaiming
            /// initialisation.
            #[serde(default)]
            pub pretrained: Option<String>,
            /// `pretrained` is a torchvision ImageNet ResNet, renamed as MMAction2 does
            /// (`layer1.0.bn1` -> `layer1.0.conv1.bn`); false: a state dict in this backbone's
            /// own names.
            #[serde(default = "crate::backbones::resnet::config::yes")]
            pub torchvision_pretrain: bool,
            /// Input channels.
            #[serde(default = "crate::backbones::resnet::config::three")]
            pub in_channels: i64,
            /// Stages built (1 to 4).
            #[serde(default = "crate::backbones::resnet::config::four")]
            pub num_stages: usize,
            /// Stages whose output the backbone returns (0-based).
            #[serde(default = "crate::backbones::resnet::config::last_stage")]
            pub out_indices: Vec<usize>,
            /// Stride of each stage's first block.
            #[serde(default = "crate::backbones::resnet::config::strides")]
            pub strides: Vec<i64>,
            /// Dilation of each stage's 3x3 convolutions.
            #[serde(default = "crate::backbones::resnet::config::dilations")]
            pub dilations: Vec<i64>,
            /// "pytorch" (the 3x3 convolution strides) or "caffe" (the first 1x1 does).
            #[serde(default = "crate::backbones::resnet::config::pytorch")]
            pub style: String,
            /// Stages (stem = 0) whose parameters are frozen and batch norms kept in evaluation
            /// mode; -1: none.
            #[serde(default = "crate::backbones::resnet::config::minus_one")]
            pub frozen_stages: i64,
            /// The convolution layer: only `{type = "Conv"}` (2-d convolution).
            #[serde(default)]
            pub conv_cfg: $crate::backbones::resnet::ConvCfg,
            /// The norm layer: `{type = "BN2d", requires_grad = true}` (`BN` is the same).
            #[serde(default)]
            pub norm_cfg: $crate::backbones::resnet::NormCfg,
            /// The activation: `{type = "ReLU"}`.
            #[serde(default)]
            pub act_cfg: $crate::backbones::resnet::ActCfg,
            /// Keep every batch norm in evaluation mode while training (running statistics, no
            /// updates).
            #[serde(default)]
            pub norm_eval: bool,
            /// Freeze every batch norm but the first (TSN's partial BN).
            #[serde(default)]
            pub partial_bn: bool,
            /// Accepted for MMAction2 configs (activation checkpointing saves memory only);
            /// Kinema keeps activations.
            #[serde(default)]
            pub with_cp: bool,
            $($extra)*
        }

        impl $name {
            /// The `ResNet` keys of this config.
            pub fn resnet(&self) -> $crate::backbones::resnet::ResNetConfig {
                $crate::backbones::resnet::ResNetConfig {
                    depth: self.depth.clone(),
                    pretrained: self.pretrained.clone(),
                    torchvision_pretrain: self.torchvision_pretrain.clone(),
                    in_channels: self.in_channels.clone(),
                    num_stages: self.num_stages.clone(),
                    out_indices: self.out_indices.clone(),
                    strides: self.strides.clone(),
                    dilations: self.dilations.clone(),
                    style: self.style.clone(),
                    frozen_stages: self.frozen_stages.clone(),
                    conv_cfg: self.conv_cfg.clone(),
                    norm_cfg: self.norm_cfg.clone(),
                    act_cfg: self.act_cfg.clone(),
                    norm_eval: self.norm_eval.clone(),
                    partial_bn: self.partial_bn.clone(),
                    with_cp: self.with_cp.clone(),
                }
            }
        }
    };
}
pub(crate) use resnet_config;

resnet_config! {
    /// MMAction2's `ResNet` arguments.
    pub struct ResNetConfig {}
}

/// `conv_cfg`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvCfg {
    /// "Conv" or "Conv2d".
    #[serde(rename = "type")]
    pub kind: String,
}

impl Default for ConvCfg {
    fn default() -> Self {
        ConvCfg { kind: "Conv".into() }
    }
}

/// `norm_cfg`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormCfg {
    /// "BN2d", "BN" or "BatchNorm2d" (PyTorch's `BatchNorm2d`, statistics per process).
    #[serde(rename = "type")]
    pub kind: String,
    /// Train the norms' weight and bias.
    #[serde(default = "yes")]
    pub requires_grad: bool,
}

impl Default for NormCfg {
    fn default() -> Self {
        NormCfg { kind: "BN2d".into(), requires_grad: true }
    }
}

/// `act_cfg`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActCfg {
    /// "ReLU".
    #[serde(rename = "type")]
    pub kind: String,
    /// Accepted (in-place or not computes the same).
    #[serde(default = "yes")]
    pub inplace: bool,
}

impl Default for ActCfg {
    fn default() -> Self {
        ActCfg { kind: "ReLU".into(), inplace: true }
    }
}

pub(crate) fn yes() -> bool {
    true
}
pub(crate) fn three() -> i64 {
    3
}
pub(crate) fn four() -> usize {
    4
}
pub(crate) fn last_stage() -> Vec<usize> {
    vec![3]
}
pub(crate) fn strides() -> Vec<i64> {
    vec![1, 2, 2, 2]
}
pub(crate) fn dilations() -> Vec<i64> {
    vec![1, 1, 1, 1]
}
pub(crate) fn pytorch() -> String {
    "pytorch".into()
}
pub(crate) fn minus_one() -> i64 {
    -1
}

impl ResNetConfig {
    /// The block design and the blocks of each built stage, after checking every value.
    pub fn arch(&self) -> Result<(BlockType, Vec<usize>), ModelError> {
        let (block, blocks): (BlockType, [usize; 4]) = match self.depth {
            18 => (BlockType::Basic, [2, 2, 2, 2]),
            34 => (BlockType::Basic, [3, 4, 6, 3]),
            50 => (BlockType::Bottleneck, [3, 4, 6, 3]),
            101 => (BlockType::Bottleneck, [3, 4, 23, 3]),
            152 => (BlockType::Bottleneck, [3, 8, 36, 3]),
            d => return Err(ModelError::config("depth", format!("expected 18, 34, 50, 101 or 152, got {d}"))),
        };
        let n = self.num_stages;
        if !(1..=4).contains(&n) {
            return Err(ModelError::config("num_stages", format!("expected 1 to 4, got {n}")));
        }
        if self.out_indices.is_empty() || self.out_indices.iter().any(|&i| i >= n) {
            return Err(ModelError::config(
                "out_indices",
                format!("expected stage indices below num_stages = {n}, got {:?}", self.out_indices),
            ));
        }
        for (key, list) in [("strides", &self.strides), ("dilations", &self.dilations)] {
            if list.len() != n || list.iter().any(|&v| v < 1) {
                return Err(ModelError::config(
                    key,
                    format!("expected {n} positive values (one per stage), got {list:?}"),
                ));
            }
        }
        if self.style != "pytorch" && self.style != "caffe" {
            return Err(ModelError::config(
                "style",
                format!("expected \"pytorch\" or \"caffe\", got \"{}\"", self.style),
            ));
        }
        if self.frozen_stages < -1 || self.frozen_stages > n as i64 {
            return Err(ModelError::config("frozen_stages", format!("expected -1 to {n}, got {}", self.frozen_stages)));
        }
        if self.in_channels < 1 {
            return Err(ModelError::config("in_channels", format!("expected at least 1, got {}", self.in_channels)));
        }
        if !matches!(self.conv_cfg.kind.as_str(), "Conv" | "Conv2d") {
            return Err(ModelError::config(
                "conv_cfg.type",
                format!("expected \"Conv\" (2-d convolution), got \"{}\"", self.conv_cfg.kind),
            ));
        }
        if !matches!(self.norm_cfg.kind.as_str(), "BN2d" | "BN" | "BatchNorm2d") {
            return Err(ModelError::config(
                "norm_cfg.type",
                format!(
                    "expected \"BN2d\" (per-process batch norm, as MMAction2's TSN/TSM), got \"{}\"",
                    self.norm_cfg.kind
                ),
            ));
        }
        if self.act_cfg.kind != "ReLU" {
            return Err(ModelError::config(
                "act_cfg.type",
                format!("expected \"ReLU\", got \"{}\"", self.act_cfg.kind),
            ));
        }
        Ok((block, blocks[..n].to_vec()))
    }
}
