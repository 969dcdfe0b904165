//! A confusion matrix (rows: ground truth, columns: prediction, raw counts, as MMAction2's
//! `confusion_matrix.py`) as JSON and as a PNG heat map.

use std::path::Path;

use plotters::prelude::*;

use super::curve::{ensure_font, BACKGROUND};
use crate::error::{LoggingError, Result};

/// Counts per (ground truth, prediction) class pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfusionMatrix {
    /// The class names, in index order.
    pub labels: Vec<String>,
    /// `counts[gt][pred]`.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// An all-zero matrix over `labels`.
    pub fn new(labels: Vec<String>) -> Self {
        let n = labels.len();
        ConfusionMatrix { labels, counts: vec![vec![0; n]; n] }
    }

    /// Counts one sample; classes outside the matrix are ignored.
    pub fn add(&mut self, gt: usize, pred: usize) {
        if let Some(c) = self.counts.get_mut(gt).and_then(|row| row.get_mut(pred)) {
            *c += 1;
        }
    }

    /// Per-class recall (the diagonal over each row's total; `None` for empty rows).
    pub fn recalls(&self) -> Vec<Option<f64>> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let total: u64 = row.iter().sum();
                (total > 0).then(|| row[i] as f64 / total as f64)
            })
            .collect()
    }

    /// Draws the matrix: each cell coloured by its row-normalised share and labelled with
    /// its count; class names on both axes.
    pub fn plot(&self, title: &str, out: &Path) -> Result<()> {
        ensure_font(out)?;
        let n = self.labels.len().max(1);
        let cell = (720 / n).clamp(12, 90) as u32;
        let margin_left = 40 + 7 * self.labels.iter().map(|l| l.chars().count()).max().unwrap_or(4).min(28) as u32;
        let width = margin_left + cell * n as u32 + 40;
        let height = 90 + cell * n as u32 + margin_left;
        let fail = |e: String| LoggingError::Plot { path: out.to_path_buf(), reason: e };
        let root = BitMapBackend::new(out, (width, height)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(|e| fail(e.to_string()))?;
        root.draw_text(title, &("sans-serif", 20).into_font().color(&BLACK), (margin_left as i32, 20))
            .map_err(|e| fail(e.to_string()))?;
        let (x0, y0) = (margin_left as i32, 60i32);
        let font = ("sans-serif", (cell as f64 * 0.35).clamp(8.0, 16.0)).into_font();
        for (r, row) in self.counts.iter().enumerate() {
            let total: u64 = row.iter().sum::<u64>().max(1);
            for (c, &count) in row.iter().enumerate() {
                let share = count as f64 / total as f64;
                let shade = (255.0 * (1.0 - share)) as u8;
                let colour = RGBColor(shade, shade, 255);
                let (x, y) = (x0 + (c as u32 * cell) as i32, y0 + (r as u32 * cell) as i32);
                root.draw(&Rectangle::new([(x, y), (x + cell as i32, y + cell as i32)], colour.filled()))
                    .map_err(|e| fail(e.to_string()))?;
                root.draw(&Rectangle::new([(x, y), (x + cell as i32, y + cell as i32)], BLACK.mix(0.2)))
                    .map_err(|e| fail(e.to_string()))?;
                if cell >= 20 {
                    let text_colour = if share > 0.6 { WHITE } else { BLACK };
                    let style = font.clone().color(&text_colour).pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                    root.draw_text(&count.to_string(), &style, (x + cell as i32 / 2, y + cell as i32 / 2))
                        .map_err(|e| fail(e.to_string()))?;
                }
            }
            let label = short(&self.labels[r]);
            let style = font.clone().color(&BLACK).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ));
            root.draw_text(&label, &style, (x0 - 6, y0 + (r as u32 * cell + cell / 2) as i32))
                .map_err(|e| fail(e.to_string()))?;
        }
        let bottom = y0 + (n as u32 * cell) as i32;
        for (c, name) in self.labels.iter().enumerate() {
            let style = font.clone().color(&BLACK).transform(FontTransform::Rotate90);
            root.draw_text(&short(name), &style, (x0 + (c as u32 * cell + cell / 2) as i32 + 6, bottom + 6))
                .map_err(|e| fail(e.to_string()))?;
        }
        let axis = ("sans-serif", 14).into_font().color(&BLACK);
        root.draw_text("rows: ground truth, columns: prediction", &axis, (margin_left as i32, 40))
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))
    }
}

fn short(label: &str) -> String {
    if label.chars().count() > 28 {
        format!("{}…", label.chars().take(27).collect::<String>())
    } else {
        label.to_string()
    }
}
