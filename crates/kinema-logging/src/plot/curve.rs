//! Drawing curves to a PNG with plotters (MMAction2's `analyze_logs.py plot_curve`).

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::json_log::{Curve, JsonLog, XAxis};
use crate::error::{LoggingError, Result};

/// DejaVu Sans (Bitstream Vera license, see `assets/fonts/DejaVuSans-LICENSE.txt`), embedded
/// so that plots render text on machines without fonts.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Curves with at most this many points get a marker on each.
const MARKED_POINTS: usize = 60;

/// The figure's background colour.
pub const BACKGROUND: RGBColor = WHITE;

/// Line colours (matplotlib's tab10), cycled over the series.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Keys to plot; each gets its own panel (train keys against iteration, val metrics
    /// against epoch).
    pub keys: Vec<String>,
    /// One label per (log, key) pair, logs outer; default `<log path>_<key>`.
    pub legend: Option<Vec<String>>,
    /// Figure title.
    pub title: Option<String>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self { keys: vec!["loss".to_string()], legend: None, title: None, width: 1280, height: 720 }
    }
}

pub(crate) fn ensure_font(out: &Path) -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(LoggingError::Plot { path: out.to_path_buf(), reason: "the embedded font could not be loaded".to_string() })
    }
}

/// A short name for a log in legends: `<work dir>/<timestamp>` for a run's
/// `<work dir>/<timestamp>/vis_data/scalars.json` (or `<timestamp>.json`), else the file
/// stem.
pub fn run_name(path: &Path) -> String {
    let name = |p: Option<&Path>| p.and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = path.parent();
    let run_dir = match name(parent).as_deref() {
        Some("vis_data") => parent.and_then(Path::parent),
        Some(dir) if dir == stem => parent,
        _ => None,
    };
    match run_dir {
        Some(run) => match name(run.parent()) {
            Some(work) => format!("{work}/{}", name(Some(run)).unwrap_or_default()),
            None => name(Some(run)).unwrap_or(stem),
        },
        None => stem,
    }
}

/// Draws `options.keys` of every log into the PNG `out`, one panel per key, one line per log.
pub fn plot_curves(logs: &[JsonLog], options: &PlotOptions, out: &Path) -> Result<()> {
    let invalid = |name, reason: String| LoggingError::InvalidSetting { name, reason };
    if !out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
        return Err(invalid("--out", format!("{}: plots are written as PNG; give a .png file", out.display())));
    }
    if logs.is_empty() || options.keys.is_empty() {
        return Err(invalid("plot", "needs at least one log and one key".to_string()));
    }
    if options.width < 100 || options.height < 100 {
        return Err(invalid("plot size", format!("{}x{} is below 100x100", options.width, options.height)));
    }
    let wanted = logs.len() * options.keys.len();
    let legend: Vec<String> = match &options.legend {
        Some(l) if l.len() != wanted => {
            return Err(invalid(
                "legend",
                format!(
                    "{} labels given, {wanted} needed (one per log and key: {} x {})",
                    l.len(),
                    logs.len(),
                    options.keys.len()
                ),
            ))
        }
        Some(l) => l.clone(),
        None => logs
            .iter()
            .flat_map(|log| options.keys.iter().map(move |k| format!("{}_{k}", run_name(log.path()))))
            .collect(),
    };
    // panels[j] = the curves of key j, one per log.
    let mut panels: Vec<Vec<(String, Curve)>> = vec![Vec::new(); options.keys.len()];
    for (i, log) in logs.iter().enumerate() {
        for (j, key) in options.keys.iter().enumerate() {
            panels[j].push((legend[i * options.keys.len() + j].clone(), log.curve(key)?));
        }
    }
    ensure_font(out)?;
    draw(&panels, options, out).map_err(|reason| LoggingError::Plot { path: out.to_path_buf(), reason })
}

fn draw(panels: &[Vec<(String, Curve)>], options: &PlotOptions, out: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = BitMapBackend::new(out, (options.width, options.height)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(|e| err(&e))?;
    let area = match &options.title {
        Some(title) => root.titled(title, ("sans-serif", 26)).map_err(|e| err(&e))?,
        None => root.clone(),
    };
    let areas = area.split_evenly((panels.len(), 1));
    for (j, (panel, area)) in panels.iter().zip(areas.iter()).enumerate() {
        let Some((_, first)) = panel.first() else { continue };
        let points = || panel.iter().flat_map(|(_, c)| c.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
        let (x_min, x_max) = padded_range(points().map(|p| p.0), 0.0);
        let (y_min, y_max) = padded_range(points().map(|p| p.1), 0.05);
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)
            .map_err(|e| err(&e))?;
        // Iterations and epochs are whole numbers: whole-number ticks only.
        let x_labels = match first.x_axis {
            XAxis::Epoch => ((x_max - x_min).round() as usize + 1).clamp(2, 12),
            XAxis::Iter => ((x_max - x_min).round() as usize + 1).clamp(2, 10),
        };
        let (x_ticks, y_ticks) = (TickFormat::Fixed(0), TickFormat::for_range(y_min, y_max));
        chart
            .configure_mesh()
            .x_labels(x_labels)
            .x_label_formatter(&|x| x_ticks.label(*x))
            .y_label_formatter(&|y| y_ticks.label(*y))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .x_desc(first.x_axis.label())
            .y_desc(first.key.as_str())
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (label, curve)) in panel.iter().enumerate() {
            let color = PALETTE[(i * panels.len() + j) % PALETTE.len()];
            let line = curve.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite());
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            // Markers on sparse curves (per-epoch metrics), so a curve of one point, such
            // as the validation of a run resumed for its last epoch, is visible.
            if curve.points.len() <= MARKED_POINTS {
                let marks = curve.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite());
                chart.draw_series(marks.map(|p| Circle::new(p, 4, color.filled()))).map_err(|e| err(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .position(legend_position(panel, (y_min, y_max)))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

/// One number format for every tick of an axis (ticks of one axis never mix `1`, `0.5`
/// and `5e-5`): fixed decimals enough for a tenth of the span, or scientific notation for
/// tiny values (learning rates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickFormat {
    /// `{:.N}` with N decimals.
    Fixed(usize),
    /// `{:.2e}`.
    Scientific,
}

impl TickFormat {
    /// The format of an axis from `min` to `max`.
    pub fn for_range(min: f64, max: f64) -> TickFormat {
        let magnitude = min.abs().max(max.abs());
        if magnitude > 0.0 && magnitude < 1e-2 {
            return TickFormat::Scientific;
        }
        let step = ((max - min) / 10.0).abs();
        if !step.is_finite() || step <= 0.0 || step >= 1.0 {
            return TickFormat::Fixed(0);
        }
        TickFormat::Fixed((-step.log10()).ceil().clamp(0.0, 6.0) as usize)
    }

    /// `v` in this format.
    pub fn label(self, v: f64) -> String {
        match self {
            TickFormat::Fixed(decimals) => format!("{v:.decimals$}"),
            TickFormat::Scientific => format!("{v:.2e}"),
        }
    }
}

/// Upper right, unless the curves end in the upper half of the panel (rising metrics), then
/// lower right, so the legend does not hide the curves' ends.
fn legend_position(panel: &[(String, Curve)], (y_min, y_max): (f64, f64)) -> SeriesLabelPosition {
    let ends: Vec<f64> =
        panel.iter().filter_map(|(_, c)| c.points.last().map(|p| p.1)).filter(|y| y.is_finite()).collect();
    if ends.is_empty() || y_max <= y_min {
        return SeriesLabelPosition::UpperRight;
    }
    let mean = ends.iter().sum::<f64>() / ends.len() as f64;
    if (mean - y_min) / (y_max - y_min) > 0.5 {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    }
}

/// (min, max) of `values` widened by `pad` × span (a flat or empty set gets a unit span).
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let half = (hi.abs() * 0.05).max(0.5);
        return (lo - half, hi + half);
    }
    (lo - pad * span, hi + pad * span)
}
