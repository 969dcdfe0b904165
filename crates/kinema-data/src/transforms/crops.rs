//! Single-window crops: `RandomCrop`, `RandomResizedCrop`, `MultiScaleCrop`, `CenterCrop`.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::{crop_sample, crop_sample_numpy, floor_div, reject_lazy, shape_of, SizeSpec};
use crate::error::TransformError;
use crate::sample::Sample;
use crate::transform::{Transform, TransformKind};

/// A square crop of `size` at a random position (MMAction2 `RandomCrop`; like upstream,
/// the offset is drawn from `[0, H - size)`, never the last position).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomCropConfig {
    /// Side of the square crop.
    pub size: usize,
    /// Not supported; must be false.
    #[serde(default)]
    pub lazy: bool,
}

/// The built `RandomCrop`.
pub struct RandomCrop {
    size: usize,
}

impl Component<TransformKind> for RandomCrop {
    type Config = RandomCropConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        reject_lazy(c.lazy)?;
        Ok(Box::new(RandomCrop { size: c.size }))
    }
}
kinema_core::register!(TransformKind, "RandomCrop", RandomCrop);

impl Transform for RandomCrop {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        let (h, w) = shape_of(s)?;
        let size = self.size;
        if size > h || size > w {
            return Err(TransformError::Invalid(format!("RandomCrop: size {size} is larger than the {w}x{h} image")));
        }
        let y = if h > size { rng.random_range(0..h - size) } else { 0 } as i64;
        let x = if w > size { rng.random_range(0..w - size) } else { 0 } as i64;
        crop_sample(s, x, y, x + size as i64, y + size as i64, "RandomCrop")
    }
}

/// A crop of random area and aspect ratio (MMAction2 `RandomResizedCrop`; it does not
/// resize). Ten candidates are drawn; the first that fits is used, else the centred
/// square of the short side.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomResizedCropConfig {
    /// Range of the crop area as a fraction of the image area.
    #[serde(default = "default_area")]
    pub area_range: [f64; 2],
    /// Range of the crop's width / height.
    #[serde(default = "default_ratio")]
    pub aspect_ratio_range: [f64; 2],
    /// Not supported; must be false.
    #[serde(default)]
    pub lazy: bool,
}

fn default_area() -> [f64; 2] {
    [0.08, 1.0]
}
fn default_ratio() -> [f64; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}

/// The built `RandomResizedCrop`.
pub struct RandomResizedCrop {
    area: [f64; 2],
    ratio: [f64; 2],
}

impl Component<TransformKind> for RandomResizedCrop {
    type Config = RandomResizedCropConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        reject_lazy(c.lazy)?;
        let [a0, a1] = c.area_range;
        if !(0.0 < a0 && a0 <= a1 && a1 <= 1.0) {
            return Err(format!("area_range [{a0}, {a1}] must satisfy 0 < min <= max <= 1").into());
        }
        let [r0, r1] = c.aspect_ratio_range;
        if !(0.0 < r0 && r0 <= r1) {
            return Err(format!("aspect_ratio_range [{r0}, {r1}] must satisfy 0 < min <= max").into());
        }
        Ok(Box::new(RandomResizedCrop { area: c.area_range, ratio: c.aspect_ratio_range }))
    }
}
kinema_core::register!(TransformKind, "RandomResizedCrop", RandomResizedCrop);

const ATTEMPTS: usize = 10;

/// The window `(x1, y1, x2, y2)` RandomResizedCrop picks for an `h x w` image.
pub fn random_resized_window(h: usize, w: usize, area: [f64; 2], ratio: [f64; 2], rng: &mut impl Rng) -> [i64; 4] {
    let total = (h * w) as f64;
    let (lo, hi) = (ratio[0].ln(), ratio[1].ln());
    // numpy draws all aspect ratios first, then all areas.
    let ratios: Vec<f64> = (0..ATTEMPTS).map(|_| (lo + (hi - lo) * rng.random::<f64>()).exp()).collect();
    let areas: Vec<f64> =
        (0..ATTEMPTS).map(|_| (area[0] + (area[1] - area[0]) * rng.random::<f64>()) * total).collect();
    for (r, a) in ratios.iter().zip(&areas) {
        let cw = (a * r).sqrt().round_ties_even() as i64;
        let ch = (a / r).sqrt().round_ties_even() as i64;
        if ch <= h as i64 && cw <= w as i64 {
            let x = rng.random_range(0..=(w as i64 - cw));
            let y = rng.random_range(0..=(h as i64 - ch));
            return [x, y, x + cw, y + ch];
        }
    }
    let side = h.min(w) as i64;
    let x = floor_div(w as i64 - side, 2);
    let y = floor_div(h as i64 - side, 2);
    [x, y, x + side, y + side]
}

impl Transform for RandomResizedCrop {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        let (h, w) = shape_of(s)?;
        let [x1, y1, x2, y2] = random_resized_window(h, w, self.area, self.ratio, rng);
        crop_sample(s, x1, y1, x2, y2, "RandomResizedCrop")
    }
}

/// A crop whose width and height are picked among `scales` of the short side, at one of
/// 5 or 13 fixed positions or at random (MMAction2 `MultiScaleCrop`; it does not resize).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiScaleCropConfig {
    /// Network input `(w, h)`; crop sides within 3 px of it snap to it.
    pub input_size: SizeSpec,
    /// Scales of the short side.
    #[serde(default = "default_scales")]
    pub scales: Vec<f64>,
    /// Largest allowed difference between the width's and the height's scale level.
    #[serde(default = "one")]
    pub max_wh_scale_gap: usize,
    /// Random position instead of the fixed ones.
    #[serde(default)]
    pub random_crop: bool,
    /// 5 (corners and centre) or 13 (plus edge centres and quarter points).
    #[serde(default = "five")]
    pub num_fixed_crops: usize,
    /// Not supported; must be false.
    #[serde(default)]
    pub lazy: bool,
}

fn default_scales() -> Vec<f64> {
    vec![1.0]
}
fn one() -> usize {
    1
}
fn five() -> usize {
    5
}

/// The built `MultiScaleCrop`.
pub struct MultiScaleCrop {
    cfg: MultiScaleCropConfig,
}

impl Component<TransformKind> for MultiScaleCrop {
    type Config = MultiScaleCropConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        reject_lazy(c.lazy)?;
        if c.num_fixed_crops != 5 && c.num_fixed_crops != 13 {
            return Err(format!("num_fixed_crops must be 5 or 13, got {}", c.num_fixed_crops).into());
        }
        if c.scales.is_empty() || c.scales.iter().any(|s| s.is_nan() || *s <= 0.0) {
            return Err("scales must be a non-empty list of positive numbers".into());
        }
        Ok(Box::new(MultiScaleCrop { cfg: c.clone() }))
    }
}
kinema_core::register!(TransformKind, "MultiScaleCrop", MultiScaleCrop);

const FIXED_13: [(i64, i64); 13] =
    [(0, 0), (4, 0), (0, 4), (4, 4), (2, 2), (0, 2), (4, 2), (2, 4), (2, 0), (1, 1), (3, 1), (1, 3), (3, 3)];

impl MultiScaleCrop {
    /// The window `(x1, y1, x2, y2)` for an `h x w` image.
    pub fn window(&self, h: usize, w: usize, rng: &mut impl Rng) -> Result<[i64; 4], TransformError> {
        let base = h.min(w) as f64;
        let sizes: Vec<i64> = self.cfg.scales.iter().map(|s| (base * s) as i64).collect();
        let mut candidates = Vec::new();
        for (i, &ch) in sizes.iter().enumerate() {
            for (j, &cw) in sizes.iter().enumerate() {
                if i.abs_diff(j) <= self.cfg.max_wh_scale_gap {
                    candidates.push([cw, ch]);
                }
            }
        }
        let mut size = candidates[rng.random_range(0..candidates.len())];
        let (in_w, in_h) = self.cfg.input_size.wh();
        for (k, target) in [in_w as i64, in_h as i64].into_iter().enumerate() {
            if (size[k] - target).abs() < 3 {
                size[k] = target;
            }
        }
        let [cw, ch] = size;
        let (w, h) = (w as i64, h as i64);
        if cw <= 0 || ch <= 0 {
            return Err(TransformError::Invalid(format!("MultiScaleCrop: the {w}x{h} image gives an empty crop")));
        }
        let (x, y) = if self.cfg.random_crop {
            if cw > w || ch > h {
                // Python's random.randint(0, negative) raises ValueError upstream.
                return Err(TransformError::Invalid(format!(
                    "MultiScaleCrop: random crop {cw}x{ch} does not fit the {w}x{h} image"
                )));
            }
            (rng.random_range(0..=w - cw), rng.random_range(0..=h - ch))
        } else {
            let (ws, hs) = (floor_div(w - cw, 4), floor_div(h - ch, 4));
            let (a, b) = FIXED_13[rng.random_range(0..self.cfg.num_fixed_crops)];
            (a * ws, b * hs)
        };
        Ok([x, y, x + cw, y + ch])
    }
}

impl Transform for MultiScaleCrop {
    fn apply(&self, s: &mut Sample, rng: &mut SampleRng) -> Result<(), TransformError> {
        let (h, w) = shape_of(s)?;
        let [x1, y1, x2, y2] = self.window(h, w, rng)?;
        crop_sample_numpy(s, x1, y1, x2 - x1, y2 - y1, "MultiScaleCrop")
    }
}

/// The centred crop of `crop_size` (MMAction2 `CenterCrop`; offsets floor((W - w) / 2)).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CenterCropConfig {
    /// `size` or `[w, h]`.
    pub crop_size: SizeSpec,
    /// Not supported; must be false.
    #[serde(default)]
    pub lazy: bool,
}

/// The built `CenterCrop`.
pub struct CenterCrop {
    w: usize,
    h: usize,
}

impl CenterCrop {
    /// A centre crop to `w x h`.
    pub fn new(w: usize, h: usize) -> Self {
        CenterCrop { w, h }
    }
}

impl Component<TransformKind> for CenterCrop {
    type Config = CenterCropConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        reject_lazy(c.lazy)?;
        let (w, h) = c.crop_size.wh();
        Ok(Box::new(CenterCrop { w, h }))
    }
}
kinema_core::register!(TransformKind, "CenterCrop", CenterCrop);

impl Transform for CenterCrop {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let (h, w) = shape_of(s)?;
        let left = floor_div(w as i64 - self.w as i64, 2);
        let top = floor_div(h as i64 - self.h as i64, 2);
        crop_sample(s, left, top, left + self.w as i64, top + self.h as i64, "CenterCrop")
    }
}
