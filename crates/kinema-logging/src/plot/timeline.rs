//! A long video's timeline as a PNG: the probability of the leading labels over time
//! (one line each, at the windows' centres) and, under it, a strip with the merged
//! segments coloured by label.

use std::path::Path;

use plotters::prelude::*;

use super::curve::{ensure_font, BACKGROUND, PALETTE};
use crate::error::{LoggingError, Result};

/// What a timeline figure shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePlot {
    /// The figure's title (the video).
    pub title: String,
    /// The class names.
    pub labels: Vec<String>,
    /// Per window: (start, end) in seconds and one probability per label.
    pub windows: Vec<((f64, f64), Vec<f32>)>,
    /// Merged segments: (start, end) in seconds and the label index.
    pub segments: Vec<((f64, f64), usize)>,
    /// How many labels get a line at least: every segment's label, then those with the
    /// highest mean probability.
    pub max_lines: usize,
}

/// The labels drawn, highest mean probability over the windows first: every label that
/// names a segment (so each coloured segment has its line), then the labels that hold the
/// video longest, `max_lines` in all (more when the segments name more, at most one per
/// palette colour).
pub fn leading_labels(plot: &TimelinePlot) -> Vec<usize> {
    let total = |c: usize| plot.windows.iter().map(|(_, s)| f64::from(s.get(c).copied().unwrap_or(0.0))).sum::<f64>();
    let by_total = |a: &usize, b: &usize| total(*b).total_cmp(&total(*a)).then(a.cmp(b));
    let named = |c: &usize| plot.segments.iter().any(|(_, s)| s == c);
    let mut order: Vec<usize> = (0..plot.labels.len()).collect();
    order.sort_by(|a, b| named(b).cmp(&named(a)).then(by_total(a, b)));
    let segment_labels = order.iter().filter(|c| named(c)).count();
    order.truncate(plot.max_lines.max(segment_labels).clamp(1, PALETTE.len()));
    order.sort_by(by_total);
    order
}

/// Writes `plot` to `out` as a `width` x `height` PNG.
pub fn plot_timeline(plot: &TimelinePlot, out: &Path, width: u32, height: u32) -> Result<()> {
    ensure_font(out)?;
    draw(plot, out, width, height).map_err(|reason| LoggingError::Plot { path: out.to_path_buf(), reason })
}

/// The width in pixels of the legend's column (at most a quarter of the figure).
const LEGEND_WIDTH: u32 = 190;

fn colour(rank: usize) -> RGBColor {
    PALETTE[rank % PALETTE.len()]
}

fn draw(plot: &TimelinePlot, out: &Path, width: u32, height: u32) -> std::result::Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = BitMapBackend::new(out, (width, height)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(|e| err(&e))?;
    let area = root.titled(&plot.title, ("sans-serif", 22)).map_err(|e| err(&e))?;
    // The legend has a column of its own on the right, so it never hides a line.
    let legend_width = LEGEND_WIDTH.min(width / 4);
    let (area, legend) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(legend_width));
    let strip_height = 90.min(height / 4);
    let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 - strip_height);
    let end = plot.windows.iter().map(|((_, e), _)| *e).fold(0.0f64, f64::max).max(1e-3);
    let lines = leading_labels(plot);
    let mut chart = ChartBuilder::on(&top)
        .margin(12)
        .margin_right(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end, 0.0f64..1.0)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("probability")
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    for (rank, &c) in lines.iter().enumerate() {
        let colour = colour(rank);
        let points = plot
            .windows
            .iter()
            .map(|((s, e), scores)| ((s + e) / 2.0, f64::from(scores.get(c).copied().unwrap_or(0.0))));
        chart.draw_series(LineSeries::new(points, colour.stroke_width(2))).map_err(|e| err(&e))?;
        let y = 24 + 22 * rank as i32;
        legend.draw(&PathElement::new(vec![(4, y), (26, y)], colour.stroke_width(3))).map_err(|e| err(&e))?;
        legend.draw(&Text::new(plot.labels[c].as_str(), (32, y - 8), ("sans-serif", 14))).map_err(|e| err(&e))?;
    }

    // The segments: one bar across the same time axis, coloured as the label's line
    // (grey for labels without a line), the label written inside when it fits.
    let mut strip = ChartBuilder::on(&bottom)
        .margin(12)
        .margin_right(12)
        .x_label_area_size(0)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end, 0.0f64..1.0)
        .map_err(|e| err(&e))?;
    strip
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(0)
        .y_desc("segments")
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(|e| err(&e))?;
    let px_per_s = f64::from(strip.plotting_area().dim_in_pixel().0) / end;
    // Windows overlap, so segments do: each is drawn over the one before, and its label
    // is written when it fits before the next segment starts.
    for (i, ((s, e), c)) in plot.segments.iter().enumerate() {
        let colour = lines.iter().position(|l| l == c).map_or(RGBColor(170, 170, 170), colour);
        strip
            .draw_series(std::iter::once(Rectangle::new([(*s, 0.1), (*e, 0.9)], colour.filled())))
            .map_err(|e| err(&e))?;
        let text = &plot.labels[*c];
        let visible = plot.segments.get(i + 1).map_or(*e, |((next, _), _)| next.min(*e)) - s;
        if visible * px_per_s > 9.0 * text.chars().count() as f64 + 8.0 {
            let style = ("sans-serif", 14).into_font().color(&WHITE);
            strip
                .draw_series(std::iter::once(Text::new(text.clone(), (*s + 4.0 / px_per_s, 0.62), style)))
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot(windows: &[[f32; 4]], segments: &[usize], max_lines: usize) -> TimelinePlot {
        TimelinePlot {
            title: "t".into(),
            labels: ["a", "b", "c", "d"].map(String::from).to_vec(),
            windows: windows.iter().enumerate().map(|(i, s)| ((i as f64, i as f64 + 1.0), s.to_vec())).collect(),
            segments: segments.iter().enumerate().map(|(i, c)| ((i as f64, i as f64 + 1.0), *c)).collect(),
            max_lines,
        }
    }

    #[test]
    fn every_segment_label_gets_a_line() {
        // `d` leads one window only, with less in total than `b` which never leads.
        let p = plot(&[[0.9, 0.1, 0.0, 0.0], [0.5, 0.45, 0.0, 0.05], [0.2, 0.3, 0.0, 0.5]], &[0, 0, 3], 2);
        assert_eq!(leading_labels(&p), [0, 3]);
        // Room for more: the longest-held label next, by total.
        assert_eq!(leading_labels(&TimelinePlot { max_lines: 3, ..p.clone() }), [0, 1, 3]);
        // No segments: by total.
        assert_eq!(leading_labels(&TimelinePlot { segments: Vec::new(), ..p }), [0, 1]);
    }
}
