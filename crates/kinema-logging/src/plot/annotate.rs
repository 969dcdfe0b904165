//! Labels drawn onto video frames: the top-k labels with probability bars in a panel at
//! the top left, and a caption (the time) at the bottom, for annotated output videos.

use plotters::prelude::*;

use super::curve::{ensure_font, PALETTE};
use crate::error::{LoggingError, Result};

/// Draws `rows` (`label`, probability) as a panel of bars and `caption` onto `rgb`, a
/// `width` x `height` RGB24 frame, in place. `name` (the output file) is for messages.
pub fn annotate_frame(
    rgb: &mut [u8],
    (width, height): (u32, u32),
    rows: &[(String, f32)],
    caption: &str,
    name: &std::path::Path,
) -> Result<()> {
    ensure_font(name)?;
    draw(rgb, (width, height), rows, caption).map_err(|reason| LoggingError::Plot { path: name.to_path_buf(), reason })
}

fn draw(
    rgb: &mut [u8],
    (width, height): (u32, u32),
    rows: &[(String, f32)],
    caption: &str,
) -> std::result::Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    if rgb.len() != (width * height * 3) as usize {
        return Err(format!("a {width}x{height} frame needs {} bytes, got {}", width * height * 3, rgb.len()));
    }
    let root = BitMapBackend::with_buffer(rgb, (width, height)).into_drawing_area();
    let size = (height / 16).clamp(11, 22);
    let line = size as i32 + 6;
    let pad = 6i32;
    let bar_max = (width as f64 * 0.3) as i32;
    let panel_w = (width as i32 * 9 / 10).min(bar_max + pad * 3 + 14 * size as i32);
    let panel_h = rows.len() as i32 * line + pad * 2;
    root.draw(&Rectangle::new([(0, 0), (panel_w, panel_h)], BLACK.mix(0.55).filled())).map_err(|e| err(&e))?;
    let font = ("sans-serif", size).into_font().color(&WHITE);
    for (i, (label, p)) in rows.iter().enumerate() {
        let y = pad + i as i32 * line;
        let bar = (f64::from(p.clamp(0.0, 1.0)) * f64::from(bar_max)).round() as i32;
        let colour = PALETTE[i % PALETTE.len()];
        root.draw(&Rectangle::new([(pad, y + 2), (pad + bar.max(1), y + line - 4)], colour.filled()))
            .map_err(|e| err(&e))?;
        root.draw(&Rectangle::new([(pad, y + 2), (pad + bar_max, y + line - 4)], WHITE.mix(0.6)))
            .map_err(|e| err(&e))?;
        let text = format!("{label} {:.2}", p);
        root.draw(&Text::new(text, (pad * 2 + bar_max, y + 1), font.clone())).map_err(|e| err(&e))?;
    }
    if !caption.is_empty() {
        let h = line + pad;
        let w = (caption.chars().count() as i32 * size as i32 * 6 / 10 + pad * 2).min(width as i32);
        let top = height as i32 - h;
        root.draw(&Rectangle::new([(0, top), (w, height as i32)], BLACK.mix(0.55).filled())).map_err(|e| err(&e))?;
        root.draw(&Text::new(caption.to_string(), (pad, top + pad / 2), font)).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}
