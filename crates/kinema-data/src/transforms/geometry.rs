//! Pieces shared by the spatial transforms: size parameters, crop bookkeeping.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::TransformError;
use crate::imgproc::ops;
use crate::sample::Sample;

/// An `int` or a `[w, h]` pair (MMEngine's `_pair`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SizeSpec {
    /// The same value for width and height.
    Square(usize),
    /// `[w, h]`.
    Pair([usize; 2]),
}

impl SizeSpec {
    /// `(w, h)`.
    pub fn wh(self) -> (usize, usize) {
        match self {
            SizeSpec::Square(v) => (v, v),
            SizeSpec::Pair([w, h]) => (w, h),
        }
    }
}

/// Rejects `lazy = true`, which Kinema does not implement.
pub fn reject_lazy(lazy: bool) -> Result<(), String> {
    if lazy {
        Err("lazy = true is not supported; remove it (transforms run eagerly)".into())
    } else {
        Ok(())
    }
}

/// The `(height, width)` the transform works on.
pub fn shape_of(s: &Sample) -> Result<(usize, usize), TransformError> {
    s.current_shape().map(|[h, w]| (h, w)).ok_or(TransformError::Missing("img_shape"))
}

/// Crops the sample's images to `[x1, x2) x [y1, y2)` and updates `crop_bbox`,
/// `img_shape` and `crop_quadruple` as MMAction2's crops do. The window must lie inside
/// the image (upstream's numpy slicing would silently return a smaller or wrapped
/// image; here it is an error naming both sizes).
pub fn crop_sample(s: &mut Sample, x1: i64, y1: i64, x2: i64, y2: i64, what: &str) -> Result<(), TransformError> {
    let (img_h, img_w) = shape_of(s)?;
    if x1 < 0 || y1 < 0 || x2 > img_w as i64 || y2 > img_h as i64 || x2 <= x1 || y2 <= y1 {
        return Err(TransformError::Invalid(format!(
            "{what}: crop window x {x1}..{x2}, y {y1}..{y2} does not fit the {img_w}x{img_h} image"
        )));
    }
    let (new_w, new_h) = ((x2 - x1) as usize, (y2 - y1) as usize);
    update_quadruple(s, x1 as f64, y1 as f64, new_w as f64, new_h as f64, img_w as f64, img_h as f64);
    if let Some(frames) = &s.imgs {
        if (frames.height, frames.width) != (img_h, img_w) {
            return Err(TransformError::Invalid(format!(
                "{what}: img_shape says {img_w}x{img_h} but the images are {}x{}",
                frames.width, frames.height
            )));
        }
        s.imgs = Some(ops::crop(frames, x1 as usize, y1 as usize, x2 as usize, y2 as usize));
    }
    s.crop_bbox = Some(vec![[x1, y1, x2, y2]]);
    s.img_shape = Some([new_h, new_w]);
    Ok(())
}

/// Python's slice `start:start + len` on an axis of `dim` elements: negative starts
/// count from the end, everything is clamped; returns the actual `(begin, end)`.
pub fn numpy_slice(start: i64, len: i64, dim: usize) -> (usize, usize) {
    let dim = dim as i64;
    let norm = |v: i64| if v < 0 { (v + dim).max(0) } else { v.min(dim) };
    let (b, e) = (norm(start), norm(start + len));
    (b as usize, e.max(b) as usize)
}

/// Like [`crop_sample`], but with numpy's slicing semantics for windows that stick out
/// of the image (MultiScaleCrop's snapped sizes can exceed a short side of 222 or 223):
/// the images get whatever `img[y1:y2, x1:x2]` gives upstream, `img_shape` is set to
/// that actual size, `crop_bbox` and `crop_quadruple` to the nominal window as upstream.
pub fn crop_sample_numpy(s: &mut Sample, x1: i64, y1: i64, w: i64, h: i64, what: &str) -> Result<(), TransformError> {
    let (img_h, img_w) = shape_of(s)?;
    if x1 >= 0 && y1 >= 0 && x1 + w <= img_w as i64 && y1 + h <= img_h as i64 {
        return crop_sample(s, x1, y1, x1 + w, y1 + h, what);
    }
    let (xb, xe) = numpy_slice(x1, w, img_w);
    let (yb, ye) = numpy_slice(y1, h, img_h);
    if xe == xb || ye == yb {
        return Err(TransformError::Invalid(format!(
            "{what}: window {w}x{h} at ({x1}, {y1}) leaves nothing of the {img_w}x{img_h} image"
        )));
    }
    log::debug!("{what}: window {w}x{h} at ({x1}, {y1}) sticks out of {img_w}x{img_h}; numpy slicing keeps x {xb}..{xe}, y {yb}..{ye}");
    update_quadruple(s, x1 as f64, y1 as f64, w as f64, h as f64, img_w as f64, img_h as f64);
    if let Some(frames) = &s.imgs {
        s.imgs = Some(ops::crop(frames, xb, yb, xe, ye));
    }
    s.crop_bbox = Some(vec![[x1, y1, x1 + w, y1 + h]]);
    s.img_shape = Some([ye - yb, xe - xb]);
    Ok(())
}

/// `crop_quadruple` composition: the new window expressed in the original image.
fn update_quadruple(s: &mut Sample, left: f64, top: f64, new_w: f64, new_h: f64, img_w: f64, img_h: f64) {
    let old = s.crop_quadruple.unwrap_or([0.0, 0.0, 1.0, 1.0]).map(f64::from);
    let (xr, yr, wr, hr) = (left / img_w, top / img_h, new_w / img_w, new_h / img_h);
    s.crop_quadruple = Some([
        (old[0] + xr * old[2]) as f32,
        (old[1] + yr * old[3]) as f32,
        (wr * old[2]) as f32,
        (hr * old[3]) as f32,
    ]);
}

/// Python's floor division for the offset arithmetic of the crops.
pub fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::numpy_slice;

    #[test]
    fn slices_like_python() {
        // img[-4:220] on 222 rows -> rows 218..220; img[0:224] -> 0..222
        assert_eq!(numpy_slice(-4, 224, 222), (218, 220));
        assert_eq!(numpy_slice(0, 224, 222), (0, 222));
        assert_eq!(numpy_slice(-1, 224, 222), (221, 222));
        assert_eq!(numpy_slice(3, 5, 10), (3, 8));
        assert_eq!(numpy_slice(-20, 5, 10), (0, 0));
    }
}
