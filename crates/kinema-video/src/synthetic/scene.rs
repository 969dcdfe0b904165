//! One synthetic clip: random appearance and a motion, rendered frame by frame.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::motion::{Motion, Shape};

/// Subsamples per pixel side for anti-aliased edges.
const SUPERSAMPLE: usize = 2;

/// Least luminance by which the shape is brighter than the background.
const MIN_CONTRAST: f32 = 80.0;

/// Everything random about one clip; [`Scene::render`] draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// The motion class.
    pub motion: Motion,
    /// The shape.
    pub shape: Shape,
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Number of frames.
    pub frames: usize,
    /// Shape colour (RGB).
    pub color: [u8; 3],
    /// Background colour at the top-left corner (RGB).
    pub background: [u8; 3],
    /// Background colour change towards the bottom-right corner, per channel.
    pub gradient: [f32; 3],
    /// Amplitude of the per-pixel, per-frame uniform noise.
    pub noise: f32,
    /// Centre at frame 0 (pixels).
    pub start: (f32, f32),
    /// Centre displacement per frame (pixels).
    pub velocity: (f32, f32),
    /// Half-size at frame 0 and at the last frame (pixels).
    pub radius: (f32, f32),
    /// Angle at frame 0 (radians) and change per frame (positive = clockwise on screen).
    pub angle: (f32, f32),
    /// Blinking: frames per on/off cycle and the phase (frames); 0 = always visible.
    pub blink: (usize, usize),
    noise_seed: u64,
}

fn rand_color(rng: &mut impl Rng) -> [u8; 3] {
    [rng.random::<u8>(), rng.random::<u8>(), rng.random::<u8>()]
}

fn luma(c: [u8; 3]) -> f32 {
    0.299 * f32::from(c[0]) + 0.587 * f32::from(c[1]) + 0.114 * f32::from(c[2])
}

impl Scene {
    /// Draws a scene of `motion` with appearance and trajectory taken from `seed`.
    pub fn random(motion: Motion, width: usize, height: usize, frames: usize, seed: u64) -> Scene {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shape = if motion.spin() != 0.0 {
            Shape::ASYMMETRIC[rng.random_range(0..Shape::ASYMMETRIC.len())]
        } else {
            Shape::ALL[rng.random_range(0..Shape::ALL.len())]
        };
        // A darker background and a brighter shape, both of random hue, with a clear
        // luminance difference (fixed polarity keeps the task about motion, not contrast).
        let background = rand_color(&mut rng).map(|c| c / 2);
        let mut color = rand_color(&mut rng);
        for _ in 0..64 {
            if luma(color) - luma(background) >= MIN_CONTRAST {
                break;
            }
            color = rand_color(&mut rng);
        }
        if luma(color) - luma(background) < MIN_CONTRAST {
            color = [255, 255, 255];
        }
        let gradient = [0; 3].map(|_: i32| rng.random_range(-20.0f32..20.0));
        let noise = rng.random_range(0.0f32..10.0);
        let side = width.min(height) as f32;
        let steps = frames.saturating_sub(1).max(1) as f32;
        let base = side * rng.random_range(0.13f32..0.19);
        let mut radius = (base, base);
        let small = side * rng.random_range(0.07f32..0.1);
        let large = side * rng.random_range(0.26f32..0.32);
        match motion {
            Motion::Growing => radius = (small, large),
            Motion::Shrinking => radius = (large, small),
            _ => {}
        }
        let reach = radius.0.max(radius.1) * 1.05 + 1.0;
        let (w, h) = (width as f32, height as f32);
        let mut velocity = (0.0, 0.0);
        let start = match motion.direction() {
            Some((dx, dy)) => {
                // Travel 35-60 % of the free span, starting where the whole path fits.
                let span_x = (w - 2.0 * reach).max(0.0);
                let span_y = (h - 2.0 * reach).max(0.0);
                let free = if dx != 0.0 && dy != 0.0 {
                    span_x.min(span_y)
                } else if dx != 0.0 {
                    span_x
                } else {
                    span_y
                };
                let travel = free * rng.random_range(0.55f32..0.9);
                velocity = (dx * travel / steps, dy * travel / steps);
                let (tx, ty) = (dx * travel, dy * travel);
                let lo_x = reach + (-tx).max(0.0);
                let hi_x = w - reach - tx.max(0.0);
                let lo_y = reach + (-ty).max(0.0);
                let hi_y = h - reach - ty.max(0.0);
                (pick(&mut rng, lo_x, hi_x), pick(&mut rng, lo_y, hi_y))
            }
            None => (pick(&mut rng, reach, w - reach), pick(&mut rng, reach, h - reach)),
        };
        let angle0 = rng.random_range(0.0f32..std::f32::consts::TAU);
        // Over the clip: 90-160 degrees, so 8 evenly sampled frames show the sense of turn.
        let turn = rng.random_range(90.0f32..160.0).to_radians() / steps;
        let angle = (angle0, motion.spin() * turn);
        let blink = if motion == Motion::Blinking {
            let period = rng.random_range(5usize..10);
            (period, rng.random_range(0..period))
        } else {
            (0, 0)
        };
        Scene {
            motion,
            shape,
            width,
            height,
            frames,
            color,
            background,
            gradient,
            noise,
            start,
            velocity,
            radius,
            angle,
            blink,
            noise_seed: rng.next_u64(),
        }
    }

    /// Whether the shape is drawn at frame `t`.
    pub fn visible(&self, t: usize) -> bool {
        let (period, phase) = self.blink;
        period == 0 || (t + phase) % period < period.div_ceil(2)
    }

    /// Centre, half-size and angle of the shape at frame `t`.
    pub fn pose(&self, t: usize) -> ((f32, f32), f32, f32) {
        let tf = t as f32;
        let steps = self.frames.saturating_sub(1).max(1) as f32;
        let centre = (self.start.0 + self.velocity.0 * tf, self.start.1 + self.velocity.1 * tf);
        let r = self.radius.0 + (self.radius.1 - self.radius.0) * (tf / steps).min(1.0);
        (centre, r, self.angle.0 + self.angle.1 * tf)
    }

    /// Renders every frame: `[frames, height, width, 3]` RGB24.
    pub fn render(&self) -> Vec<u8> {
        let frame_bytes = self.width * self.height * 3;
        let mut out = vec![0u8; frame_bytes * self.frames];
        let mut noise = ChaCha8Rng::seed_from_u64(self.noise_seed);
        for (t, frame) in out.chunks_exact_mut(frame_bytes).enumerate() {
            self.render_frame(t, &mut noise, frame);
        }
        out
    }

    /// Renders frame `t` into `out` (`height * width * 3` bytes).
    pub fn render_frame(&self, t: usize, noise: &mut impl Rng, out: &mut [u8]) {
        let (w, h) = (self.width, self.height);
        let ((cx, cy), r, angle) = self.pose(t);
        let (sin, cos) = angle.sin_cos();
        let visible = self.visible(t);
        let diag = ((w * w + h * h) as f32).sqrt().max(1.0);
        let n = SUPERSAMPLE * SUPERSAMPLE;
        for y in 0..h {
            for x in 0..w {
                let along = (x as f32 + y as f32) / diag;
                let mut covered = 0usize;
                if visible && (x as f32 - cx).abs() <= r * 1.5 + 1.0 && (y as f32 - cy).abs() <= r * 1.5 + 1.0 {
                    for sy in 0..SUPERSAMPLE {
                        for sx in 0..SUPERSAMPLE {
                            let px = x as f32 + (sx as f32 + 0.5) / SUPERSAMPLE as f32 - 0.5 - cx;
                            let py = y as f32 + (sy as f32 + 0.5) / SUPERSAMPLE as f32 - 0.5 - cy;
                            // Into the shape's frame: undo the (clockwise on screen) rotation.
                            let u = (px * cos + py * sin) / r;
                            let v = (-px * sin + py * cos) / r;
                            covered += usize::from(self.shape.contains(u, v));
                        }
                    }
                }
                let alpha = covered as f32 / n as f32;
                let jitter = if self.noise > 0.0 { noise.random_range(-self.noise..=self.noise) } else { 0.0 };
                let px = &mut out[(y * w + x) * 3..(y * w + x) * 3 + 3];
                for (c, value) in px.iter_mut().enumerate() {
                    let bg = f32::from(self.background[c]) + self.gradient[c] * along;
                    let mixed = bg * (1.0 - alpha) + f32::from(self.color[c]) * alpha + jitter;
                    *value = mixed.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

/// Uniform in `[lo, hi]`, or the midpoint when the range is empty.
fn pick(rng: &mut impl Rng, lo: f32, hi: f32) -> f32 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        (lo + hi) / 2.0
    }
}
