//! Model building blocks and kinds: CLIP (ViT and text transformer), recognizers, losses.
