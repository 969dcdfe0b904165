//! Multi-view crops for testing: `ThreeCrop` and `TenCrop`. The output holds every
//! frame of the first view, then every frame of the second, and so on.

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::{floor_div, SizeSpec};
use crate::error::TransformError;
use crate::imgproc::ops;
use crate::sample::{FlipDirection, FrameStack, Sample};
use crate::transform::{Transform, TransformKind};

/// Config of `ThreeCrop` and `TenCrop`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiCropConfig {
    /// `size` or `[w, h]`.
    pub crop_size: SizeSpec,
}

/// Three crops along the long side (MMAction2 `ThreeCrop`): left/top, right/bottom,
/// middle. One crop side must equal the image side.
pub struct ThreeCrop {
    w: usize,
    h: usize,
}

/// The four corners and the centre, each followed by its horizontal mirror
/// (MMAction2 `TenCrop`).
pub struct TenCrop {
    w: usize,
    h: usize,
}

impl Component<TransformKind> for ThreeCrop {
    type Config = MultiCropConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        let (w, h) = c.crop_size.wh();
        Ok(Box::new(ThreeCrop { w, h }))
    }
}
kinema_core::register!(TransformKind, "ThreeCrop", ThreeCrop);

impl Component<TransformKind> for TenCrop {
    type Config = MultiCropConfig;
    fn build(c: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        let (w, h) = c.crop_size.wh();
        Ok(Box::new(TenCrop { w, h }))
    }
}
kinema_core::register!(TransformKind, "TenCrop", TenCrop);

/// Crops every view and concatenates them; `mirror` adds each view's flipped copy
/// right after it.
fn crop_views(
    s: &mut Sample,
    offsets: &[(i64, i64)],
    (cw, ch): (usize, usize),
    mirror: bool,
    what: &str,
) -> Result<(), TransformError> {
    let frames = s.imgs.take().ok_or(TransformError::Missing("imgs"))?;
    let copies = if mirror { 2 } else { 1 };
    if let Err(e) =
        kinema_video::limits::check_frames(what, frames.count * offsets.len() * copies, ch, cw, frames.channels)
    {
        s.imgs = Some(frames);
        return Err(e.into());
    }
    let (h, w) = (frames.height as i64, frames.width as i64);
    let mut data = Vec::new();
    let mut boxes = Vec::new();
    let mut views = 0;
    for &(x, y) in offsets {
        let (x2, y2) = (x + cw as i64, y + ch as i64);
        if x < 0 || y < 0 || x2 > w || y2 > h {
            s.imgs = Some(frames);
            return Err(TransformError::Invalid(format!(
                "{what}: crop {cw}x{ch} at ({x}, {y}) does not fit the {w}x{h} image"
            )));
        }
        let view = ops::crop(&frames, x as usize, y as usize, x2 as usize, y2 as usize);
        boxes.extend(std::iter::repeat_n([x, y, x2, y2], frames.count * copies));
        data.extend_from_slice(&view.data);
        views += 1;
        if mirror {
            let mut flipped = view;
            ops::flip(&mut flipped, FlipDirection::Horizontal);
            data.extend_from_slice(&flipped.data);
            views += 1;
        }
    }
    s.imgs = Some(FrameStack { data, count: frames.count * views, height: ch, width: cw, channels: frames.channels });
    s.crop_bbox = Some(boxes);
    s.img_shape = Some([ch, cw]);
    Ok(())
}

impl Transform for ThreeCrop {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let f = s.imgs.as_ref().ok_or(TransformError::Missing("imgs"))?;
        let (h, w) = (f.height as i64, f.width as i64);
        let (cw, ch) = (self.w as i64, self.h as i64);
        let offsets = if ch == h {
            let step = floor_div(w - cw, 2);
            [(0, 0), (2 * step, 0), (step, 0)]
        } else if cw == w {
            let step = floor_div(h - ch, 2);
            [(0, 0), (0, 2 * step), (0, step)]
        } else {
            return Err(TransformError::Invalid(format!(
                "ThreeCrop: crop {cw}x{ch} must match the {w}x{h} image's width or height (resize the short side to it first)"
            )));
        };
        crop_views(s, &offsets, (self.w, self.h), false, "ThreeCrop")
    }
}

impl Transform for TenCrop {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let f = s.imgs.as_ref().ok_or(TransformError::Missing("imgs"))?;
        let (h, w) = (f.height as i64, f.width as i64);
        let ws = floor_div(w - self.w as i64, 4);
        let hs = floor_div(h - self.h as i64, 4);
        let offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)];
        crop_views(s, &offsets, (self.w, self.h), true, "TenCrop")
    }
}
