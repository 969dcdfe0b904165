//! Image resizing that reproduces OpenCV's `cv2.resize` on `uint8` images bit for bit
//! (what `mmcv.imresize` calls).
//!
//! `INTER_LINEAR` on 8-bit images in OpenCV (checked against cv2 5.0 on random images
//! of many sizes, up- and down-scaling, see `tests/reference/resize_data_reference.py`):
//!
//! * source coordinate `f = float((d + 0.5) * scale - 0.5)` with `scale = 1 / (dst /
//!   src)` in double, rounded to single precision; `s = floor(f)`, `f -= s`;
//! * columns: when `s < 0` or `s >= src - 1` the weight is moved entirely onto the
//!   clamped pixel; rows keep the fractional weight and clamp the row index instead;
//! * weights `round((1 - f) * 2048)` and `round(f * 2048)` (11 fractional bits);
//! * a horizontal pass in 32-bit integers (`a0 * p0 + a1 * p1`), then the vertical pass
//!   of OpenCV's SIMD kernel: `(((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16) + 2) >> 2`,
//!   saturated to 0..=255. (The scalar kernel's `(h0 * b0 + h1 * b1 + 2^21) >> 22`
//!   differs in about 13% of pixels; cv2 takes the SIMD one.)
//!
//! `INTER_NEAREST`: source index `min(floor(d * scale), src - 1)`.

const COEF_BITS: u32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// Interpolation methods (mmcv names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// `cv2.INTER_NEAREST`.
    Nearest,
    /// `cv2.INTER_LINEAR`.
    Bilinear,
}

/// Per-axis tables of a linear resize: for each output position the two source
/// positions and their fixed-point weights.
#[derive(Debug, Clone)]
struct AxisTable {
    first: Vec<usize>,
    second: Vec<usize>,
    w0: Vec<i32>,
    w1: Vec<i32>,
}

fn round_half_even_f32(x: f32) -> i32 {
    x.round_ties_even() as i32
}

fn linear_axis(src: usize, dst: usize, clamp_weights: bool) -> AxisTable {
    let scale = 1.0 / (dst as f64 / src as f64);
    let mut t = AxisTable { first: Vec::with_capacity(dst), second: Vec::with_capacity(dst), w0: vec![], w1: vec![] };
    for d in 0..dst {
        let mut f = ((d as f64 + 0.5) * scale - 0.5) as f32;
        let mut s = f.floor() as i64;
        f -= s as f32;
        if clamp_weights {
            if s < 0 {
                f = 0.0;
                s = 0;
            }
            if s >= src as i64 - 1 {
                f = 0.0;
                s = src as i64 - 1;
            }
        }
        let a0 = round_half_even_f32((1.0 - f) * COEF_SCALE);
        let a1 = round_half_even_f32(f * COEF_SCALE);
        let last = src as i64 - 1;
        t.first.push(s.clamp(0, last) as usize);
        t.second.push((s + 1).clamp(0, last) as usize);
        t.w0.push(a0);
        t.w1.push(a1);
    }
    t
}

/// A prepared resize from one size to another; build once, apply to every frame.
#[derive(Debug, Clone)]
pub struct Resizer {
    src_h: usize,
    src_w: usize,
    dst_h: usize,
    dst_w: usize,
    channels: usize,
    kind: Kernel,
}

#[derive(Debug, Clone)]
enum Kernel {
    Nearest { xs: Vec<usize>, ys: Vec<usize> },
    Linear { x: AxisTable, y: AxisTable },
}

impl Resizer {
    /// Prepares a resize of `src_h x src_w` images with `channels` channels to
    /// `dst_h x dst_w`. All sizes must be non-zero.
    pub fn new(src_h: usize, src_w: usize, dst_h: usize, dst_w: usize, channels: usize, interp: Interpolation) -> Self {
        let kind = match interp {
            Interpolation::Nearest => {
                let axis = |src: usize, dst: usize| {
                    let scale = 1.0 / (dst as f64 / src as f64);
                    (0..dst).map(|d| ((d as f64 * scale).floor() as usize).min(src - 1)).collect::<Vec<_>>()
                };
                Kernel::Nearest { xs: axis(src_w, dst_w), ys: axis(src_h, dst_h) }
            }
            Interpolation::Bilinear => {
                Kernel::Linear { x: linear_axis(src_w, dst_w, true), y: linear_axis(src_h, dst_h, false) }
            }
        };
        Resizer { src_h, src_w, dst_h, dst_w, channels, kind }
    }

    /// Bytes of one output image.
    pub fn dst_len(&self) -> usize {
        self.dst_h * self.dst_w * self.channels
    }

    /// Resizes one image `src` (`src_h * src_w * channels` bytes) into `dst`.
    pub fn apply(&self, src: &[u8], dst: &mut [u8]) {
        debug_assert_eq!(src.len(), self.src_h * self.src_w * self.channels);
        debug_assert_eq!(dst.len(), self.dst_len());
        match &self.kind {
            Kernel::Nearest { xs, ys } => self.nearest(src, dst, xs, ys),
            Kernel::Linear { x, y } => self.linear(src, dst, x, y),
        }
    }

    fn nearest(&self, src: &[u8], dst: &mut [u8], xs: &[usize], ys: &[usize]) {
        let cn = self.channels;
        let src_row = self.src_w * cn;
        for (out_row, &sy) in dst.chunks_exact_mut(self.dst_w * cn).zip(ys) {
            let row = &src[sy * src_row..(sy + 1) * src_row];
            for (px, &sx) in out_row.chunks_exact_mut(cn).zip(xs) {
                px.copy_from_slice(&row[sx * cn..(sx + 1) * cn]);
            }
        }
    }

    /// OpenCV's horizontal pass, already reduced by `>> 4` as its vertical SIMD kernel
    /// does first: `(a0 * p0 + a1 * p1) >> 4` fits 16 bits (weights sum to 2048 or 2049).
    fn horizontal(&self, row: &[u8], x: &AxisTable, out: &mut [i16]) {
        let cn = self.channels;
        if cn == 3 {
            for (dx, o) in out.chunks_exact_mut(3).enumerate() {
                let (p, q) = (x.first[dx] * 3, x.second[dx] * 3);
                let (a0, a1) = (x.w0[dx], x.w1[dx]);
                o[0] = ((row[p] as i32 * a0 + row[q] as i32 * a1) >> 4) as i16;
                o[1] = ((row[p + 1] as i32 * a0 + row[q + 1] as i32 * a1) >> 4) as i16;
                o[2] = ((row[p + 2] as i32 * a0 + row[q + 2] as i32 * a1) >> 4) as i16;
            }
        } else {
            for (dx, o) in out.chunks_exact_mut(cn).enumerate() {
                let (p, q) = (x.first[dx] * cn, x.second[dx] * cn);
                let (a0, a1) = (x.w0[dx], x.w1[dx]);
                for c in 0..cn {
                    o[c] = ((row[p + c] as i32 * a0 + row[q + c] as i32 * a1) >> 4) as i16;
                }
            }
        }
    }

    fn linear(&self, src: &[u8], dst: &mut [u8], x: &AxisTable, y: &AxisTable) {
        let cn = self.channels;
        let src_row = self.src_w * cn;
        let width = self.dst_w * cn;
        // Two cached horizontally-resized source rows, as OpenCV keeps them.
        let mut rows = [vec![0i16; width], vec![0i16; width]];
        let mut ids = [usize::MAX, usize::MAX];
        for (dy, out) in dst.chunks_exact_mut(width).enumerate() {
            let (r0, r1) = (y.first[dy], y.second[dy]);
            let s0 = match ids.iter().position(|&i| i == r0) {
                Some(k) => k,
                None => {
                    let k = usize::from(ids[0] == r1);
                    self.horizontal(&src[r0 * src_row..(r0 + 1) * src_row], x, &mut rows[k]);
                    ids[k] = r0;
                    k
                }
            };
            let s1 = match ids.iter().position(|&i| i == r1) {
                Some(k) => k,
                None => {
                    let k = 1 - s0;
                    self.horizontal(&src[r1 * src_row..(r1 + 1) * src_row], x, &mut rows[k]);
                    ids[k] = r1;
                    k
                }
            };
            vertical(&rows[s0], &rows[s1], y.w0[dy] as i16, y.w1[dy] as i16, out);
        }
    }
}

/// OpenCV's SIMD vertical kernel (`VResizeLinearVec_32s8u`) on the horizontally reduced
/// rows: high halves of the 16x16 products, rounding by `+2 >> 2`, saturated to 0..=255.
/// Written lane by lane in 16-bit arithmetic so the compiler vectorises it (`pmulhw`).
#[inline]
fn vertical(h0: &[i16], h1: &[i16], b0: i16, b1: i16, out: &mut [u8]) {
    for ((o, &x0), &x1) in out.iter_mut().zip(h0).zip(h1) {
        let m0 = ((x0 as i32 * b0 as i32) >> 16) as i16;
        let m1 = ((x1 as i32 * b1 as i32) >> 16) as i16;
        let v = (m0.wrapping_add(m1).wrapping_add(2)) >> 2;
        *o = v.clamp(0, 255) as u8;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn identity_size_is_a_copy() {
        let src: Vec<u8> = (0..5 * 7 * 3).map(|v| (v * 37 % 256) as u8).collect();
        let r = Resizer::new(5, 7, 5, 7, 3, Interpolation::Bilinear);
        let mut dst = vec![0; r.dst_len()];
        r.apply(&src, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn halving_averages_two_by_two_blocks_with_rounding() {
        // OpenCV turns an exact 2x downscale into INTER_AREA: (a+b+c+d+2)>>2; the
        // linear kernel gives the same values.
        let src = [10u8, 20, 30, 41];
        let r = Resizer::new(2, 2, 1, 1, 1, Interpolation::Bilinear);
        let mut dst = [0u8];
        r.apply(&src, &mut dst);
        assert_eq!(dst[0], (10 + 20 + 30 + 41 + 2) >> 2);
    }

    #[test]
    fn weights_follow_opencv_table() {
        // 4 -> 3 columns: scale 4/3, f = 0.1666.., 1.5, 2.8333.. (float32).
        let t = linear_axis(4, 3, true);
        assert_eq!(t.first, vec![0, 1, 2]);
        assert_eq!(t.w0, vec![1707, 1024, 341]);
        assert_eq!(t.w1, vec![341, 1024, 1707]);
    }
}
