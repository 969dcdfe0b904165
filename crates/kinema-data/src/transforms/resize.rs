//! `Resize`: MMAction2's resize with mmcv's size rules and OpenCV's exact arithmetic.

use kinema_core::registry::{BoxError, BuildSite, FieldError};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::{reject_lazy, shape_of};
use crate::error::TransformError;
use crate::imgproc::{Interpolation, Resizer};
use crate::sample::{FrameStack, Sample};
use crate::transform::{Transform, TransformKind};

/// A resize target: a factor, or `[a, b]` (with `keep_ratio`: the largest size whose
/// long side is at most max(a, b) and short side at most min(a, b); `-1` means no
/// limit, so `[-1, 256]` sets the short side to 256; without `keep_ratio`: `[w, h]`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ScaleSpec {
    /// Multiply both sides by this factor.
    Factor(f64),
    /// Two edge lengths.
    Edges([i64; 2]),
}

/// Resizes every image (MMAction2 `Resize`, via `mmcv.imresize` / `cv2.resize`). Sets
/// `img_shape`, `keep_ratio` and multiplies `scale_factor`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResizeConfig {
    /// Factor or `[a, b]` edges (see [`ScaleSpec`]).
    pub scale: ScaleSpec,
    /// Keep the aspect ratio.
    #[serde(default = "yes")]
    pub keep_ratio: bool,
    /// `bilinear` (cv2.INTER_LINEAR) or `nearest` (cv2.INTER_NEAREST).
    #[serde(default = "bilinear")]
    pub interpolation: String,
    /// Not supported; must be false.
    #[serde(default)]
    pub lazy: bool,
}

fn yes() -> bool {
    true
}
fn bilinear() -> String {
    "bilinear".into()
}

/// The built transform.
pub struct Resize {
    target: Target,
    keep_ratio: bool,
    interp: Interpolation,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Factor(f64),
    /// `(long, short)` limits; `long` may be infinite.
    Edges(f64, f64),
    Exact(usize, usize),
}

impl Resize {
    /// Builds from a config, with the same checks as the registry.
    pub fn new(config: &ResizeConfig) -> Result<Self, FieldError> {
        reject_lazy(config.lazy).map_err(|m| FieldError::new("lazy", m))?;
        let interp = parse_interpolation(&config.interpolation).map_err(|m| FieldError::new("interpolation", m))?;
        let scale_error = |m: String| FieldError::new("scale", m);
        let target = match (config.scale, config.keep_ratio) {
            (ScaleSpec::Factor(f), _) if !(f > 0.0 && f.is_finite()) => {
                return Err(scale_error(format!("scale factor {f} must be positive")))
            }
            (ScaleSpec::Factor(f), true) => Target::Factor(f),
            (ScaleSpec::Factor(_), false) => {
                return Err(FieldError::new("keep_ratio", "a scale factor needs keep_ratio = true"))
            }
            (ScaleSpec::Edges([a, b]), true) => {
                let (long, short) = (a.max(b), a.min(b));
                if short == -1 {
                    if long <= 0 {
                        return Err(scale_error(format!("scale [{a}, {b}] needs one positive edge")));
                    }
                    Target::Edges(f64::INFINITY, long as f64)
                } else if short <= 0 {
                    return Err(scale_error(format!("scale [{a}, {b}]: edges must be positive, or -1 for no limit")));
                } else {
                    Target::Edges(long as f64, short as f64)
                }
            }
            (ScaleSpec::Edges([w, h]), false) => {
                if w <= 0 || h <= 0 {
                    return Err(scale_error(format!(
                        "scale [{w}, {h}] with keep_ratio = false must be a positive [w, h]"
                    )));
                }
                Target::Exact(w as usize, h as usize)
            }
        };
        let max = kinema_video::limits::MAX_IMAGE_SIDE as f64;
        let too_big = match target {
            Target::Factor(f) => f > max,
            Target::Edges(long, short) => short > max || (long.is_finite() && long > max),
            Target::Exact(w, h) => w as f64 > max || h as f64 > max,
        };
        if too_big {
            return Err(scale_error(format!(
                "{} is larger than images may be ({max} pixels a side)",
                describe(config.scale)
            )));
        }
        Ok(Resize { target, keep_ratio: config.keep_ratio, interp })
    }

    /// The output `(w, h)` for an input of `(w, h)` (mmcv `rescale_size`).
    pub fn output_size(&self, w: usize, h: usize) -> (usize, usize) {
        let factor = match self.target {
            Target::Exact(ow, oh) => return (ow, oh),
            Target::Factor(f) => f,
            Target::Edges(long, short) => {
                let (lw, sw) = (w.max(h) as f64, w.min(h) as f64);
                (long / lw).min(short / sw)
            }
        };
        ((w as f64 * factor + 0.5) as usize, (h as f64 * factor + 0.5) as usize)
    }
}

fn describe(scale: ScaleSpec) -> String {
    match scale {
        ScaleSpec::Factor(f) => format!("scale factor {f}"),
        ScaleSpec::Edges([a, b]) => format!("scale [{a}, {b}]"),
    }
}

pub(crate) fn parse_interpolation(name: &str) -> Result<Interpolation, String> {
    match name {
        "bilinear" => Ok(Interpolation::Bilinear),
        "nearest" => Ok(Interpolation::Nearest),
        other => Err(format!("interpolation \"{other}\" is not supported; use \"bilinear\" or \"nearest\"")),
    }
}

impl Component<TransformKind> for Resize {
    type Config = ResizeConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        Ok(Box::new(Resize::new(config)?))
    }
}

kinema_core::register!(TransformKind, "Resize", Resize);

/// Resizes every image of `frames` to `new_h x new_w`.
pub fn resize_frames(frames: &FrameStack, new_h: usize, new_w: usize, interp: Interpolation) -> FrameStack {
    if (frames.height, frames.width) == (new_h, new_w) {
        return frames.clone();
    }
    let r = Resizer::new(frames.height, frames.width, new_h, new_w, frames.channels, interp);
    let n = r.dst_len();
    let mut data = vec![0u8; n * frames.count];
    for (i, out) in data.chunks_exact_mut(n.max(1)).enumerate().take(frames.count) {
        r.apply(frames.frame(i), out);
    }
    FrameStack { data, count: frames.count, height: new_h, width: new_w, channels: frames.channels }
}

impl Transform for Resize {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let (h, w) = shape_of(s)?;
        if h == 0 || w == 0 {
            return Err(TransformError::Invalid(format!("cannot resize an empty {w}x{h} image")));
        }
        let (new_w, new_h) = self.output_size(w, h);
        if new_w == 0 || new_h == 0 {
            return Err(TransformError::Invalid(format!("resizing {w}x{h} gives an empty {new_w}x{new_h} image")));
        }
        let max = kinema_video::limits::MAX_IMAGE_SIDE;
        if new_w > max || new_h > max {
            return Err(TransformError::Invalid(format!(
                "resizing {w}x{h} gives {new_w}x{new_h}, larger than images may be ({max} pixels a side)"
            )));
        }
        let factor = [(new_w as f64 / w as f64) as f32, (new_h as f64 / h as f64) as f32];
        let old = s.scale_factor.unwrap_or([1.0, 1.0]);
        s.scale_factor = Some([old[0] * factor[0], old[1] * factor[1]]);
        s.keep_ratio = Some(self.keep_ratio);
        s.img_shape = Some([new_h, new_w]);
        if let Some(frames) = &s.imgs {
            if (frames.height, frames.width) != (h, w) {
                return Err(TransformError::Invalid(format!(
                    "img_shape says {w}x{h} but the images are {}x{}",
                    frames.width, frames.height
                )));
            }
            // Same size (e.g. `[-1, 256]` on a 256-pixel-high video): cv2 returns the pixels
            // unchanged, so the frames stay where they are instead of being copied.
            if (new_h, new_w) != (h, w) {
                kinema_video::limits::check_frames("Resize", frames.count, new_h, new_w, frames.channels)?;
                s.imgs = Some(resize_frames(frames, new_h, new_w, self.interp));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    fn cfg(scale: ScaleSpec, keep_ratio: bool) -> Resize {
        Resize::new(&ResizeConfig { scale, keep_ratio, interpolation: "bilinear".into(), lazy: false }).unwrap()
    }

    #[test]
    fn mmcv_size_rules() {
        // short side to 256, long side int(x * f + 0.5)
        assert_eq!(cfg(ScaleSpec::Edges([-1, 256]), true).output_size(176, 144), (313, 256));
        assert_eq!(cfg(ScaleSpec::Edges([-1, 256]), true).output_size(340, 256), (340, 256));
        assert_eq!(cfg(ScaleSpec::Edges([256, -1]), true).output_size(144, 176), (256, 313));
        // (340, 256) limits: factor = min(340/455, 256/256)
        assert_eq!(cfg(ScaleSpec::Edges([340, 256]), true).output_size(455, 256), (340, 191));
        assert_eq!(cfg(ScaleSpec::Factor(0.5), true).output_size(177, 101), (89, 51));
        assert_eq!(cfg(ScaleSpec::Edges([224, 224]), false).output_size(313, 256), (224, 224));
    }

    #[test]
    fn rejects_bad_configs() {
        let bad = |scale, keep_ratio, interpolation: &str| {
            Resize::new(&ResizeConfig { scale, keep_ratio, interpolation: interpolation.into(), lazy: false })
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            bad(ScaleSpec::Edges([-1, 256]), false, "bilinear"),
            "scale [-1, 256] with keep_ratio = false must be a positive [w, h]"
        );
        assert!(bad(ScaleSpec::Edges([224, 224]), true, "bicubic").contains("\"bicubic\" is not supported"));
        assert_eq!(bad(ScaleSpec::Factor(-2.0), true, "bilinear"), "scale factor -2 must be positive");
    }
}
