//! CLIP hyper-parameters: inferred from checkpoint shapes exactly like OpenAI's
//! `build_model`, or taken from the published presets; parameter counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The shape of a CLIP ViT model (OpenAI's `CLIP.__init__` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipArch {
    /// Joint embedding size (`text_projection.shape[1]`).
    pub embed_dim: i64,
    /// Input image side (`patch * grid`).
    pub image_resolution: i64,
    /// Vision transformer blocks.
    pub vision_layers: i64,
    /// Vision transformer width (`visual.conv1.weight.shape[0]`).
    pub vision_width: i64,
    /// Patch side (`visual.conv1.weight.shape[-1]`).
    pub vision_patch_size: i64,
    /// Text tokens per prompt (`positional_embedding.shape[0]`, 77).
    pub context_length: i64,
    /// Token vocabulary (`token_embedding.weight.shape[0]`, 49408).
    pub vocab_size: i64,
    /// Text transformer width (`ln_final.weight.shape[0]`).
    pub transformer_width: i64,
    /// Text transformer heads (`transformer_width / 64`).
    pub transformer_heads: i64,
    /// Text transformer blocks.
    pub transformer_layers: i64,
}

/// Why the architecture cannot be read from a state dict.
#[derive(Debug, thiserror::Error)]
pub enum ArchError {
    /// A key the architecture is read from is absent.
    #[error("no `{key}` in the checkpoint: not a CLIP ViT state dict (keys{prefix_note})")]
    MissingKey {
        /// The full key.
        key: String,
        /// Mentions the prefix looked under, when there is one.
        prefix_note: String,
    },
    /// A key has an unexpected rank or an inconsistent size.
    #[error("`{key}` has shape {shape:?}; expected {expected}")]
    BadShape {
        /// The full key.
        key: String,
        /// Its shape.
        shape: Vec<i64>,
        /// What was expected.
        expected: String,
    },
    /// The preset name is unknown.
    #[error("unknown CLIP architecture \"{0}\"; known: ViT-B/32, ViT-B/16, ViT-L/14, ViT-L/14@336px")]
    UnknownPreset(String),
}

impl ClipArch {
    /// OpenAI's published presets by their `clip.available_models()` name.
    pub fn preset(name: &str) -> Result<Self, ArchError> {
        let base = |patch, res| ClipArch {
            embed_dim: 512,
            image_resolution: res,
            vision_layers: 12,
            vision_width: 768,
            vision_patch_size: patch,
            context_length: 77,
            vocab_size: 49408,
            transformer_width: 512,
            transformer_heads: 8,
            transformer_layers: 12,
        };
        let large = |res| ClipArch {
            embed_dim: 768,
            vision_layers: 24,
            vision_width: 1024,
            vision_patch_size: 14,
            image_resolution: res,
            transformer_width: 768,
            transformer_heads: 12,
            ..base(14, res)
        };
        match name {
            "ViT-B/32" => Ok(base(32, 224)),
            "ViT-B/16" => Ok(base(16, 224)),
            "ViT-L/14" => Ok(large(224)),
            "ViT-L/14@336px" => Ok(large(336)),
            other => Err(ArchError::UnknownPreset(other.to_string())),
        }
    }

    /// Reads the architecture from parameter shapes (`name -> shape`), keys under
    /// `prefix` (`""` for OpenAI files, `"clip."` for video models that hold CLIP under `clip`), with OpenAI's
    /// `build_model` rules.
    pub fn from_shapes(shapes: &BTreeMap<String, Vec<i64>>, prefix: &str) -> Result<Self, ArchError> {
        let get = |key: &str| -> Result<&Vec<i64>, ArchError> {
            let full = format!("{prefix}{key}");
            shapes.get(&full).ok_or_else(|| ArchError::MissingKey {
                key: full,
                prefix_note: if prefix.is_empty() { String::new() } else { format!(" looked up under `{prefix}`") },
            })
        };
        let dim = |key: &str, rank: usize, axis: usize| -> Result<i64, ArchError> {
            let shape = get(key)?;
            if shape.len() != rank {
                return Err(ArchError::BadShape {
                    key: format!("{prefix}{key}"),
                    shape: shape.clone(),
                    expected: format!("{rank} dimensions"),
                });
            }
            Ok(shape[axis])
        };
        get("visual.proj")?;
        let vision_width = dim("visual.conv1.weight", 4, 0)?;
        let vision_patch_size = dim("visual.conv1.weight", 4, 3)?;
        let tokens = dim("visual.positional_embedding", 2, 0)?;
        let grid = ((tokens - 1).max(0) as f64).sqrt().round() as i64;
        if grid * grid + 1 != tokens {
            return Err(ArchError::BadShape {
                key: format!("{prefix}visual.positional_embedding"),
                shape: get("visual.positional_embedding")?.clone(),
                expected: "grid*grid + 1 rows".into(),
            });
        }
        let vision_prefix = format!("{prefix}visual.");
        let vision_layers =
            shapes.keys().filter(|k| k.starts_with(&vision_prefix) && k.ends_with(".attn.in_proj_weight")).count()
                as i64;
        let text_prefix = format!("{prefix}transformer.resblocks");
        let mut text_blocks: Vec<&str> = shapes
            .keys()
            .filter(|k| k.starts_with(&text_prefix))
            .filter_map(|k| k[prefix.len()..].split('.').nth(2))
            .collect();
        text_blocks.sort_unstable();
        text_blocks.dedup();
        let transformer_width = dim("ln_final.weight", 1, 0)?;
        Ok(ClipArch {
            embed_dim: dim("text_projection", 2, 1)?,
            image_resolution: vision_patch_size * grid,
            vision_layers,
            vision_width,
            vision_patch_size,
            context_length: dim("positional_embedding", 2, 0)?,
            vocab_size: dim("token_embedding.weight", 2, 0)?,
            transformer_width,
            transformer_heads: transformer_width / 64,
            transformer_layers: text_blocks.len() as i64,
        })
    }

    /// Vision heads (`vision_width / 64`).
    pub fn vision_heads(&self) -> i64 {
        (self.vision_width / 64).max(1)
    }

    /// Patches per image side.
    pub fn grid(&self) -> i64 {
        self.image_resolution / self.vision_patch_size.max(1)
    }

    /// The name of the published preset this equals, if any.
    pub fn preset_name(&self) -> Option<&'static str> {
        ["ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"]
            .into_iter()
            .find(|preset| Self::preset(preset).ok().as_ref() == Some(self))
    }

    /// A short name: the preset it equals (`ViT-B/32`), else `ViT-W{w}-P{p}-R{r}`.
    pub fn name(&self) -> String {
        match self.preset_name() {
            Some(p) => p.to_string(),
            None => format!("ViT-W{}-P{}-R{}", self.vision_width, self.vision_patch_size, self.image_resolution),
        }
    }

    /// Parameters of the image tower (`visual.*`).
    pub fn visual_parameter_count(&self) -> i64 {
        let w = self.vision_width;
        let g = self.grid();
        let conv = w * 3 * self.vision_patch_size * self.vision_patch_size;
        let embeds = w + (g * g + 1) * w;
        let norms = 4 * w;
        conv + embeds + norms + self.vision_layers * block_parameter_count(w) + w * self.embed_dim
    }

    /// Parameters of the text tower with `logit_scale` and `text_projection`.
    pub fn text_parameter_count(&self) -> i64 {
        let w = self.transformer_width;
        self.vocab_size * w
            + self.context_length * w
            + self.transformer_layers * block_parameter_count(w)
            + 2 * w
            + w * self.embed_dim
            + 1
    }

    /// All CLIP parameters (OpenAI's `sum(p.numel())`).
    pub fn parameter_count(&self) -> i64 {
        self.visual_parameter_count() + self.text_parameter_count()
    }
}

/// Parameters of one residual attention block of width `w` (attention, two
/// LayerNorms, a 4x MLP).
pub fn block_parameter_count(w: i64) -> i64 {
    let attn = 3 * w * w + 3 * w + w * w + w;
    let mlp = w * 4 * w + 4 * w + 4 * w * w + w;
    attn + mlp + 4 * w
}
