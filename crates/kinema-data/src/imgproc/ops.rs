//! Crops, flips and layout changes on [`FrameStack`] buffers (one pass, no per-pixel
//! allocation).

use crate::sample::{FlipDirection, FrameStack};

/// Crops every image to rows `y1..y2` and columns `x1..x2`; the range must lie inside
/// the image (callers check).
pub fn crop(frames: &FrameStack, x1: usize, y1: usize, x2: usize, y2: usize) -> FrameStack {
    let (w, c) = (frames.width, frames.channels);
    let (cw, ch) = (x2 - x1, y2 - y1);
    let mut data = Vec::with_capacity(frames.count * cw * ch * c);
    for i in 0..frames.count {
        let img = frames.frame(i);
        for y in y1..y2 {
            let row = &img[(y * w + x1) * c..(y * w + x2) * c];
            data.extend_from_slice(row);
        }
    }
    FrameStack { data, count: frames.count, height: ch, width: cw, channels: c }
}

/// Flips every image in place.
pub fn flip(frames: &mut FrameStack, direction: FlipDirection) {
    let (h, w, c) = (frames.height, frames.width, frames.channels);
    let frame_len = frames.frame_len();
    if frame_len == 0 {
        return;
    }
    for img in frames.data.chunks_exact_mut(frame_len) {
        match direction {
            FlipDirection::Horizontal => {
                for row in img.chunks_exact_mut(w * c) {
                    flip_row(row, w, c);
                }
            }
            FlipDirection::Vertical => {
                for y in 0..h / 2 {
                    let (top, bottom) = img.split_at_mut((h - 1 - y) * w * c);
                    top[y * w * c..(y + 1) * w * c].swap_with_slice(&mut bottom[..w * c]);
                }
            }
        }
    }
}

fn flip_row(row: &mut [u8], w: usize, c: usize) {
    if c == 3 {
        let (mut i, mut j) = (0, w.saturating_sub(1));
        while i < j {
            for k in 0..3 {
                row.swap(i * 3 + k, j * 3 + k);
            }
            i += 1;
            j -= 1;
        }
    } else {
        for x in 0..w / 2 {
            for k in 0..c {
                row.swap(x * c + k, (w - 1 - x) * c + k);
            }
        }
    }
}

/// Replaces image `i` by `255 - value` for every even `i` (MMAction2's Flow flip: the
/// x-flow images change sign).
pub fn invert_even_frames(frames: &mut FrameStack) {
    let n = frames.frame_len();
    if n == 0 {
        return;
    }
    for img in frames.data.chunks_exact_mut(n).step_by(2) {
        for v in img.iter_mut() {
            *v = 255 - *v;
        }
    }
}

/// `[M, H, W, C]` to `[M, C, H, W]`.
pub fn nhwc_to_nchw(frames: &FrameStack) -> Vec<u8> {
    let (m, h, w, c) = (frames.count, frames.height, frames.width, frames.channels);
    let plane = h * w;
    let mut out = vec![0u8; m * c * plane];
    for (i, img) in frames.data.chunks_exact(plane * c).enumerate() {
        let dst = &mut out[i * c * plane..(i + 1) * c * plane];
        if c == 3 {
            let (p0, rest) = dst.split_at_mut(plane);
            let (p1, p2) = rest.split_at_mut(plane);
            for (k, px) in img.chunks_exact(3).enumerate() {
                p0[k] = px[0];
                p1[k] = px[1];
                p2[k] = px[2];
            }
        } else {
            for (k, px) in img.chunks_exact(c).enumerate() {
                for (ch, &v) in px.iter().enumerate() {
                    dst[ch * plane + k] = v;
                }
            }
        }
    }
    out
}

/// `[G, T, H, W, C]` (G groups of T images) to `[G, C, T, H, W]`.
pub fn nhwc_to_ncthw(frames: &FrameStack, t: usize) -> Vec<u8> {
    let (m, h, w, c) = (frames.count, frames.height, frames.width, frames.channels);
    let plane = h * w;
    let groups = m.checked_div(t).unwrap_or(0);
    let mut out = vec![0u8; m * c * plane];
    for g in 0..groups {
        for ti in 0..t {
            let img = frames.frame(g * t + ti);
            for (k, px) in img.chunks_exact(c).enumerate() {
                for (ch, &v) in px.iter().enumerate() {
                    out[((g * c + ch) * t + ti) * plane + k] = v;
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    fn stack(count: usize, h: usize, w: usize, c: usize) -> FrameStack {
        let data = (0..count * h * w * c).map(|v| v as u8).collect();
        FrameStack { data, count, height: h, width: w, channels: c }
    }

    #[test]
    fn crop_takes_the_window() {
        let s = stack(2, 3, 4, 1);
        let c = crop(&s, 1, 1, 3, 3);
        assert_eq!(c.data, vec![5, 6, 9, 10, 17, 18, 21, 22]);
        assert_eq!((c.height, c.width), (2, 2));
    }

    #[test]
    fn flips_mirror_pixels_not_channels() {
        let mut s = stack(1, 2, 3, 3);
        flip(&mut s, FlipDirection::Horizontal);
        assert_eq!(&s.data[..9], &[6, 7, 8, 3, 4, 5, 0, 1, 2]);
        let mut v = stack(1, 3, 1, 2);
        flip(&mut v, FlipDirection::Vertical);
        assert_eq!(v.data, vec![4, 5, 2, 3, 0, 1]);
    }

    #[test]
    fn layouts() {
        let s = stack(2, 1, 2, 3);
        assert_eq!(nhwc_to_nchw(&s), vec![0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]);
        // one group of T=2: [C, T, H, W]
        assert_eq!(nhwc_to_ncthw(&s, 2), vec![0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
    }
}
